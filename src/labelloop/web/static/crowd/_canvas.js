// Shared base of the image drawing elements (crowd-bounding-box, crowd-polygon, crowd-polyline, crowd-line,
// crowd-keypoint, crowd-instance-segmentation, crowd-semantic-segmentation): the header, a toolbar (labels,
// tools, zoom, undo/redo), a stage of stacked canvases over the image, the view (zoom at the cursor with the
// wheel, pan with Space/Alt + drag, the middle button or the arrow keys), keyboard shortcuts and a status line.
// Coordinates in and out are image pixels of the image as shown, the right way up (EXIF orientation applied:
// Chromium's `image-orientation: from-image`, which drawImage and naturalWidth follow), origin top-left.
// Layers: c0 the image (redrawn on a view change only), c1 what is not being edited, c2 the shape being edited
// or drawn: a drag repaints c2 alone, once per animation frame, whatever the number of shapes. A tool with
// `static oneBase` draws the image into c1 too (one layer fewer for the compositor; c1 changes as rarely).
import { Base, esc, formOf, json, owns, typing } from './_base.js';

export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
  '#bcbd22', '#17becf']; // matplotlib tab10, Ground Truth's default label colours
const CSS = `:host{display:block}h2{font-size:1.15em;margin:0 0 .6em}h2:empty{display:none}
.bar{display:flex;flex-wrap:wrap;gap:.35em;align-items:center;margin:0 0 .5em}
.bar .grp{display:flex;flex-wrap:wrap;gap:.35em;align-items:center}.bar .sep{flex:1}
.lab{border-left:5px solid var(--c)}.lab[aria-pressed=true],.tool[aria-pressed=true]{background:var(--sel);border-color:var(--a);border-left-color:var(--c,var(--a))}
.bar button{padding:.3em .6em}.bar label{display:inline-flex;gap:.3em;align-items:center;font-size:.9em;color:var(--mu)}
.stage{position:relative;overflow:hidden;touch-action:none;background:var(--crowd-image-bg,#e5e7eb);border-radius:var(--r);height:30em;cursor:crosshair;outline:none}
.stage:focus-visible{outline:2px solid var(--a);outline-offset:2px}.stage.pan{cursor:grab}
canvas{position:absolute;left:0;top:0;width:100%;height:100%}canvas[hidden]{display:none}
.st{color:var(--mu);min-height:1.4em;margin:.4em 0 0;font-size:.9em}.err{color:var(--er)}
@media (max-width:700px){h2{font-size:1em}.stage{height:22em}.bar button{padding:.45em .6em}.bar .zoomk{display:none}}`;

export const clamp = (v, a, b) => Math.max(a, Math.min(b, v));
/** Labels as Ground Truth writes them (strings, or objects with `label`), each with a colour. */
export function readLabels(el) {
  const colors = json(el.getAttribute('label-colors'), null), keys = json(el.getAttribute('keys'), []) || [];
  return (json(el.getAttribute('labels'), []) || []).map((l, i) => {
    const o = l !== null && typeof l === 'object' ? l : { label: String(l) };
    const label = String(o.label ?? o.text ?? '');
    const c = Array.isArray(colors) ? colors[i] : colors?.[label];
    return { label, color: /^#[0-9a-f]{6}$/i.test(c ?? '') ? c.toLowerCase() : PALETTE[i % PALETTE.length],
      key: String(keys[i] ?? (i < 9 ? i + 1 : '')).toLowerCase() };
  });
}
/** Even-odd scanline fill of polygon `pts` ([[x, y]...], image px) on a w x h grid: set(i0, i1, y) per row run,
 * a pixel taken when its centre is inside (no anti-aliasing: masks keep exact label colours). */
export function scanFill(pts, w, h, set) {
  if (pts.length < 3) return;
  const ys = pts.map((p) => p[1]);
  const y0 = clamp(Math.floor(Math.min(...ys)), 0, h - 1), y1 = clamp(Math.ceil(Math.max(...ys)), 0, h - 1);
  const xs = [];
  for (let y = y0; y <= y1; y++) {
    const c = y + 0.5; xs.length = 0;
    for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
      const [xa, ya] = pts[i], [xb, yb] = pts[j];
      if ((ya <= c) !== (yb <= c)) xs.push(xa + ((c - ya) * (xb - xa)) / (yb - ya));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const a = clamp(Math.ceil(xs[k] - 0.5), 0, w), b = clamp(Math.ceil(xs[k + 1] - 0.5), 0, w);
      if (b > a) set(a, b, y);
    }
  }
}
/** A PNG of an RGBA buffer as base64 (no data: prefix), what Ground Truth's `pngImageData` holds. */
export function pngBase64(rgba, w, h) {
  const c = document.createElement('canvas'); c.width = w; c.height = h;
  c.getContext('2d').putImageData(new ImageData(rgba, w, h), 0, 0);
  return c.toDataURL('image/png').split(',')[1];
}
export const hexRgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

export class ImageTool extends Base {
  static keyed = true;
  static focus = true;
  tools() { return ''; } // extra toolbar HTML of a subclass
  hint() { return ''; }
  render() {
    this._labels = readLabels(this);
    this._l = 0; this._undo = []; this._redo = []; this._ready = false;
    this.k = 1; this.ox = 0; this.oy = 0; this.iw = 0; this.ih = 0;
    this._alone = !formOf(this);
    const labels = this._labels.map((l, i) => `<button type=button class=lab data-l=${i} style="--c:${l.color}" aria-pressed=${i === 0}
      >${l.key ? `<kbd>${esc(l.key)}</kbd>` : ''}<span dir=auto>${esc(l.label)}</span></button>`).join('');
    this.shadow(`<h2 dir=auto part=header>${esc(this.attr('header'))}</h2>
      <div class=bar role=toolbar aria-label="Labels and tools" part=toolbar><div class=grp role=group aria-label=Labels>${labels}</div>
      <span class=sep></span><div class=grp role=group aria-label=Tools>${this.tools()}
      <button type=button data-act=undo aria-label=Undo title="Undo (Ctrl+Z)">↶<kbd class=zoomk>Ctrl+Z</kbd></button>
      <button type=button data-act=redo aria-label=Redo title="Redo (Ctrl+Shift+Z)">↷</button>
      <button type=button data-act=zin aria-label="Zoom in" title="Zoom in (+)">+</button>
      <button type=button data-act=zout aria-label="Zoom out" title="Zoom out (−)">−</button>
      <button type=button data-act=fit aria-label="Fit the image" title="Fit (0)">Fit</button></div></div>
      <div class=stage part=stage tabindex=0 role=application aria-label="${esc(this.stageLabel())}" aria-describedby=st>
      <canvas class=c0></canvas><canvas class=c1></canvas><canvas class=c2></canvas></div>
      <p class=st id=st role=status aria-live=polite></p>${this._alone
        ? '<p><button type=button class=primary data-act=submit>Submit <kbd>Enter</kbd></button></p>' : ''}`, CSS + this.css());
    this._stage = this.$('.stage');
    [this.c0, this.c1, this.c2] = ['.c0', '.c1', '.c2'].map((s) => this.$(s));
    if (this.constructor.oneBase) this.c0.hidden = true; // the image is drawn into c1: one layer fewer to composite
    this.shadowRoot.addEventListener('click', (e) => {
      const b = e.target.closest('[data-l],[data-act],[data-tool]');
      if (!b) return;
      if (b.dataset.l !== undefined) this.chooseLabel(+b.dataset.l);
      else if (b.dataset.tool) this.tool(b.dataset.tool);
      else this.act(b.dataset.act);
    });
    this.wire();
    this.say(this.hint());
    this.load();
  }
  css() { return ''; }
  stageLabel() { return 'Image'; }
  load() {
    const src = this.attr('src');
    this.img = new Image();
    this.img.decoding = 'async';
    this.img.style.imageOrientation = 'from-image';
    this.img.onload = () => {
      this.iw = this.img.naturalWidth; this.ih = this.img.naturalHeight; this._ready = true;
      this.ready(); this.resize(); this.fit();
      this.dispatchEvent(new Event('crowd-image-ready', { bubbles: true, composed: true }));
    };
    this.img.onerror = () => this.say(`The image could not be loaded: ${src}`, true);
    if (src) this.img.src = src; else this.say('No image (the src attribute is empty).', true);
  }
  ready() {}
  // ---- view ------------------------------------------------------------------------------------------------
  resize() {
    const r = this._stage.getBoundingClientRect(), d = devicePixelRatio || 1;
    this.W = r.width; this.H = r.height; this.dpr = d;
    for (const c of [this.c0, this.c1, this.c2]) { c.width = Math.round(r.width * d); c.height = Math.round(r.height * d); }
    this.repaint();
  }
  fit() {
    if (!this.iw) return;
    this.k = Math.min(this.W / this.iw, this.H / this.ih);
    this.ox = (this.W - this.iw * this.k) / 2; this.oy = (this.H - this.ih * this.k) / 2;
    this.repaint();
  }
  zoomAt(f, sx, sy) {
    const fit = Math.min(this.W / this.iw, this.H / this.ih), k = clamp(this.k * f, fit * 0.5, Math.max(fit * 40, 8));
    this.ox = sx - ((sx - this.ox) * k) / this.k; this.oy = sy - ((sy - this.oy) * k) / this.k; this.k = k;
    this.repaint();
  }
  pan(dx, dy) { this.ox += dx; this.oy += dy; this.repaint(); }
  /** Screen (stage CSS px) -> image px, clamped to the image. */
  toImage(e, free = false) {
    const r = this._stage.getBoundingClientRect();
    const x = (e.clientX - r.left - this.ox) / this.k, y = (e.clientY - r.top - this.oy) / this.k;
    return free ? [x, y] : [clamp(x, 0, this.iw), clamp(y, 0, this.ih)];
  }
  /** A context drawing in image px on canvas c (cleared). */
  ctx(c, clear = true) {
    const g = c.getContext('2d'), d = this.dpr;
    g.setTransform(1, 0, 0, 1, 0, 0);
    if (clear) g.clearRect(0, 0, c.width, c.height);
    g.setTransform(d * this.k, 0, 0, d * this.k, d * this.ox, d * this.oy);
    return g;
  }
  repaint() { this._dirty = 7; this.frame(); }
  /** Repaint layers (bit 1: image, 2: c1, 4: c2) at the next animation frame. */
  frame(bits = 0) {
    this._dirty |= bits;
    if (this._raf) return;
    this._raf = requestAnimationFrame(() => {
      this._raf = 0;
      const d = this._dirty; this._dirty = 0;
      if (!this._ready) return;
      this.flush?.(d);
      if (d & 1 && !this.constructor.oneBase) this.paintImage(this.ctx(this.c0));
      if (d & 2) this.paintBase();
      if (d & 4) this.paintTop();
    });
  }
  paintImage(g) { g.imageSmoothingEnabled = this.k < 2; g.drawImage(this.img, 0, 0); }
  paintBase() {}
  paintTop() {}
  // ---- input -----------------------------------------------------------------------------------------------
  wire() {
    const st = this._stage;
    new ResizeObserver(() => { if (this._ready) { const k = this.W; this.resize(); if (!k) this.fit(); } }).observe(st);
    st.addEventListener('wheel', (e) => {
      if (!this._ready) return;
      e.preventDefault();
      const r = st.getBoundingClientRect();
      this.zoomAt(e.deltaY < 0 ? 1.2 : 1 / 1.2, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    // two fingers pinch to zoom and pan (a shape the first finger began is dropped)
    const ptrs = new Map(), mid = () => { const [a, b] = [...ptrs.values()]; return [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, Math.hypot(a[0] - b[0], a[1] - b[1]) || 1]; };
    st.addEventListener('pointerdown', (e) => {
      if (!this._ready) return;
      st.focus({ preventScroll: true });
      st.setPointerCapture(e.pointerId);
      if (e.pointerType === 'touch') {
        ptrs.set(e.pointerId, [e.clientX, e.clientY]);
        if (ptrs.size === 2) { this.abort?.(); const [x, y, d] = mid(); this._pinch = { x, y, d, k: this.k, ox: this.ox, oy: this.oy }; }
        if (this._pinch) return;
      }
      if (e.button === 1 || e.button === 2 || e.altKey || this._space) {
        e.preventDefault();
        let px = e.clientX, py = e.clientY;
        this._panning = (m) => { this.pan(m.clientX - px, m.clientY - py); px = m.clientX; py = m.clientY; };
        return;
      }
      if (e.button === 0) this.down(this.toImage(e), e);
    });
    st.addEventListener('pointermove', (e) => {
      if (!this._ready) return;
      if (this._panning) return this._panning(e);
      if (ptrs.has(e.pointerId)) ptrs.set(e.pointerId, [e.clientX, e.clientY]);
      if (this._pinch) {
        if (ptrs.size < 2) return;
        const p = this._pinch, [x, y, d] = mid(), r = st.getBoundingClientRect(), fit = Math.min(this.W / this.iw, this.H / this.ih);
        const k = clamp(p.k * (d / p.d), fit * 0.5, Math.max(fit * 40, 8));
        this.ox = x - r.left - ((p.x - r.left - p.ox) * k) / p.k; this.oy = y - r.top - ((p.y - r.top - p.oy) * k) / p.k; this.k = k;
        return this.repaint();
      }
      this.move(this.toImage(e), e);
    });
    const up = (e) => {
      ptrs.delete(e.pointerId);
      if (this._pinch) { if (!ptrs.size) this._pinch = null; return; }
      if (this._panning) { this._panning = null; return; }
      if (this._ready) this.up(this.toImage(e), e);
    };
    st.addEventListener('pointerup', up);
    st.addEventListener('pointercancel', up);
    st.addEventListener('dblclick', (e) => this.dbl?.(e));
    st.addEventListener('contextmenu', (e) => e.preventDefault());
    document.addEventListener('keyup', (e) => { if (e.key === ' ') { this._space = false; st.classList.remove('pan'); } });
    // Enter finishes a shape being drawn before <crowd-form> sees it (capture phase)
    this._cap = (e) => {
      if (e.key === 'Enter' && this.drawing?.() && owns(this) && !typing(e)) { e.preventDefault(); e.stopPropagation(); this.finish?.(); }
    };
  }
  connectedCallback() { super.connectedCallback(); document.addEventListener('keydown', this._cap, true); }
  disconnectedCallback() { super.disconnectedCallback(); document.removeEventListener('keydown', this._cap, true); }
  down() {}
  move() {}
  up() {}
  act(a) {
    if (a === 'undo') this.undo();
    else if (a === 'redo') this.redo();
    else if (a === 'zin') this.zoomAt(1.25, this.W / 2, this.H / 2);
    else if (a === 'zout') this.zoomAt(0.8, this.W / 2, this.H / 2);
    else if (a === 'fit') this.fit();
    else if (a === 'submit') this.submit();
    else if (a === 'del') this.remove?.();
  }
  chooseLabel(i) {
    this._l = i;
    this.shadowRoot.querySelectorAll('.lab').forEach((b) => b.setAttribute('aria-pressed', +b.dataset.l === i));
    this.relabel?.(i);
  }
  tool() {}
  /** Keys: 1–9 (or a label's own key, `keys`) labels, Ctrl+Z / Ctrl+Shift+Z (Ctrl+Y) undo/redo, + − 0 zoom, arrows pan (or nudge), Space+drag pan. */
  key(e) {
    if (typing(e) || !owns(this) || e.defaultPrevented || !this._ready) return;
    const k = e.key, mod = e.ctrlKey || e.metaKey;
    if (mod && !e.altKey) {
      const lk = k.toLowerCase();
      if (lk === 'z' && !e.shiftKey) this.undo();
      else if ((lk === 'z' && e.shiftKey) || lk === 'y') this.redo();
      else return;
      return e.preventDefault();
    }
    if (e.altKey || mod) return;
    if (k === ' ' && this._stage.matches(':focus')) { this._space = true; this._stage.classList.add('pan'); return e.preventDefault(); }
    const li = this._labels.findIndex((l) => l.key && l.key === k.toLowerCase());
    if (li >= 0) this.chooseLabel(li);
    else if (/^[1-9]$/.test(k) && +k <= this._labels.length && !this._labels.some((l) => l.key === k)) this.chooseLabel(+k - 1);
    else if (k === '+' || k === '=') this.act('zin');
    else if (k === '-') this.act('zout');
    else if (k === '0') this.fit();
    else if (k === 'Enter' && this._alone && !e.composedPath().some((n) => n.tagName === 'BUTTON')) this.submit();
    else if (this.keyMore(e)) return e.preventDefault();
    else if (k.startsWith('Arrow') && this._stage.matches(':focus')) {
      const s = e.shiftKey ? 120 : 40;
      this.pan({ ArrowLeft: s, ArrowRight: -s }[k] || 0, { ArrowUp: s, ArrowDown: -s }[k] || 0);
    } else return;
    e.preventDefault();
  }
  keyMore() { return false; }
  // ---- history: snapshots of the state, taken after each change --------------------------------------------
  snapshot() { return null; }
  restore() {}
  begin() { this._before = this.snapshot(); }
  commit() {
    this._undo.push(this._before ?? this.snapshot()); this._before = null;
    if (this._undo.length > 200) this._undo.shift();
    this._redo = [];
    this.changed();
  }
  undo() {
    if (this.drawing?.()) return this.cancel?.();
    if (!this._undo.length) return this.say('Nothing to undo.');
    this._redo.push(this.snapshot()); this.restore(this._undo.pop()); this.changed(); this.say('Undone.');
  }
  redo() {
    if (!this._redo.length) return this.say('Nothing to redo.');
    this._undo.push(this.snapshot()); this.restore(this._redo.pop()); this.changed(); this.say('Redone.');
  }
  changed() { this.dispatchEvent(new CustomEvent('change', { bubbles: true, composed: true })); }
  say(m, err = false) { const st = this.$('.st'); if (st) { st.textContent = m; st.classList.toggle('err', err); } }
  get imageProperties() { return { height: this.ih, width: this.iw }; }
  problem() { return this._ready || !this.attr('src') ? '' : 'The image has not loaded yet.'; }
  submit() {
    const answer = { [this.getAttribute('name') || this.localName]: this.answer };
    this.dispatchEvent(new CustomEvent('crowd-submit', { detail: { answer }, bubbles: true, composed: true }));
  }
  focus() { this._stage?.focus(); }
}
