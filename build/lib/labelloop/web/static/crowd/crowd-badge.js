// <crowd-badge label icon for>: a small pill. With `for`, it is placed on the corner of that element.
import { Base, define, esc, icon } from './_base.js';

define('crowd-badge', class extends Base {
  render() {
    this.shadow(`<span part=badge>${icon(this.attr('icon'))}${esc(this.attr('label'))}<slot></slot></span>`,
      `:host{display:inline-block}span{display:inline-flex;gap:.25em;align-items:center;background:var(--a);color:var(--on-a);border-radius:1em;padding:0 .55em;font-size:.8em;min-width:1.6em;justify-content:center}`);
    const target = this.hasAttribute('for') && document.getElementById(this.getAttribute('for'));
    if (target) {
      target.style.position ||= 'relative';
      Object.assign(this.style, { position: 'absolute', top: '-.6em', right: '-.6em' });
      if (this.parentNode !== target) queueMicrotask(() => target.append(this));
    }
  }
});
