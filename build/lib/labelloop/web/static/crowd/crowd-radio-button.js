// <crowd-radio-button name value="on" checked disabled>: one checked per crowd-radio-group (or per name).
// Answer {"<value>": bool}; buttons sharing a name merge into one object.
import { define } from './_base.js';
import { Check } from './crowd-checkbox.js';

define('crowd-radio-button', class extends Check {
  static role = 'radio';
  css() {
    return `.box{width:1.1em;height:1.1em;border:2px solid var(--mu);border-radius:50%}
      [aria-checked=true]{border-color:var(--a);background:radial-gradient(var(--a) 45%,transparent 50%)}`;
  }
  peers() {
    const g = this.closest('crowd-radio-group');
    if (g) return g.querySelectorAll('crowd-radio-button');
    return document.querySelectorAll(`crowd-radio-button[name="${CSS.escape(this.attr('name'))}"]`);
  }
  flip() {
    if (this.disabled || this.checked) return;
    this.peers().forEach((p) => { p.checked = false; });
    super.flip();
  }
});
