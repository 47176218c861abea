// <crowd-slider name min max step value pin editable required disabled>. Answer: the number.
// Untouched, it answers its `value` (else its `min`, 0 by default), never the browser's midpoint or its max;
// `required` without a `value` refuses to submit until the worker moves it.
import { Base, define } from './_base.js';

define('crowd-slider', class extends Base {
  static focus = true;
  constructor() {
    super();
    this.shadowRoot.addEventListener('input', (e) => { this._moved = true; this.value = e.target.value; this.mark(''); });
  }
  render() {
    const num = this.hasAttribute('editable') ? '<input type=number part=number>' : '';
    const pin = this.hasAttribute('pin') ? '<output part=pin></output>' : '';
    this.shadow(`<input type=range part=range>${num}${pin}`,
      ':host{display:flex;gap:.8em;align-items:center;margin:.5em 0}[type=range]{flex:1;accent-color:var(--a)}[type=number]{width:5em;font:inherit}output{min-width:2em}');
    const min = this.attr('min', '0'), max = this.attr('max', '100'), step = this.attr('step', '1');
    for (const f of this.shadowRoot.querySelectorAll('input')) {
      f.min = min; f.max = max; f.step = step; // before any value: a range clamps to its bounds
      f.disabled = this.disabled;
    }
    this._moved = false;
    this.value = this.attr('value', min);
  }
  get value() { return Number(this.$('[type=range]')?.value ?? this.attr('value', this.attr('min', 0))); }
  set value(v) {
    for (const f of this.shadowRoot.querySelectorAll('input')) f.value = v;
    const o = this.$('output');
    if (o) o.textContent = this.value;
  }
  get answer() { return this.value; }
  mark(color) { const r = this.$('[type=range]'); if (r) r.style.outline = color ? `2px solid ${color}` : ''; }
  problem() {
    if (!this.hasAttribute('required') || this._moved || this.hasAttribute('value') || this.disabled) return '';
    this.mark('var(--er)');
    return 'Move the slider to choose a value.';
  }
  reset() { this.render(); }
});
