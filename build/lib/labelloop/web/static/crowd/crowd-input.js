// <crowd-input name label type value placeholder required disabled auto-validate allowed-pattern
//  error-message max-length min-length auto-focus>. Answer: the text. Exports Field for crowd-text-area.
import { Base, define, esc } from './_base.js';

export class Field extends Base {
  static focus = true;
  static tag = 'input';
  constructor() {
    super();
    this.shadowRoot.addEventListener('beforeinput', (e) => {
      const p = this.getAttribute('allowed-pattern');
      if (p && e.data && ![...e.data].every((ch) => new RegExp(p).test(ch))) e.preventDefault();
    });
    this.shadowRoot.addEventListener('input', () => {
      this.count();
      if (this.hasAttribute('auto-validate')) this.problem();
    });
  }
  render() {
    const t = this.constructor.tag;
    this.shadow(`<label><span part=label dir=auto>${esc(this.attr('label'))}</span><${t} part=${t} dir=auto></${t}></label>
      <small class=err part=error></small><small class=n></small>`, `:host{display:block;margin:.5em 0}label{display:flex;flex-direction:column;gap:.2em}
      input,textarea{font:inherit;color:inherit;background:var(--bg);border:1px solid var(--bd);border-radius:var(--r);padding:.45em .6em;width:100%}
      span:empty{display:none}.err{color:var(--er)}.n{float:right;color:var(--mu)}:host([invalid]) :is(input,textarea){border-color:var(--er)}`);
    const f = this.$(t), props = { type: 'type', value: 'value', placeholder: 'placeholder', 'max-length': 'maxLength', 'min-length': 'minLength', rows: 'rows' };
    for (const [a, p] of Object.entries(props)) if (this.hasAttribute(a) && p in f) f[p] = this.getAttribute(a);
    f.required = this.hasAttribute('required');
    f.disabled = this.disabled;
    if (this.hasAttribute('auto-focus')) requestAnimationFrame(() => f.focus());
    this.count();
  }
  count() {
    if (!this.hasAttribute('char-counter')) return;
    const f = this.$(this.constructor.tag), max = this.getAttribute('max-length');
    this.$('.n').textContent = f.value.length + (max ? ` / ${max}` : '');
  }
  get value() { return this.$(this.constructor.tag)?.value ?? this.attr('value'); }
  set value(v) { this.$(this.constructor.tag).value = v; this.count(); }
  get answer() { return this.value; }
  problem() {
    const f = this.$(this.constructor.tag), p = this.getAttribute('allowed-pattern');
    const bad = !f.checkValidity() || (p && ![...f.value].every((ch) => new RegExp(p).test(ch)));
    const msg = bad ? this.attr('error-message') || f.validationMessage || 'Invalid value.' : '';
    this.$('.err').textContent = msg;
    this.toggleAttribute('invalid', !!msg);
    return msg;
  }
}

define('crowd-input', Field);
