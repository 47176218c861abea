// <crowd-slider name min max step value pin editable required disabled>. Answer: the number.
import { Base, define } from './_base.js';

define('crowd-slider', class extends Base {
  static focus = true;
  constructor() {
    super();
    this.shadowRoot.addEventListener('input', (e) => { this.value = e.target.value; });
  }
  render() {
    const num = this.hasAttribute('editable') ? '<input type=number part=number>' : '';
    const pin = this.hasAttribute('pin') ? '<output part=pin></output>' : '';
    this.shadow(`<input type=range part=range>${num}${pin}`,
      ':host{display:flex;gap:.8em;align-items:center;margin:.5em 0}[type=range]{flex:1;accent-color:var(--a)}[type=number]{width:5em;font:inherit}output{min-width:2em}');
    for (const f of this.shadowRoot.querySelectorAll('input')) {
      for (const a of ['min', 'max', 'step']) if (this.hasAttribute(a)) f[a] = this.getAttribute(a);
      f.disabled = this.disabled;
    }
    this.value = this.attr('value', this.$('[type=range]').value);
  }
  get value() { return Number(this.$('[type=range]')?.value ?? this.attr('value', 0)); }
  set value(v) {
    for (const f of this.shadowRoot.querySelectorAll('input')) f.value = v;
    const o = this.$('output');
    if (o) o.textContent = this.value;
  }
  get answer() { return this.value; }
});
