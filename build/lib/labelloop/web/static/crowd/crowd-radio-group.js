// <crowd-radio-group [name]>: holds crowd-radio-buttons; arrow keys move the choice. With a name, its
// answer is the merged {"<value>": bool} of its buttons.
import { Base, define } from './_base.js';
import './crowd-radio-button.js';

define('crowd-radio-group', class extends Base {
  constructor() {
    super();
    this.addEventListener('keydown', (e) => {
      const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[e.key];
      const all = this.buttons().filter((b) => !b.disabled);
      if (!step || !all.length) return;
      e.preventDefault();
      const next = all[(all.findIndex((b) => b.checked) + step + all.length) % all.length];
      next.flip(); next.focus();
    });
  }
  render() { this.shadow('<div role=radiogroup part=group><slot></slot></div>', ':host{display:block}'); }
  buttons() { return [...this.querySelectorAll('crowd-radio-button')]; }
  get value() { return this.buttons().find((b) => b.checked)?.value ?? null; }
  get answer() { return Object.assign({}, ...this.buttons().map((b) => b.answer)); }
});
