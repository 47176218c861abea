// <crowd-classifier name header categories="['a', 'b']" keys='["x",null]'> with <classification-target>.
// `categories` is JSON or the JavaScript literal Ground Truth's docs write (single quotes). Keys 1–9 (or a
// category's own key) pick. <short-instructions> and <full-instructions> go to the task page's instructions
// panel (crowd-instructions-panel.js), as in Ground Truth's worker UI. Answer {label}. Exports Classifier, the
// base of the other classifiers; the multi-select ones take `exclusion-category="{ text: 'None of these' }"`
// (chosen, it clears the others and the answer is {labels: [its text]}) and answer labels in the order chosen.
import { Base, define, emit, esc, json, owns, typing } from './_base.js';

const CSS = `:host{display:block}.wrap{display:grid;grid-template-columns:minmax(0,1fr) minmax(12em,18em);gap:1.5em}
h2{font-size:1.15em;margin:0 0 .6em}h2:empty{display:none}
.target{overflow-wrap:anywhere;border:1px solid var(--bd);border-radius:var(--r);padding:1em;min-height:4em}
aside{display:flex;flex-direction:column;gap:.8em}.cats{display:flex;flex-direction:column;gap:.35em}
[data-i]{display:flex;gap:.6em;align-items:center;border:1px solid var(--bd);border-radius:var(--r);padding:.45em .7em;cursor:pointer;user-select:none}
[data-i]:hover{border-color:var(--a)}[aria-checked=true]{background:var(--sel);border-color:var(--a);box-shadow:inset 3px 0 var(--a)}
[data-i] span{flex:1}.excl{border-style:dashed}
@media (max-width:700px){.wrap{grid-template-columns:1fr;gap:.8em}h2{font-size:1em}.cats{display:grid;grid-template-columns:repeat(auto-fill,minmax(5.2em,1fr))}}`;

export class Classifier extends Base {
  static keyed = true;
  static multi = false;
  constructor() {
    super();
    this.shadowRoot.addEventListener('click', (e) => {
      const c = e.target.closest('[data-i]');
      if (c) this.pick(+c.dataset.i);
    });
    this.shadowRoot.addEventListener('keydown', (e) => {
      const c = e.target.closest('[data-i]');
      if (!c) return;
      const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[e.key];
      if (e.key === ' ') this.pick(+c.dataset.i);
      else if (step) (step > 0 ? c.nextElementSibling : c.previousElementSibling)?.focus();
      else return;
      e.preventDefault();
    });
  }
  body() { return '<div class=target part=target dir=auto><slot></slot></div>'; }
  css() { return ''; }
  render() {
    const keys = json(this.getAttribute('keys'), []) || [], multi = this.constructor.multi;
    this._cats = (json(this.getAttribute('categories'), []) || []).map((c, i) => {
      const o = c !== null && typeof c === 'object' ? c : { label: c };
      const key = o.key ?? keys[i] ?? (i < 9 ? i + 1 : '');
      return { label: String(o.label ?? o.text ?? ''), key: String(key).toLowerCase() };
    });
    this._sel = new Set();
    const x = multi ? json(this.getAttribute('exclusion-category'), null) : null;
    this._x = x === null ? null : String(typeof x === 'object' ? x.text ?? x.label ?? '' : x);
    this._xOn = false;
    this.regions({ 'short-instructions': 'instructions', 'full-instructions': 'instructions' }); // until the panel takes them
    const cats = this._cats.map((c, i) => `<div role=${multi ? 'checkbox' : 'radio'} aria-checked=false tabindex=${i ? -1 : 0} data-i=${i}>
      ${c.key ? `<kbd>${esc(c.key)}</kbd>` : ''}<span dir=auto>${esc(c.label)}</span></div>`).join('');
    const excl = this._x === null ? '' : `<div role=checkbox aria-checked=false tabindex=-1 data-i=-1 class=excl part=exclusion>
      <span dir=auto>${esc(this._x)}</span></div>`;
    this.shadow(`<div class=wrap><main><h2 dir=auto part=header>${esc(this.attr('header'))}</h2>${this.body()}</main>
      <aside><div role=${multi ? 'group' : 'radiogroup'} aria-label=Categories class=cats part=categories>${cats}${excl}</div></aside></div>`,
    CSS + this.css());
  }
  key(e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e) || !owns(this) || this.$('dialog[open]')) return;
    const k = e.key.toLowerCase();
    let i = this._cats.findIndex((c) => c.key === k);
    if (i < 0 && /^[1-9]$/.test(k) && +k <= this._cats.length) i = +k - 1;
    if (i >= 0) { e.preventDefault(); this.pick(i); } else this.zoomKey?.(k);
  }
  pick(i) {
    if (i < 0) { this._xOn = !this._xOn; this._sel = new Set(); } // the exclusion category clears the others
    else if (this.constructor.multi) { this._xOn = false; this._sel.has(i) ? this._sel.delete(i) : this._sel.add(i); }
    else this._sel = new Set([i]);
    this.shadowRoot.querySelectorAll('[data-i]').forEach((c) => c.setAttribute('aria-checked',
      +c.dataset.i < 0 ? this._xOn : this._sel.has(+c.dataset.i)));
    this.$('.cats').style.outline = '';
    emit(this, 'change', { value: this.value });
  }
  /** Selected label (single) or labels in the order chosen (multi; the exclusion category alone when chosen). */
  get value() {
    if (this._xOn) return [this._x];
    const labels = [...this._sel].map((i) => this._cats[i].label);
    return this.constructor.multi ? labels : labels[0] ?? null;
  }
  set value(v) {
    this._sel = new Set(); this._xOn = false;
    for (const l of [].concat(v ?? [])) {
      const i = this._x !== null && l === this._x ? -1 : this._cats.findIndex((c) => c.label === l);
      if (i >= 0 || l === this._x) this.pick(i);
    }
  }
  get answer() {
    if (!this._sel?.size && !this._xOn) return undefined;
    return this.constructor.multi ? { labels: this.value } : { label: this.value };
  }
  problem() {
    if (this._sel?.size || this._xOn) return '';
    this.$('.cats').style.outline = '2px solid var(--er)';
    return this.constructor.multi ? 'Choose at least one category.' : 'Choose a category.';
  }
  focus() { (this.$('[aria-checked=true]') || this.$('[data-i]'))?.focus(); }
}

define('crowd-classifier', Classifier);
