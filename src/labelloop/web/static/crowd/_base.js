// Shared helpers for the crowd-* elements: base class, theme, escaping, events.
export const BASE = `:host{--a:var(--crowd-accent,#0b63ce);--on-a:var(--crowd-on-accent,#fff);--fg:var(--crowd-fg,#1b1f24);
--bg:var(--crowd-bg,#fff);--bd:var(--crowd-border,#c2c8d0);--mu:var(--crowd-muted,#5b6471);--sel:var(--crowd-selected,#e3eefc);
--er:var(--crowd-danger,#b3261e);--r:var(--crowd-radius,6px);font:var(--crowd-font,15px/1.45 system-ui,sans-serif);color:var(--fg)}
:host([hidden]){display:none!important}*{box-sizing:border-box}
button,.btn{font:inherit;cursor:pointer;border:1px solid var(--bd);background:var(--bg);color:inherit;border-radius:var(--r);padding:.4em .9em;text-decoration:none;display:inline-flex;gap:.4em;align-items:center}
.primary{background:var(--a);border-color:var(--a);color:var(--on-a)}.link{border:0;background:none;color:var(--a);padding:0;text-decoration:underline}
button:disabled{opacity:.5;cursor:default}:focus-visible{outline:2px solid var(--a);outline-offset:2px}
kbd{font:12px ui-monospace,monospace;border:1px solid var(--bd);border-radius:3px;padding:0 .35em;color:var(--mu)}
dialog{border:0;border-radius:var(--r);max-width:min(92vw,60em);max-height:85vh;padding:1em 1.5em;color:var(--fg);background:var(--bg)}
@media (hover:none) and (pointer:coarse){kbd{display:none}}
dialog::backdrop{background:#0008}.x{float:right;border:0;background:none;font-size:1.5em;line-height:1;padding:0 .2em}`;

export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** An array/object attribute as Ground Truth reads it: JSON, or the JavaScript literal its docs write
 * (`categories="['Positive', 'Negative']"`, `exclusion-category="{ text: 'None of the above' }"`): single or
 * double quotes, bare keys, trailing commas. Never evaluated as code; `d` when it does not parse. */
export const literal = (src) => {
  let i = 0;
  const ws = () => { while (i < src.length && /\s/.test(src[i])) i++; };
  const fail = () => { throw new SyntaxError(`bad literal at ${i}`); };
  const str = (q) => {
    let out = ''; i++;
    while (i < src.length && src[i] !== q) {
      if (src[i] === '\\') {
        i++; const c = src[i];
        if (c === 'u') { out += String.fromCharCode(parseInt(src.slice(i + 1, i + 5), 16)); i += 4; }
        else out += { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' }[c] ?? c;
      } else out += src[i];
      i++;
    }
    if (src[i] !== q) fail();
    i++; return out;
  };
  const value = () => {
    ws(); const c = src[i];
    if (c === '"' || c === "'") return str(c);
    if (c === '[') {
      i++; const a = [];
      for (ws(); src[i] !== ']'; ws()) { a.push(value()); ws(); if (src[i] === ',') i++; else if (src[i] !== ']') fail(); ws(); }
      i++; return a;
    }
    if (c === '{') {
      i++; const o = {};
      for (ws(); src[i] !== '}'; ws()) {
        let k;
        if (src[i] === '"' || src[i] === "'") k = str(src[i]);
        else { const m = /^[A-Za-z_$][\w$-]*/.exec(src.slice(i)); if (!m) fail(); k = m[0]; i += k.length; }
        ws(); if (src[i] !== ':') fail(); i++;
        o[k] = value(); ws(); if (src[i] === ',') i++; else if (src[i] !== '}') fail();
      }
      i++; return o;
    }
    const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(src.slice(i));
    if (!m) fail();
    i += m[0].length; return JSON.parse(m[0]);
  };
  const v = value(); ws();
  if (i !== src.length) fail();
  return v;
};
export const json = (s, d) => {
  if (!s) return d;
  try { return JSON.parse(s) ?? d; } catch { try { return literal(s) ?? d; } catch { return d; } }
};
export const define = (name, cls) => customElements.get(name) || customElements.define(name, cls);
export const emit = (el, type, detail) =>
  el.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true, cancelable: true }));
/** True when the key event comes from a text field (so shortcut keys must not fire). */
export const typing = (e) => e.composedPath().some((n) => n.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(n.tagName));
/** The crowd-form around el, crossing shadow roots. */
export const formOf = (el) => { for (let n = el; n; n = n.parentNode || n.host) if (n.localName === 'crowd-form') return n; };
export const dialog = (body) => `<dialog part=dialog><form method=dialog><button class=x aria-label=Close>×</button></form>${body}</dialog>`;
const ICONS = { close: '×', clear: '×', add: '+', remove: '−', check: '✓', done: '✓', search: '⌕', help: '?', info: 'ℹ',
  'arrow-back': '←', 'arrow-forward': '→', delete: '🗑', edit: '✎', star: '★', warning: '⚠' };
export const icon = (name) => (name ? esc(ICONS[name] ?? name) : '');

// Elements with keyboard shortcuts; only one (the focused one, else the first) answers a key.
const keyed = new Set();
export const owns = (el) => {
  const a = document.activeElement;
  const list = [...keyed].sort((p, q) => (p.compareDocumentPosition(q) & 4 ? -1 : 1));
  return (list.find((k) => k === a || k.contains(a)) || list[0]) === el;
};

export class Base extends HTMLElement {
  static focus = false; // delegate focus into the shadow root
  static keyed = false; // takes part in shortcut-key ownership
  constructor() {
    super();
    this.attachShadow({ mode: 'open', delegatesFocus: this.constructor.focus });
    this._kh = (e) => this.key(e);
  }
  connectedCallback() {
    if (!this._r) { this._r = 1; this.render(); }
    if (this.key) document.addEventListener('keydown', this._kh);
    if (this.constructor.keyed) keyed.add(this);
  }
  disconnectedCallback() { document.removeEventListener('keydown', this._kh); keyed.delete(this); }
  attributeChangedCallback() { if (this._r) this.render(); }
  render() {}
  reset() { this.render(); }
  shadow(html, css = '') { this.shadowRoot.innerHTML = `<style>${BASE}${css}</style>${html}`; }
  $(s) { return this.shadowRoot.querySelector(s); }
  attr(n, d = '') { return this.getAttribute(n) ?? d; }
  get disabled() { return this.hasAttribute('disabled'); }
  set disabled(v) { this.toggleAttribute('disabled', !!v); }
  /** Move named region children (e.g. <short-instructions>) into named slots. */
  regions(map) { for (const c of this.children) if (map[c.localName]) c.slot = map[c.localName]; }
}
