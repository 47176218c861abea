// <crowd-fab icon label title disabled>: a round floating action button.
import { Base, define, esc, icon } from './_base.js';

define('crowd-fab', class extends Base {
  static focus = true;
  static observedAttributes = ['disabled'];
  render() {
    const label = this.attr('label', this.attr('title'));
    this.shadow(`<button class=primary part=button aria-label="${esc(label)}" title="${esc(label)}"${this.disabled ? ' disabled' : ''}>${icon(this.attr('icon', 'add'))}<slot></slot></button>`,
      ':host{display:inline-block}button{border-radius:50%;width:3.2em;height:3.2em;justify-content:center;font-size:1.1em;box-shadow:0 2px 6px #0004}');
  }
});
