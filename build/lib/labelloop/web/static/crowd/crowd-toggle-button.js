// <crowd-toggle-button name value="on" checked required disabled invalid>: a switch. Answer {"<value>": bool}.
import { define } from './_base.js';
import { Check } from './crowd-checkbox.js';

define('crowd-toggle-button', class extends Check {
  static role = 'switch';
  css() {
    return `.box{width:2.2em;height:1.2em;border-radius:1em;background:var(--bd);position:relative;transition:background .15s}
      .box::after{content:"";position:absolute;top:.15em;left:.15em;width:.9em;height:.9em;border-radius:50%;background:var(--bg);transition:left .15s}
      [aria-checked=true]{background:var(--a)}[aria-checked=true]::after{left:1.15em}:host([invalid]) .box{outline:2px solid var(--er)}`;
  }
});
