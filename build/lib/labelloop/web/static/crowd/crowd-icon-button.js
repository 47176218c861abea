// <crowd-icon-button icon label title disabled>: a compact button showing an icon.
import { Base, define, esc, icon } from './_base.js';

define('crowd-icon-button', class extends Base {
  static focus = true;
  static observedAttributes = ['disabled'];
  render() {
    const label = this.attr('label', this.attr('title', this.attr('icon')));
    this.shadow(`<button part=button aria-label="${esc(label)}" title="${esc(label)}"${this.disabled ? ' disabled' : ''}>${icon(this.attr('icon'))}<slot></slot></button>`,
      ':host{display:inline-block}button{border:0;background:none;border-radius:50%;min-width:2.2em;height:2.2em;justify-content:center}button:hover{background:var(--sel)}');
  }
});
