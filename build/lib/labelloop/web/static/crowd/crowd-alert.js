// <crowd-alert type="info|success|error|warning" dismissible>message</crowd-alert>
import { Base, define, emit, esc } from './_base.js';

define('crowd-alert', class extends Base {
  constructor() {
    super();
    this.shadowRoot.addEventListener('click', (e) => {
      if (e.target.closest('.x')) { this.hidden = true; emit(this, 'crowd-alert-dismissed'); }
    });
  }
  render() {
    const t = this.attr('type', 'info');
    this.shadow(`<div class="${esc(t)}" role=${t === 'error' ? 'alert' : 'status'} part=alert dir=auto>${this.hasAttribute('dismissible')
      ? '<button class=x aria-label=Dismiss>×</button>' : ''}<slot></slot></div>`,
    `:host{display:block;margin:.5em 0}div{border-radius:var(--r);padding:.6em .9em;border-inline-start:4px solid var(--c);background:color-mix(in srgb,var(--c) 10%,var(--bg))}
      .info{--c:var(--a)}.success{--c:var(--crowd-success,#1e7e34)}.error{--c:var(--er)}.warning{--c:var(--crowd-warning,#b26a00)}`);
  }
});
