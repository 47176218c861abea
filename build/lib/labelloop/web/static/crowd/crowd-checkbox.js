// <crowd-checkbox name value="on" checked required disabled>label</crowd-checkbox>
// Answer {"<value>": checked}; boxes sharing a name merge in crowd-form. Exports Check for toggle/radio.
import { Base, define, emit } from './_base.js';

export class Check extends Base {
  static focus = true;
  static role = 'checkbox';
  constructor() {
    super();
    this.addEventListener('click', () => this.flip());
    this.addEventListener('keydown', (e) => { if (e.key === ' ') { e.preventDefault(); this.flip(); } });
  }
  css() { return `.box{width:1.1em;height:1.1em;border:2px solid var(--mu);border-radius:3px;display:inline-grid;place-items:center;font-size:.85em}
    [aria-checked=true]{background:var(--a);border-color:var(--a);color:var(--on-a)}[aria-checked=true]::after{content:"✓"}`; }
  render() {
    this._c = this.hasAttribute('checked');
    this.shadow(`<span class=box part=box role=${this.constructor.role} tabindex=0></span><slot></slot>`,
      `:host{display:inline-flex;gap:.5em;align-items:center;cursor:pointer;margin-inline-end:1em}:host([disabled]){opacity:.5;cursor:default}${this.css()}`);
    this.paint();
  }
  paint() {
    const b = this.$('[role]');
    b?.setAttribute('aria-checked', this.checked);
    b?.setAttribute('aria-disabled', this.disabled);
  }
  flip() { if (!this.disabled) { this.checked = !this.checked; emit(this, 'change', { checked: this.checked }); } }
  get checked() { return this._c ?? this.hasAttribute('checked'); }
  set checked(v) { this._c = !!v; this.paint(); }
  get value() { return this.attr('value', 'on'); }
  set value(v) { this.setAttribute('value', v); }
  get answer() { return { [this.value]: this.checked }; }
  problem() { return this.hasAttribute('required') && !this.checked ? 'This box must be checked.' : ''; }
}

define('crowd-checkbox', Check);
