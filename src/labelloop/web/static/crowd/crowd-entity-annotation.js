// <crowd-entity-annotation name header text labels='[{"label","shortDisplayName","fullDisplayName","key"}]'
//   initial-value='[{"label","startOffset","endOffset"}]' allow-overlap char-mode>: tag spans of a text.
// Select with the mouse (or a finger), or with the keyboard: ←/→ select the previous/next word (a character in
// character mode), Shift+←/→ extend, Home/End go to the first/last word; `m` switches word/character mode.
// 1–9 (or a label's own key) label the selection, or relabel the entity under it; Delete/Backspace remove it;
// [ and ] go to the previous/next entity; Escape clears the selection. Word boundaries come from
// Intl.Segmenter (the text's `lang`, or the page's), so Chinese and Japanese words snap too; arrows follow the
// reading direction of right-to-left text. Without allow-overlap a new span replaces those it overlaps.
// Pre-annotations (initial-value) show dashed until touched. Offsets in and out are Unicode code points
// (Ground Truth's), converted from the browser's UTF-16 indices. Answer {entities, initialValueModified?}.
// Outside a <crowd-form> it is self-contained (Ground Truth's way): its own Submit button and Enter.
import { Base, define, emit, esc, formOf, json, owns, typing } from './_base.js';

const CHUNK = 1500;
// the selection is drawn with the CSS Custom Highlight API where there is one: moving it changes no DOM
const HL = typeof globalThis.CSS?.highlights === 'object' && typeof Highlight === 'function';
let instances = 0; // UTF-16 units a chunk of the text holds (a repaint's unit)
const COLORS = ['#2563eb', '#c2410c', '#15803d', '#9333ea', '#be123c', '#0e7490', '#a16207', '#4d7c0f', '#7c3aed', '#334155'];
const CSS = `:host{display:block}h2{font-size:1.15em;margin:0 0 .6em}h2:empty{display:none}
.bar{display:flex;flex-wrap:wrap;gap:.4em;align-items:center;margin:0 0 .7em;position:sticky;top:0;background:var(--bg);padding:.3em 0;z-index:1}
.lab{border-left:4px solid var(--c)}.lab[aria-pressed=true]{background:var(--sel);border-color:var(--a);border-left-color:var(--c)}
.mode{margin-left:auto}
.text{white-space:pre-wrap;overflow-wrap:anywhere;border:1px solid var(--bd);border-radius:var(--r);padding:1em;line-height:2.1;
font-size:1.05em;cursor:text;outline:none}.text:focus-visible{outline:2px solid var(--a);outline-offset:2px}
.text>[data-c]{display:block;contain:layout style}.e{background:color-mix(in srgb,var(--c) 18%,transparent);box-shadow:inset 0 calc(-3px * var(--d)) 0 0 var(--c);border-radius:2px;cursor:pointer}
.e.pre{outline:1px dashed var(--c);outline-offset:1px}.e.cur{background:color-mix(in srgb,var(--c) 34%,transparent)}
.s{background:var(--sel);outline:2px solid var(--a);border-radius:2px}
.t{font:600 .68em/1 system-ui,sans-serif;color:#fff;background:var(--c);border-radius:3px;padding:.12em .3em;margin:0 .15em;
vertical-align:.35em;user-select:none;-webkit-user-select:none;cursor:pointer}
.primary kbd{color:inherit;border-color:currentColor}.st{color:var(--mu);min-height:1.5em;margin:.5em 0 0;font-size:.9em}.act{margin-top:1em;display:flex;gap:.6em;flex-wrap:wrap}
@media (max-width:700px){h2{font-size:1em}.text{padding:.7em;font-size:1em}.bar button{padding:.45em .7em}}`;

const cpIndex = (t) => { // UTF-16 index -> code point index, for every boundary 0..t.length
  const a = new Int32Array(t.length + 1);
  let c = 0;
  for (let i = 0; i < t.length; i++) {
    a[i] = c;
    const h = t.charCodeAt(i), l = t.charCodeAt(i + 1);
    if (h >= 0xd800 && h < 0xdc00 && l >= 0xdc00 && l < 0xe000) a[++i] = c; // a surrogate pair is one code point
    c++;
  }
  a[t.length] = c;
  return a;
};
const segments = (t, lang, granularity) => {
  const out = [];
  try {
    for (const s of new Intl.Segmenter(lang || undefined, { granularity }).segment(t))
      if (granularity !== 'word' || /\S/.test(s.segment)) out.push([s.index, s.index + s.segment.length]);
  } catch { for (const m of t.matchAll(granularity === 'word' ? /\S+/gu : /[\s\S]/gu)) out.push([m.index, m.index + m[0].length]); }
  return out;
};
// index of the first unit ending after offset o (binary search)
const unitAt = (units, o) => { let lo = 0, hi = units.length; while (lo < hi) { const m = (lo + hi) >> 1; if (units[m][1] <= o) lo = m + 1; else hi = m; } return lo; };

class EntityAnnotation extends Base {
  static keyed = true;
  static focus = true;
  constructor() {
    super();
    const root = this.shadowRoot;
    root.addEventListener('click', (e) => this.click(e));
    root.addEventListener('mouseup', (e) => this.pointerUp(e));
    root.addEventListener('touchend', (e) => setTimeout(() => this.pointerUp(e, true), 0));
  }
  render() {
    this._text = this.attr('text');
    const t = this._text, lang = this.closest('[lang]')?.getAttribute('lang') || document.documentElement.lang;
    this._cp = cpIndex(t);
    this._u16 = new Int32Array(this._cp[t.length] + 1); // code point -> UTF-16 index
    for (let i = t.length; i >= 0; i--) this._u16[this._cp[i]] = i;
    this._words = segments(t, lang, 'word');
    this._chars = null; this._lang = lang;
    this._rtl = /^[^A-Za-z\u00c0-\u024f\u0370-\u1fff\u3040-\u9fff]*[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]/.test(t);
    this._char = this.hasAttribute('char-mode');
    this._overlap = this.hasAttribute('allow-overlap');
    const keys = new Set();
    this._labels = (json(this.getAttribute('labels'), []) || []).map((l, i) => {
      const o = typeof l === 'object' && l !== null ? l : { label: String(l) };
      let key = String(o.key ?? (i < 9 ? i + 1 : '')).toLowerCase();
      if (keys.has(key)) key = ''; keys.add(key);
      return { label: String(o.label), short: String(o.shortDisplayName || o.label), full: String(o.fullDisplayName || o.label),
        key, color: COLORS[i % COLORS.length] };
    });
    const n = this._cp[t.length];
    this._initial = (json(this.getAttribute('initial-value'), []) || [])
      .filter((e) => e && this.labelIndex(e.label) >= 0 && Number.isInteger(e.startOffset) && Number.isInteger(e.endOffset)
        && e.startOffset >= 0 && e.startOffset < e.endOffset && e.endOffset <= n)
      .map((e, id) => ({ id, s: this._u16[e.startOffset], e: this._u16[e.endOffset], l: this.labelIndex(e.label), pre: true }));
    this._ents = this._initial.map((e) => ({ ...e }));
    this._ids = this._ents.length;
    this._sel = null; this._cur = null; this._active = 0;
    // a long text in blocks of about CHUNK UTF-16 units, cut after a line break, else after a sentence, else at
    // a space: a change lays out and repaints only the blocks it touches (a text without line breaks that is
    // longer than CHUNK shows a break between sentences every CHUNK characters or so)
    this._chunks = [];
    for (let a = 0; a < t.length || !this._chunks.length;) {
      let b = t.length;
      if (a + CHUNK * 1.5 < t.length) {
        const at = a + CHUNK, window = t.slice(at, a + CHUNK * 1.5);
        const nl = window.indexOf('\n'), dot = window.search(/[.!?。！？]\s/u), sp = window.indexOf(' ');
        b = at + (nl >= 0 ? nl + 1 : dot >= 0 ? dot + 2 : sp >= 0 ? sp + 1 : window.length);
      }
      this._chunks.push([a, b]); a = b;
      if (b === t.length) break;
    }
    this._alone = !formOf(this);
    const labels = this._labels.map((l, i) => `<button type=button class=lab data-l=${i} style="--c:${l.color}" aria-pressed=${i === 0}
      title="${esc(l.full)}">${l.key ? `<kbd>${esc(l.key)}</kbd>` : ''}<span dir=auto>${esc(l.full)}</span></button>`).join('');
    this._hl = `crowd-entity-sel-${++instances}`;
    this.shadow(`<style>::highlight(${this._hl}){background-color:#b9d3fb;color:inherit}</style><h2 dir=auto part=header>${esc(this.attr('header'))}</h2>
      <div class=bar role=toolbar aria-label=Labels part=labels>${labels}<button type=button class=del data-act=del disabled>Remove <kbd>Del</kbd></button>
      <button type=button class="mode link" data-act=mode aria-pressed=false></button></div>
      <div class=text part=text tabindex=0 dir=auto lang="${esc(lang)}" role=textbox aria-readonly=true aria-multiline=true aria-label="Text to tag"></div>
      <p class=st role=status aria-live=polite></p>${this._alone ? '<p class=act><button type=button class=primary data-act=submit>Submit <kbd>Enter</kbd></button></p>' : ''}`, CSS);
    this._box = this.$('.text');
    this._box.innerHTML = this._chunks.map((_, i) => `<span data-c=${i}></span>`).join('');
    this._dirty = null;
    this.paint();
  }
  /** Mark [s, e) to be repainted (its chunks), e.g. an entity's or the selection's old and new places. */
  touch(r) { if (r && this._dirty) this._dirty.push([r.s, r.e]); }
  labelIndex(name) { return this._labels.findIndex((l) => l.label === name); }
  get units() {
    if (!this._char) return this._words;
    return (this._chars ||= segments(this._text, this._lang, 'grapheme'));
  }
  // ---- selection -------------------------------------------------------------------------------------------
  snap(s, e) {
    if (e <= s) return null;
    const u = this.units, i = unitAt(u, s);
    let j = unitAt(u, e - 1);
    if (j >= u.length || u[j][0] >= e) j--;
    if (i >= u.length || j < i) return this._char ? { s, e } : null;
    return { s: u[i][0], e: u[j][1] };
  }
  offsetOf(node, off) {
    const el = node.nodeType === 3 ? node.parentElement : node.childNodes[off] || node;
    if (el?.dataset?.c !== undefined) return this._chunks[+el.dataset.c][off ? 1 : 0];
    const piece = el?.closest?.('[data-o]');
    if (!piece) { const tag = el?.closest?.('.t'); return tag ? +tag.dataset.end : null; }
    return +piece.dataset.o + (node.nodeType === 3 ? off : 0);
  }
  /** A drag selects the words (characters) it covers; a tap selects the entity or word under it. */
  pointerUp(e, touch = false) {
    if (!this._box.contains(e.target) && e.target !== this._box) return;
    const sel = this.shadowRoot.getSelection ? this.shadowRoot.getSelection() : document.getSelection();
    const tag = e.target.closest?.('.t');
    if (tag) { sel?.removeAllRanges(); return this.pick(+tag.dataset.k); }
    if (!sel || !sel.rangeCount) return;
    const r = sel.getRangeAt(0);
    if (!this._box.contains(r.startContainer) || !this._box.contains(r.endContainer)) return;
    const a = this.offsetOf(r.startContainer, r.startOffset), b = this.offsetOf(r.endContainer, r.endOffset);
    if (a === null || b === null || (touch && a === b)) return;
    sel.removeAllRanges();
    if (a !== b) return this.select(this.snap(Math.min(a, b), Math.max(a, b)));
    const inner = this._ents.map((x, i) => [x, i]).filter(([x]) => x.s <= a && a < x.e).sort(([x], [y]) => (x.e - x.s) - (y.e - y.s))[0];
    if (inner && !e.shiftKey) return this.pick(inner[0].id);
    const u = this.units, i = Math.min(unitAt(u, a), u.length - 1);
    if (i < 0) return;
    if (e.shiftKey && this._sel) return this.select({ s: Math.min(this._sel.s, u[i][0]), e: Math.max(this._sel.e, u[i][1]) });
    this._anchor = i;
    this.select({ s: u[i][0], e: u[i][1] });
  }
  pick(id) {
    const x = this._ents.find((y) => y.id === id);
    if (!x) return;
    this.select({ s: x.s, e: x.e }, x);
    this._box.focus({ preventScroll: true });
  }
  select(sel, cur) {
    if (!HL) this.touch(this._sel);
    this.touch(this._cur);
    this._sel = sel;
    this._cur = cur || (sel && this._ents.find((x) => x.s === sel.s && x.e === sel.e)) || null;
    if (!HL) this.touch(sel);
    this.touch(this._cur);
    this.paint();
    if (sel) this.say(`“${this._text.slice(sel.s, sel.e).slice(0, 60)}” selected${this._cur ? ` (${this._labels[this._cur.l].full})` : ''}: press a label key.`);
  }
  move(dir, extend) {
    const u = this.units;
    if (!u.length) return;
    const sel = this._sel;
    if (!sel) { const i = dir > 0 ? 0 : u.length - 1; this._anchor = i; return this.select({ s: u[i][0], e: u[i][1] }); }
    if (!extend) {
      const i = dir > 0 ? Math.min(u.length - 1, unitAt(u, sel.e)) : Math.max(0, unitAt(u, sel.s) - 1);
      this._anchor = i;
      return this.select({ s: u[i][0], e: u[i][1] });
    }
    const a = this._anchor ?? unitAt(u, sel.s), first = unitAt(u, sel.s), last = unitAt(u, sel.e - 1);
    let f = a === first ? last : first;
    f = Math.max(0, Math.min(u.length - 1, f + dir));
    const lo = Math.min(a, f), hi = Math.max(a, f);
    this._anchor = a;
    this.select({ s: u[lo][0], e: u[hi][1] });
  }
  // ---- entities --------------------------------------------------------------------------------------------
  label(l) {
    this._active = l;
    this.shadowRoot.querySelectorAll('.lab').forEach((b) => b.setAttribute('aria-pressed', +b.dataset.l === l));
    const sel = this._sel;
    if (!sel) return this.say(`${this._labels[l].full} is the label for the next span.`);
    const at = this._cur && this._cur.s === sel.s && this._cur.e === sel.e ? this._cur
      : this._ents.find((x) => x.s === sel.s && x.e === sel.e);
    if (at) { at.l = l; at.pre = false; this._cur = at; this.touch(at); }
    else {
      let replaced = 0;
      if (!this._overlap) {
        const gone = this._ents.filter((x) => x.e > sel.s && x.s < sel.e);
        gone.forEach((x) => this.touch(x));
        replaced = gone.length;
        if (replaced) this._ents = this._ents.filter((x) => !gone.includes(x));
      }
      const x = { id: this._ids++, s: sel.s, e: sel.e, l, pre: false };
      this._ents.push(x);
      this._ents.sort((p, q) => p.s - q.s || q.e - p.e);
      this._cur = x; this.touch(x);
      if (replaced) this.say(`Replaced ${replaced} overlapping entit${replaced > 1 ? 'ies' : 'y'}.`);
    }
    this.paint(); this.changed();
    this.say(`“${this._text.slice(sel.s, sel.e).slice(0, 60)}” is ${this._labels[l].full}.`);
  }
  remove() {
    const gone = this._cur;
    if (!gone) return this.say('Select an entity to remove it.');
    this._ents = this._ents.filter((x) => x !== gone);
    this.touch(gone);
    this._cur = null;
    this.paint(); this.changed();
    this.say(`Removed “${this._text.slice(gone.s, gone.e).slice(0, 60)}”.`);
  }
  jump(dir) {
    if (!this._ents.length) return;
    const at = this._sel ? this._sel.s : (dir > 0 ? -1 : Infinity);
    const list = this._ents;
    const hit = dir > 0 ? list.find((x) => x.s > at) ?? list[0] : [...list].reverse().find((x) => x.s < at) ?? list[list.length - 1];
    this.pick(hit.id);
  }
  changed() { emit(this, 'change', { value: this.value }); }
  say(m) { const st = this.$('.st'); if (st) st.textContent = m; }
  // ---- painting: each touched chunk of the text, cut at every entity and selection boundary inside it ----
  paint() {
    const dirty = this._dirty, chunks = this._chunks, todo = new Set();
    if (!dirty) chunks.forEach((_, i) => todo.add(i));
    else for (const [s, e] of dirty) {
      for (let i = this.chunkAt(s), last = this.chunkAt(Math.max(s, e - 1)); i <= last; i++) todo.add(i);
    }
    this._dirty = [];
    for (const i of todo) this.paintChunk(i);
    if (HL) this.paintSelection();
    const del = this.$('.del'); if (del) del.disabled = !this._cur;
    const mode = this.$('.mode');
    if (mode && mode._char !== this._char) { mode._char = this._char; mode.innerHTML = `${this._char ? 'Characters' : 'Words'} <kbd>m</kbd>`; mode.setAttribute('aria-pressed', this._char); }
  }
  /** The text position o as [text node, offset] in the painted pieces. */
  nodeAt(o, end = false) { // an end is placed inside the piece before it: never after an entity's tag
    const chunk = this._box.children[this.chunkAt(end ? Math.max(0, o - 1) : o)];
    let found = null;
    for (const p of chunk.children) {
      if (p.dataset.o === undefined) continue;
      if (end ? +p.dataset.o >= o : +p.dataset.o > o) break;
      found = p;
    }
    const n = found?.firstChild;
    return n ? [n, Math.min(o - +found.dataset.o, n.length)] : null;
  }
  paintSelection() {
    const sel = this._sel, a = sel && this.nodeAt(sel.s), b = sel && this.nodeAt(sel.e, true);
    if (!a || !b) { globalThis.CSS.highlights.delete(this._hl); return; }
    const r = new Range();
    r.setStart(...a); r.setEnd(...b);
    globalThis.CSS.highlights.set(this._hl, new Highlight(r));
  }
  chunkAt(o) {
    const c = this._chunks; let lo = 0, hi = c.length - 1;
    while (lo < hi) { const m = (lo + hi + 1) >> 1; if (c[m][0] <= o) lo = m; else hi = m - 1; }
    return lo;
  }
  paintChunk(ci) {
    const t = this._text, [ca, cb] = this._chunks[ci], sel = HL ? null : this._sel;
    const ents = this._ents.filter((x) => x.s < cb && x.e > ca);
    const cuts = new Set([ca, cb]);
    for (const x of ents) { if (x.s > ca) cuts.add(x.s); if (x.e < cb) cuts.add(x.e); }
    if (sel) for (const o of [sel.s, sel.e]) if (o > ca && o < cb) cuts.add(o);
    const bs = [...cuts].sort((a, b) => a - b);
    let html = '';
    for (let k = 0; k + 1 < bs.length; k++) {
      const a = bs[k], b = bs[k + 1];
      const over = ents.filter((x) => x.s <= a && x.e >= b);
      const inSel = sel && sel.s <= a && sel.e >= b;
      const piece = esc(t.slice(a, b));
      if (!over.length) html += `<span data-o=${a}${inSel ? ' class=s' : ''}>${piece}</span>`;
      else {
        const x = over[over.length - 1];
        html += `<span data-o=${a} data-k=${x.id} class="e${x.pre ? ' pre' : ''}${over.includes(this._cur) ? ' cur' : ''}${inSel ? ' s' : ''}" style="--c:${this._labels[x.l].color};--d:${over.length}">${piece}</span>`;
      }
      for (const y of ents) {
        if (y.e !== b) continue;
        html += `<b class=t data-k=${y.id} data-end=${b} style="--c:${this._labels[y.l].color}" title="${esc(this._labels[y.l].full)}">${esc(this._labels[y.l].short)}</b>`;
      }
    }
    this._box.children[ci].innerHTML = html;
  }
  click(e) {
    const b = e.target.closest('[data-l],[data-act]');
    if (!b) return;
    if (b.dataset.l !== undefined) return this.label(+b.dataset.l);
    if (b.dataset.act === 'del') return this.remove();
    if (b.dataset.act === 'mode') return this.toggleMode();
    if (b.dataset.act === 'submit') return this.submit();
  }
  toggleMode() { this._char = !this._char; this.paint(); this.say(this._char ? 'Character mode: selections keep exact characters.' : 'Word mode: selections snap to whole words.'); }
  key(e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e) || !owns(this) || e.defaultPrevented) return;
    const k = e.key, lk = k.toLowerCase();
    const arrows = { ArrowRight: 1, ArrowLeft: -1 };
    let handled = true;
    if (arrows[k]) this.move(this._rtl ? -arrows[k] : arrows[k], e.shiftKey);
    else if (k === 'Home' || k === 'End') { this.touch(this._sel); this._sel = null; this.move(k === 'Home' ? 1 : -1, false); }
    else if (k === 'Delete' || k === 'Backspace') this.remove();
    else if (k === ']' || k === '[') this.jump(k === ']' ? 1 : -1);
    else if (k === 'Escape' && this._sel) this.select(null);
    else if (k === 'Enter' && this._alone && !e.shiftKey) {
      if (e.composedPath().some((n) => n.tagName === 'BUTTON')) return;
      this.submit();
    } else {
      let i = this._labels.findIndex((l) => l.key && l.key === lk);
      if (i < 0 && /^[1-9]$/.test(k) && +k <= this._labels.length && !this._labels.some((l) => l.key === k)) i = +k - 1;
      if (i >= 0) this.label(i);
      else if (lk === 'm') this.toggleMode();
      else handled = false;
    }
    if (handled) e.preventDefault();
  }
  // ---- the answer ------------------------------------------------------------------------------------------
  get value() {
    const cp = this._cp;
    return (this._ents || []).map((x) => ({ label: this._labels[x.l].label, startOffset: cp[x.s], endOffset: cp[x.e] }))
      .sort((a, b) => a.startOffset - b.startOffset || a.endOffset - b.endOffset || (a.label < b.label ? -1 : 1));
  }
  get answer() {
    if (!this._ents) return undefined;
    const out = { entities: this.value };
    if (this._initial.length) {
      const key = (x) => `${x.s}:${x.e}:${x.l}`, a = new Set(this._initial.map(key)), b = new Set(this._ents.map(key));
      out.initialValueModified = a.size !== b.size || [...a].some((x) => !b.has(x));
    }
    return out;
  }
  problem() { return ''; } // tagging nothing is an answer: the text has no entities
  submit() {
    const answer = { [this.getAttribute('name') || 'crowd-entity-annotation']: this.answer };
    emit(this, 'crowd-submit', { answer });
  }
  focus() { this._box?.focus(); }
}

define('crowd-entity-annotation', EntityAnnotation);
