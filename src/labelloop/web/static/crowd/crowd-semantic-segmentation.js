// <crowd-semantic-segmentation name src header labels='["road","car"]' initial-value='{"labelMappings":
//   {"road": {"color": "#1f77b4"}}, "src": "<mask URL>"}'>: paint a label per colour over the image.
// Tools: brush (b), eraser (e), polygon fill (p: click vertices, click the first one, double-click or Enter to
// fill); [ and ] brush size; the opacity slider shows the image through the mask; Ctrl+Z / Ctrl+Shift+Z undo and
// redo whole strokes. The mask is a label index per image pixel (no anti-aliasing: every pixel is exactly one
// label's colour); a stroke repaints only the rectangle it touches, so a 2048x2048 image paints smoothly.
// Answer as Ground Truth's: {labeledImage: {pngImageData: "<base64 PNG, the image's size>"}, labelMappings:
// {"<label>": {color: "#rrggbb"}} (every label of the task), inputImageProperties, initialValueModified?};
// unlabeled pixels are white (#ffffff), Ground Truth's BACKGROUND colour.
import { define, json } from './_base.js';
import { ImageTool, clamp, hexRgb, pngBase64, scanFill } from './_canvas.js';

const UNDO_BYTES = 96 << 20;

class SemanticSegmentation extends ImageTool {
  stageLabel() { return 'Image: paint with the chosen label'; }
  hint() { return 'Paint with the brush (b), erase (e), or fill a polygon (p). [ and ] change the size; Ctrl+Z undoes a stroke.'; }
  tools() {
    return `<button type=button class=tool data-tool=brush aria-pressed=true title="Brush (b)">Brush <kbd class=zoomk>b</kbd></button>
      <button type=button class=tool data-tool=eraser aria-pressed=false title="Eraser (e)">Eraser <kbd class=zoomk>e</kbd></button>
      <button type=button class=tool data-tool=fill aria-pressed=false title="Polygon fill (p)">Polygon <kbd class=zoomk>p</kbd></button>
      <label>Size <input type=range class=size min=1 max=200 value=20 aria-label="Brush size in image pixels"><output class=sz>20</output></label>
      <label>Opacity <input type=range class=op min=10 max=100 value=60 aria-label="Mask opacity"></label>`;
  }
  render() {
    super.render();
    this._tool = 'brush';
    this.$('.size').addEventListener('input', (e) => this.setSize(+e.target.value));
    this.$('.op').addEventListener('input', (e) => { this.c1.style.opacity = e.target.value / 100; });
    this.c1.style.opacity = 0.6;
  }
  ready() {
    const w = this.iw, h = this.ih;
    this.idx = new Uint8Array(w * h); this.prev = new Uint8Array(w * h);
    this.rgba = new ImageData(w, h);
    this.mc = document.createElement('canvas'); this.mc.width = w; this.mc.height = h;
    this.lut = [[0, 0, 0, 0], ...this._labels.map((l) => [...hexRgb(l.color), 255])];
    const size = clamp(Math.round(Math.min(w, h) / 40), 2, 200);
    const range = this.$('.size'); range.max = Math.max(200, Math.round(Math.min(w, h) / 4)); this.setSize(size);
    this._initial = null; this._pend = null; this.draft = null;
    const init = json(this.getAttribute('initial-value'), null);
    const src = init?.src || (init?.labeledImage?.pngImageData ? `data:image/png;base64,${init.labeledImage.pngImageData}` : '');
    if (src) this.loadMask(src, init.labelMappings || {});
  }
  loadMask(src, mappings) {
    const im = new Image();
    im.crossOrigin = 'anonymous';
    im.onload = () => {
      try {
        const c = document.createElement('canvas'); c.width = this.iw; c.height = this.ih;
        const g = c.getContext('2d'); g.imageSmoothingEnabled = false; g.drawImage(im, 0, 0, this.iw, this.ih);
        const px = g.getImageData(0, 0, this.iw, this.ih).data, byColor = new Map();
        for (const [label, m] of Object.entries(mappings)) {
          const i = this._labels.findIndex((l) => l.label === label);
          if (i >= 0 && /^#[0-9a-f]{6}$/i.test(m?.color ?? '')) { const [r, gg, b] = hexRgb(m.color); byColor.set((r << 16) | (gg << 8) | b, i + 1); }
        }
        for (let p = 0, o = 0; p < this.idx.length; p++, o += 4) {
          const v = px[o + 3] ? byColor.get((px[o] << 16) | (px[o + 1] << 8) | px[o + 2]) ?? 0 : 0;
          if (v) this.setRun(p % this.iw, p % this.iw + 1, Math.floor(p / this.iw), v);
        }
        this.prev.set(this.idx); this._initial = this.idx.slice();
        this._pend = [0, 0, this.iw, this.ih]; this.frame(2);
        this.say('The mask to check is shown: correct it, or submit it as it is.');
      } catch { this.say('The initial mask could not be read (its server does not allow it).', true); }
    };
    im.onerror = () => this.say('The initial mask could not be loaded.', true);
    im.src = src;
  }
  setSize(v) {
    this._size = v; this.$('.size').value = v; this.$('.sz').textContent = v;
  }
  tool(t) {
    if (this.draft) this.draft = null;
    this._tool = t;
    this.shadowRoot.querySelectorAll('.tool').forEach((b) => b.setAttribute('aria-pressed', b.dataset.tool === t));
    this.frame(4);
    this.say({ brush: 'Brush: paint with the chosen label.', eraser: 'Eraser: remove labels.', fill: 'Polygon fill: click vertices, click the first one to fill.' }[t]);
  }
  chooseLabel(i) { super.chooseLabel(i); if (this._tool === 'eraser') this.tool('brush'); }
  // ---- painting the mask -------------------------------------------------------------------------------------
  setRun(a, z, y, v) {
    const w = this.iw, [r, g, b, al] = this.lut[v], d = this.rgba.data;
    this.idx.fill(v, y * w + a, y * w + z);
    for (let o = (y * w + a) * 4, e = (y * w + z) * 4; o < e; o += 4) { d[o] = r; d[o + 1] = g; d[o + 2] = b; d[o + 3] = al; }
  }
  touch(x0, y0, x1, y1) {
    x0 = clamp(Math.floor(x0), 0, this.iw); y0 = clamp(Math.floor(y0), 0, this.ih);
    x1 = clamp(Math.ceil(x1), 0, this.iw); y1 = clamp(Math.ceil(y1), 0, this.ih);
    for (const k of ['_pend', '_stroke']) {
      const r = this[k];
      this[k] = r ? [Math.min(r[0], x0), Math.min(r[1], y0), Math.max(r[2], x1), Math.max(r[3], y1)] : [x0, y0, x1, y1];
    }
  }
  stamp(cx, cy, v) {
    const r = this._size / 2, w = this.iw, h = this.ih;
    for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(h - 1, Math.ceil(cy + r)); y++) {
      const dy = y + 0.5 - cy; if (Math.abs(dy) > r) continue;
      const hw = Math.sqrt(r * r - dy * dy);
      const a = clamp(Math.ceil(cx - hw - 0.5), 0, w), z = clamp(Math.floor(cx + hw - 0.5) + 1, 0, w);
      if (z > a) this.setRun(a, z, y, v);
    }
    this.touch(cx - r - 1, cy - r - 1, cx + r + 1, cy + r + 1);
  }
  segment(p, q, v) {
    const dist = Math.hypot(q[0] - p[0], q[1] - p[1]), step = Math.max(0.5, this._size / 4), n = Math.ceil(dist / step);
    for (let i = 1; i <= n; i++) this.stamp(p[0] + ((q[0] - p[0]) * i) / n, p[1] + ((q[1] - p[1]) * i) / n, v);
  }
  /** Copy what changed into the mask canvas, then draw that rectangle only (unless the whole layer is redrawn). */
  flush(bits) {
    const r = this._pend;
    if (!r) return;
    this._pend = null;
    const [x0, y0, x1, y1] = r;
    if (x1 <= x0 || y1 <= y0) return;
    this.mc.getContext('2d').putImageData(this.rgba, 0, 0, x0, y0, x1 - x0, y1 - y0);
    if (bits & 2) return;
    const g = this.ctx(this.c1, false);
    g.imageSmoothingEnabled = false;
    g.save(); g.beginPath(); g.rect(x0, y0, x1 - x0, y1 - y0); g.clip();
    g.clearRect(x0 - 1, y0 - 1, x1 - x0 + 2, y1 - y0 + 2);
    g.drawImage(this.mc, x0, y0, x1 - x0, y1 - y0, x0, y0, x1 - x0, y1 - y0);
    g.restore();
  }
  paintBase() { const g = this.ctx(this.c1); g.imageSmoothingEnabled = false; g.drawImage(this.mc, 0, 0); }
  paintTop() {
    const g = this.ctx(this.c2), k = this.k, c = this._labels[this._l]?.color ?? '#000';
    g.lineWidth = 1.5 / k;
    if (this.draft) {
      const pts = this._hover ? [...this.draft, this._hover] : this.draft;
      g.strokeStyle = c; g.fillStyle = c; g.beginPath(); pts.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
      g.stroke(); g.globalAlpha = 0.25; g.fill(); g.globalAlpha = 1;
      for (const [x, y] of this.draft) g.strokeRect(x - 3 / k, y - 3 / k, 6 / k, 6 / k);
    } else if (this._hover && this._tool !== 'fill') {
      g.strokeStyle = '#fff'; g.beginPath(); g.arc(this._hover[0], this._hover[1], this._size / 2, 0, 7); g.stroke();
      g.setLineDash([3 / k, 3 / k]); g.strokeStyle = this._tool === 'eraser' ? '#000' : c; g.stroke();
    }
  }
  // ---- input -------------------------------------------------------------------------------------------------
  down(p) {
    if (this._tool === 'fill') {
      const d = this.draft;
      if (d && d.length >= 3 && Math.hypot(p[0] - d[0][0], p[1] - d[0][1]) * this.k <= 8) return this.finish();
      (this.draft ||= []).push(p); this.frame(4); return;
    }
    this._stroke = null; this._last = p; this._v = this._tool === 'eraser' ? 0 : this._l + 1;
    this.stamp(p[0], p[1], this._v); this.frame(4);
  }
  move(p) {
    this._hover = p;
    if (this._last) { this.segment(this._last, p, this._v); this._last = p; }
    this.frame(this.fullRepaint && this._last ? 7 : 4); // fullRepaint: the image and whole mask each frame (a baseline)
  }
  up() {
    if (!this._last) return;
    this._last = null; this.record();
  }
  /** Drop the stroke under way (a second finger came down to pinch): its pixels as they were. */
  abort() {
    const r = this._stroke;
    this._last = null; this._stroke = null;
    if (this.draft) { this.draft.pop(); if (!this.draft.length) this.draft = null; }
    if (r) this.apply({ r }, (() => {
      const [x0, y0, x1, y1] = r, w = x1 - x0, out = new Uint8Array(w * (y1 - y0));
      for (let y = y0; y < y1; y++) out.set(this.prev.subarray(y * this.iw + x0, y * this.iw + x1), (y - y0) * w);
      return out;
    })());
    this.frame(4);
  }
  dbl() { if (this.draft) this.finish(); }
  drawing() { return !!this.draft; }
  finish() {
    const pts = this.draft; this.draft = null;
    if (!pts || pts.length < 3) { this.frame(4); return this.say('A polygon needs at least 3 vertices.', true); }
    this._stroke = null;
    scanFill(pts, this.iw, this.ih, (a, z, y) => this.setRun(a, z, y, this._l + 1));
    const xs = pts.map((q) => q[0]), ys = pts.map((q) => q[1]);
    this.touch(Math.min(...xs) - 1, Math.min(...ys) - 1, Math.max(...xs) + 1, Math.max(...ys) + 1);
    this.record(); this.frame(4);
  }
  cancel() { this.draft = null; this.frame(4); this.say('Polygon cancelled.'); }
  /** A finished stroke becomes one undo step: its rectangle before and after. */
  record() {
    const r = this._stroke; this._stroke = null;
    if (!r) return;
    const [x0, y0, x1, y1] = r, w = x1 - x0, before = new Uint8Array(w * (y1 - y0)), after = new Uint8Array(before.length);
    for (let y = y0; y < y1; y++) {
      const o = y * this.iw;
      before.set(this.prev.subarray(o + x0, o + x1), (y - y0) * w); after.set(this.idx.subarray(o + x0, o + x1), (y - y0) * w);
      this.prev.set(this.idx.subarray(o + x0, o + x1), o + x0);
    }
    this._undo.push({ r, before, after }); this._redo = [];
    let bytes = 0;
    for (let i = this._undo.length - 1; i >= 0; i--) { bytes += this._undo[i].before.length * 2; if (bytes > UNDO_BYTES) { this._undo.splice(0, i + 1); break; } }
    this.changed();
  }
  apply(step, data) {
    const [x0, y0, x1, y1] = step.r, w = x1 - x0;
    for (let y = y0; y < y1; y++) {
      const row = data.subarray((y - y0) * w, (y - y0 + 1) * w);
      for (let x = 0; x < w;) { // runs of one label
        let z = x + 1; while (z < w && row[z] === row[x]) z++;
        this.setRun(x0 + x, x0 + z, y, row[x]); x = z;
      }
      this.prev.set(row, y * this.iw + x0);
    }
    this._stroke = null; this.touch(x0, y0, x1, y1); this._stroke = null;
    this.frame(4); this.changed();
  }
  undo() {
    if (this.draft) return this.cancel();
    const s = this._undo.pop(); if (!s) return this.say('Nothing to undo.');
    this._redo.push(s); this.apply(s, s.before); this.say('Undone.');
  }
  redo() {
    const s = this._redo.pop(); if (!s) return this.say('Nothing to redo.');
    this._undo.push(s); this.apply(s, s.after); this.say('Redone.');
  }
  keyMore(e) {
    const k = e.key.toLowerCase();
    if (k === 'b') this.tool('brush');
    else if (k === 'e') this.tool('eraser');
    else if (k === 'p') this.tool('fill');
    else if (k === '[' || k === ']') this.setSize(clamp(Math.round(this._size * (k === ']' ? 1.25 : 0.8)) + (k === ']' ? 1 : -1), 1, +this.$('.size').max));
    else if (k === 'escape' && this.draft) this.cancel();
    else if (k === 'backspace' && this.draft) { this.draft.pop(); if (!this.draft.length) this.draft = null; this.frame(4); }
    else return false;
    return true;
  }
  // ---- the answer --------------------------------------------------------------------------------------------
  get answer() {
    if (!this._ready) return undefined;
    const n = this.idx.length, out = new Uint8ClampedArray(n * 4), lut = [[255, 255, 255], ...this._labels.map((l) => hexRgb(l.color))];
    for (let p = 0, o = 0; p < n; p++, o += 4) { const c = lut[this.idx[p]]; out[o] = c[0]; out[o + 1] = c[1]; out[o + 2] = c[2]; out[o + 3] = 255; }
    const labelMappings = Object.fromEntries(this._labels.map((l) => [l.label, { color: l.color }]));
    const answer = { labeledImage: { pngImageData: pngBase64(out, this.iw, this.ih) }, labelMappings, inputImageProperties: this.imageProperties };
    if (this._initial) answer.initialValueModified = this._initial.some((v, i) => v !== this.idx[i]);
    return answer;
  }
  /** Pixels per label (for a test or a summary): {label: count}. */
  get counts() {
    const c = new Array(this._labels.length + 1).fill(0);
    for (const v of this.idx || []) c[v]++;
    return Object.fromEntries([['', c[0]], ...this._labels.map((l, i) => [l.label, c[i + 1]])]);
  }
}

define('crowd-semantic-segmentation', SemanticSegmentation);
