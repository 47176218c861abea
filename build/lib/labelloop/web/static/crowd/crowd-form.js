// <crowd-form>: collects every named element's answer and dispatches `crowd-submit` {answer}.
// Submit: a submit crowd-button / button, Enter (Ctrl+Enter in a text area), or form.submit().
import { Base, define, emit } from './_base.js';
import './crowd-button.js';

const NOENTER = /^(BUTTON|A|TEXTAREA|SELECT|CROWD-BUTTON|DIALOG)$/;
const plain = (o) => o !== null && typeof o === 'object' && !Array.isArray(o);

function valueOf(el) {
  if ('answer' in el) return el.answer; // crowd elements; undefined = no input
  if (!/^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName) || el.disabled) return undefined;
  if (el.type === 'checkbox' || el.type === 'radio') return { [el.value]: el.checked };
  return /^(submit|button|reset|image|file)$/.test(el.type) ? undefined : el.value;
}

define('crowd-form', class extends Base {
  constructor() {
    super();
    this.addEventListener('click', (e) => {
      if (e.target.closest?.('button[type=submit],input[type=submit]')) { e.preventDefault(); this.submit(); }
    });
    this.addEventListener('change', () => { const err = this.$('.err'); if (err) err.hidden = true; });
  }
  render() {
    const auto = !this.querySelector('crowd-button[form-action=submit],button[type=submit],input[type=submit]');
    this.shadow(`<p class=err role=alert part=error hidden></p><slot></slot>${auto
      ? '<p class=act><crowd-button form-action=submit variant=primary>Submit <kbd>Enter</kbd></crowd-button></p>' : ''}`,
    ':host{display:block}.err{color:var(--er);font-weight:600}.act{margin-top:1em}crowd-button kbd{color:inherit;border-color:currentColor}');
  }
  key(e) {
    if (e.key !== 'Enter' || e.shiftKey || e.altKey || e.isComposing || e.defaultPrevented) return;
    const path = e.composedPath();
    const mod = e.ctrlKey || e.metaKey;
    if (!mod && path.some((n) => NOENTER.test(n.tagName) || n.getAttribute?.('role') === 'button')) return;
    if (!path.includes(this) && path[0] !== document.body && path[0] !== document.documentElement) return;
    e.preventDefault();
    this.submit();
  }
  /** The Ground Truth answer object, keyed by element name; same-name objects merge. */
  get answer() {
    const out = {};
    for (const el of this.querySelectorAll('[name]')) {
      const v = valueOf(el);
      if (v === undefined) continue;
      const n = el.getAttribute('name');
      out[n] = plain(out[n]) && plain(v) ? { ...out[n], ...v } : v;
    }
    return out;
  }
  /** First problem as [element, message], or undefined when everything is valid. */
  problem() {
    for (const el of this.querySelectorAll('[name]')) {
      const m = el.problem ? el.problem() : el.willValidate && !el.checkValidity() && el.validationMessage;
      if (m) return [el, m];
    }
  }
  submit() {
    if (!this.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }))) return false;
    const bad = this.problem(), err = this.$('.err');
    err.hidden = !bad;
    if (bad) {
      err.textContent = bad[1];
      bad[0].focus?.();
      emit(this, 'crowd-invalid', { name: bad[0].getAttribute('name'), message: bad[1] });
      return false;
    }
    emit(this, 'crowd-submit', { answer: this.answer });
    return true;
  }
  reset() {
    for (const el of this.querySelectorAll('*')) {
      if (el.reset && el !== this && el.tagName !== 'FORM') el.reset();
      else if ('defaultValue' in el && el.type !== 'hidden') {
        el.value = el.defaultValue; if ('defaultChecked' in el) el.checked = el.defaultChecked;
      }
    }
    this.$('.err').hidden = true;
  }
});
