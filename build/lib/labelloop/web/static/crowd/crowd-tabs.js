// <crowd-tabs> of <crowd-tab header>: a tab strip; arrow keys switch tabs. `selected` is the index.
import { Base, define, emit, esc } from './_base.js';
import './crowd-tab.js';

define('crowd-tabs', class extends Base {
  constructor() {
    super();
    this.shadowRoot.addEventListener('click', (e) => { const t = e.target.closest('[data-t]'); if (t) this.selected = +t.dataset.t; });
    this.shadowRoot.addEventListener('keydown', (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key], n = this.tabs().length;
      if (!step || !n) return;
      this.selected = (this._s + step + n) % n;
      this.$(`[data-t="${this._s}"]`).focus();
    });
  }
  tabs() { return [...this.querySelectorAll(':scope>crowd-tab')]; }
  render() {
    this.shadow(`<div role=tablist part=tablist>${this.tabs().map((t, i) => `<button role=tab data-t=${i} dir=auto>${esc(t.getAttribute('header'))}</button>`).join('')}</div><slot></slot>`,
      ':host{display:block}[role=tablist]{display:flex;border-bottom:1px solid var(--bd)}[role=tab]{border:0;border-radius:0;background:none;border-bottom:3px solid transparent}[aria-selected=true]{border-color:var(--a);color:var(--a)}');
    this.selected = this._s ?? 0;
  }
  get selected() { return this._s; }
  set selected(i) {
    this._s = i;
    this.tabs().forEach((t, j) => { t.hidden = i !== j; });
    this.shadowRoot.querySelectorAll('[data-t]').forEach((b) => {
      b.setAttribute('aria-selected', +b.dataset.t === i); b.tabIndex = +b.dataset.t === i ? 0 : -1;
    });
    emit(this, 'change', { selected: i });
  }
});
