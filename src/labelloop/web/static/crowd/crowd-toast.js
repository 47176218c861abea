// <crowd-toast text duration>: a short message at the bottom of the page that goes away after `duration`
// milliseconds (default 4000; 0 keeps it). `show(text)` shows it again, with other text if given.
import { Base, define, esc } from './_base.js';

define('crowd-toast', class extends Base {
  static get observedAttributes() { return ['text']; }
  render() {
    this.shadow(`<div role=status part=toast>${esc(this.attr('text'))}<slot></slot></div>`,
      ':host{position:fixed;left:50%;bottom:1.5em;transform:translateX(-50%);z-index:10}:host([hidden]){display:none}' +
      'div{background:var(--fg);color:var(--bg);border-radius:var(--r);padding:.6em 1.2em;box-shadow:0 2px 8px #0004}');
    this.show();
  }
  show(text) {
    if (text !== undefined) this.setAttribute('text', text);
    this.hidden = false;
    clearTimeout(this._t);
    const ms = Number(this.attr('duration', '4000'));
    if (ms > 0) this._t = setTimeout(() => { this.hidden = true; }, ms);
  }
});
