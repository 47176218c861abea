// Vector shapes over an image: the base of crowd-bounding-box, crowd-polygon, crowd-polyline, crowd-line,
// crowd-keypoint and crowd-instance-segmentation. A shape is {id, l (label index), pts: [[x, y], ...], pre}:
// a box is its two corners, a line its two ends, a keypoint one point. Pre-annotations (initial-value) show
// dashed until touched. Mouse: drag on the image draws (a box, a line), clicks add vertices (polygon,
// polyline: click the first vertex, double-click or Enter to finish), a click places a keypoint; drag a
// shape to move it, a handle to reshape it. Keys: 1–9 label (the selected shape is relabeled), Tab /
// Shift+Tab next/previous shape, Delete/Backspace remove it (Backspace while drawing removes the last
// vertex), Escape cancel or deselect, arrows nudge the selected shape (Shift: 10 px), Ctrl+Z / Ctrl+Shift+Z.
import { esc, json } from './_base.js';
import { ImageTool, clamp } from './_canvas.js';

const BOX_HANDLES = [[0, 0], [0.5, 0], [1, 0], [1, 0.5], [1, 1], [0.5, 1], [0, 1], [0, 0.5]];
const NAMES = { box: 'box', polygon: 'polygon', polyline: 'polyline', line: 'line', point: 'keypoint' };
const clone = (s) => ({ ...s, pts: s.pts.map((p) => [p[0], p[1]]) });
const d2 = (a, b) => (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2;
const segD2 = (p, a, b) => {
  const l = d2(a, b); if (!l) return d2(p, a);
  const t = clamp(((p[0] - a[0]) * (b[0] - a[0]) + (p[1] - a[1]) * (b[1] - a[1])) / l, 0, 1);
  return d2(p, [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]);
};
const inside = (p, pts) => {
  let c = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i], [xj, yj] = pts[j];
    if ((yi > p[1]) !== (yj > p[1]) && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
};
const rect = (s) => {
  const [[a, b], [c, d]] = s.pts;
  return [Math.min(a, c), Math.min(b, d), Math.abs(c - a), Math.abs(d - b)];
};

export class ShapeTool extends ImageTool {
  static kind = 'box';
  static answerKey = 'boundingBoxes';
  get kind() { return this.constructor.kind; }
  stageLabel() {
    const n = NAMES[this.kind];
    return this.kind === 'box' || this.kind === 'line' ? `Image: drag to draw a ${n}` : this.kind === 'point'
      ? 'Image: click to place a keypoint' : `Image: click to add ${n} vertices`;
  }
  hint() {
    const k = this.kind;
    return k === 'box' ? 'Drag to draw a box; drag a box or its handles to adjust it. 1–9 label, Tab next box, Delete removes.'
      : k === 'point' ? 'Click to place the chosen keypoint; drag to move it. 1–9 label, Tab next, Delete removes.'
        : k === 'line' ? 'Drag (or click twice) to draw a line; drag its ends to adjust. Delete removes.'
          : `Click to add vertices; ${k === 'polygon' ? 'click the first vertex' : 'double-click'} or press Enter to finish, Escape cancels.`;
  }
  tools() { return `<button type=button data-act=del aria-label="Delete the selected ${NAMES[this.kind]}" title="Delete (Del)" disabled>Delete</button>`; }
  ready() {
    const raw = json(this.getAttribute('initial-value'), []);
    const list = Array.isArray(raw) ? raw : (raw?.[this.constructor.answerKey] ?? []);
    let dropped = 0;
    this._initial = [];
    for (const v of Array.isArray(list) ? list : []) {
      const l = this._labels.findIndex((x) => x.label === v?.label);
      const pts = this.readInitial(v);
      if (l < 0 || !pts) { dropped++; continue; }
      this._initial.push({ id: this._initial.length, l, pts: pts.map(([x, y]) => [clamp(x, 0, this.iw), clamp(y, 0, this.ih)]), pre: true });
    }
    this.shapes = this._initial.map(clone);
    this._ids = this.shapes.length;
    this.sel = null; this.draft = null; this.drag = null;
    if (dropped) this.say(`${dropped} initial shape(s) with an unknown label or bad coordinates were left out.`, true);
  }
  readInitial(v) {
    const n = (x) => typeof x === 'number' && Number.isFinite(x);
    if (this.kind === 'box') return [v.left, v.top, v.width, v.height].every(n) && v.width >= 0 && v.height >= 0
      ? [[v.left, v.top], [v.left + v.width, v.top + v.height]] : null;
    if (this.kind === 'point') return n(v.x) && n(v.y) ? [[v.x, v.y]] : null;
    const pts = Array.isArray(v.vertices) ? v.vertices.filter((p) => n(p?.x) && n(p?.y)).map((p) => [p.x, p.y]) : [];
    return pts.length >= this.minVertices() ? pts : null;
  }
  minVertices() { return { polygon: 3, polyline: 2, line: 2 }[this.kind] ?? 1; }
  // ---- painting ----------------------------------------------------------------------------------------------
  static oneBase = true; // the image and the shapes not being edited share one canvas
  paintBase() {
    const g = this.ctx(this.c1);
    this.paintImage(g);
    for (const s of this.shapes) if (s !== this.sel) this.draw(g, s, false);
  }
  paintTop() {
    const g = this.ctx(this.c2);
    if (this.sel) this.draw(g, this.sel, true);
    if (this.draft) {
      const pts = this._hover ? [...this.draft.pts, this._hover] : this.draft.pts;
      this.draw(g, { l: this._l, pts, draft: true }, true);
    }
  }
  color(s) { return this._labels[s.l]?.color ?? '#000000'; }
  draw(g, s, active) {
    const k = this.k, c = this.color(s), kind = this.kind;
    g.lineWidth = (active ? 2.5 : 2) / k;
    g.strokeStyle = c; g.fillStyle = c;
    g.setLineDash(s.pre ? [6 / k, 4 / k] : []);
    if (kind === 'box') {
      const [x, y, w, h] = rect(s);
      g.globalAlpha = active ? 0.2 : 0.1; g.fillRect(x, y, w, h); g.globalAlpha = 1; g.strokeRect(x, y, w, h);
      if (!s.draft) this.tag(g, s, x, y);
      if (active) this.handles(g, BOX_HANDLES.map(([fx, fy]) => [x + fx * w, y + fy * h]), c);
      return;
    }
    if (kind === 'point') {
      const [x, y] = s.pts[0];
      g.beginPath(); g.arc(x, y, (active ? 6 : 4.5) / k, 0, 7);
      if (s.pre) { g.globalAlpha = 0.45; g.fill(); g.globalAlpha = 1; g.beginPath(); g.arc(x, y, 7 / k, 0, 7); } else g.fill();
      g.lineWidth = 1.5 / k; g.strokeStyle = s.pre ? c : '#fff'; g.stroke(); // a pre-annotation: a dashed ring
      g.setLineDash([]);
      g.font = `600 ${12 / k}px system-ui,sans-serif`; g.lineWidth = 3 / k; g.strokeStyle = '#fff';
      const t = this._labels[s.l]?.label ?? '';
      g.strokeText(t, x + 7 / k, y - 6 / k); g.fillStyle = c; g.fillText(t, x + 7 / k, y - 6 / k);
      return;
    }
    const closed = kind === 'polygon' && !s.draft;
    g.beginPath();
    s.pts.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
    if (closed) { g.closePath(); g.globalAlpha = active ? 0.3 : 0.18; g.fill(); g.globalAlpha = 1; }
    g.stroke();
    if (!s.draft) this.tag(g, s, s.pts[0][0], s.pts[0][1]);
    if (active) this.handles(g, s.draft && this._hover ? s.pts.slice(0, -1) : s.pts, c);
  }
  /** The label's name in a small tag at (x, y), above the shape. */
  tag(g, s, x, y) {
    const k = this.k, t = this._labels[s.l]?.label ?? '', fs = 11 / k;
    g.setLineDash([]);
    g.font = `600 ${fs}px system-ui,sans-serif`;
    const w = g.measureText(t).width + 6 / k, top = y - fs - 4 / k >= 0 ? y - fs - 4 / k : y;
    g.fillStyle = this.color(s); g.fillRect(x, top, w, fs + 4 / k);
    g.fillStyle = '#fff'; g.fillText(t, x + 3 / k, top + fs);
  }
  handles(g, pts, c) {
    const r = 4 / this.k;
    g.setLineDash([]); g.lineWidth = 1.5 / this.k; g.fillStyle = '#fff'; g.strokeStyle = c;
    for (const [x, y] of pts) { g.fillRect(x - r, y - r, 2 * r, 2 * r); g.strokeRect(x - r, y - r, 2 * r, 2 * r); }
  }
  // ---- hit testing (image px; the tolerance is a few screen px) ---------------------------------------------
  handlePts(s) {
    if (this.kind !== 'box') return s.pts;
    const [x, y, w, h] = rect(s);
    return BOX_HANDLES.map(([fx, fy]) => [x + fx * w, y + fy * h]);
  }
  hitHandle(p) {
    if (!this.sel) return -1;
    const t = (7 / this.k) ** 2, hs = this.handlePts(this.sel);
    let best = -1, bd = t;
    hs.forEach((h, i) => { const d = d2(p, h); if (d <= bd) { bd = d; best = i; } });
    return best;
  }
  hitShape(p) {
    const t = (6 / this.k) ** 2, kind = this.kind;
    if (this.sel && this.hits(this.sel, p, t)) return this.sel;
    let best = null, area = Infinity;
    for (let i = this.shapes.length - 1; i >= 0; i--) {
      const s = this.shapes[i];
      if (!this.hits(s, p, t)) continue;
      if (kind !== 'box') return s;
      const [, , w, h] = rect(s);
      if (w * h < area) { area = w * h; best = s; } // the smallest box under the pointer: nested boxes stay reachable
    }
    return best;
  }
  hits(s, p, t) {
    const k = this.kind, pts = s.pts;
    if (k === 'point') return d2(p, pts[0]) <= t * 2.25;
    if (k === 'box') { const [x, y, w, h] = rect(s); const m = Math.sqrt(t); return p[0] >= x - m && p[0] <= x + w + m && p[1] >= y - m && p[1] <= y + h + m; }
    if (k === 'polygon' && inside(p, pts)) return true;
    for (let i = 1; i < pts.length + (k === 'polygon' ? 1 : 0); i++) if (segD2(p, pts[i - 1], pts[i % pts.length]) <= t) return true;
    return false;
  }
  // ---- editing -------------------------------------------------------------------------------------------------
  select(s, quiet = false) {
    this.sel = s;
    const del = this.$('[data-act=del]'); if (del) del.disabled = !s;
    this.frame(6);
    if (s && !quiet) {
      const i = this.shapes.indexOf(s) + 1;
      this.say(`${NAMES[this.kind][0].toUpperCase()}${NAMES[this.kind].slice(1)} ${i} of ${this.shapes.length} selected: ${this._labels[s.l].label}.`);
    }
  }
  markLabel(i) {
    this._l = i;
    this.shadowRoot.querySelectorAll('.lab').forEach((b) => b.setAttribute('aria-pressed', +b.dataset.l === i));
  }
  relabel(i) {
    if (!this.sel || this.sel.l === i) return;
    this.begin(); this.sel.l = i; this.sel.pre = false; this.commit(); this.select(this.sel);
  }
  add(pts) {
    const s = { id: this._ids++, l: this._l, pts, pre: false };
    this.shapes.push(s);
    return s;
  }
  down(p, e) {
    const kind = this.kind;
    if (this.draft) {
      const pts = this.draft.pts, first = pts[0], near = d2(p, first) <= (8 / this.k) ** 2;
      if (kind === 'polygon' && pts.length >= 3 && near) return this.finish();
      pts.push(p);
      if (kind === 'line' && pts.length === 2) return this.finish();
      this.frame(4);
      return;
    }
    const h = this.hitHandle(p);
    if (h >= 0) { this.begin(); this.drag = { type: 'h', s: this.sel, h }; return; }
    const s = this.hitShape(p);
    if (s) {
      if (s !== this.sel) { this.select(s); if (e.detail > 1) return; }
      this.begin(); this.drag = { type: 'm', s, p0: p, orig: s.pts.map((q) => [...q]) };
      return;
    }
    this.select(null, true);
    if (kind === 'box') {
      this.begin(); const b = this.add([p, [...p]]); this.sel = b; this.drag = { type: 'h', s: b, h: 4, fresh: true };
    } else if (kind === 'point') {
      this.begin(); const b = this.add([p]); this.select(b); this.drag = { type: 'm', s: b, p0: p, orig: [[...p]], fresh: true };
    } else {
      this.draft = { pts: [p], p0: p, down: true };
      this._hover = null; this.frame(4);
    }
  }
  move(p) {
    const dr = this.drag;
    if (dr) {
      const s = dr.s;
      if (dr.type === 'm') {
        const dx = p[0] - dr.p0[0], dy = p[1] - dr.p0[1];
        // the whole shape stays on the image
        const xs = dr.orig.map((q) => q[0]), ys = dr.orig.map((q) => q[1]);
        const cx = clamp(dx, -Math.min(...xs), this.iw - Math.max(...xs)), cy = clamp(dy, -Math.min(...ys), this.ih - Math.max(...ys));
        s.pts = dr.orig.map(([x, y]) => [x + cx, y + cy]);
      } else if (this.kind === 'box') {
        const [fx, fy] = BOX_HANDLES[dr.h], [x, y, w, h] = rect(s);
        let x0 = x, y0 = y, x1 = x + w, y1 = y + h;
        if (dr.fresh) { x1 = p[0]; y1 = p[1]; x0 = s.pts[0][0]; y0 = s.pts[0][1]; s.pts = [[x0, y0], [x1, y1]]; }
        else {
          if (fx === 0) x0 = p[0]; else if (fx === 1) x1 = p[0];
          if (fy === 0) y0 = p[1]; else if (fy === 1) y1 = p[1];
          s.pts = [[x0, y0], [x1, y1]];
          // keep the handle under the pointer when a side crosses the other
          if (x1 < x0 || y1 < y0) {
            s.pts = [[Math.min(x0, x1), Math.min(y0, y1)], [Math.max(x0, x1), Math.max(y0, y1)]];
            dr.h = BOX_HANDLES.findIndex(([a, b]) => a === (fx === 0.5 ? 0.5 : x1 < x0 ? 1 - fx : fx) && b === (fy === 0.5 ? 0.5 : y1 < y0 ? 1 - fy : fy));
          }
        }
      } else s.pts[dr.h] = p;
      s.pre = false;
      dr.moved = true;
      this.frame(this.fullRepaint ? 6 : 4); // fullRepaint: every layer each frame (bench/portal.py's baseline)
    } else if (this.draft) {
      const dn = this.draft.down && d2(p, this.draft.p0) > (4 / this.k) ** 2;
      if (dn) this.draft.dragged = true;
      this._hover = p; this.frame(4);
    } else {
      const h = this.hitHandle(p);
      this._stage.style.cursor = h >= 0 ? 'pointer' : this.hitShape(p) ? 'move' : '';
    }
  }
  up(p) {
    const dr = this.drag;
    if (this.draft) {
      const d = this.draft;
      if (d.down && this.kind === 'line' && d.dragged) { d.pts.push(p); this.finish(); } else d.down = false;
      return;
    }
    if (!dr) return;
    this.drag = null;
    const s = dr.s;
    if (this.kind === 'box') {
      const [x, y, w, h] = rect(s);
      s.pts = [[x, y], [x + w, y + h]];
      if (dr.fresh && (w * this.k < 4 || h * this.k < 4)) { // a click, not a drag: no box
        this.shapes = this.shapes.filter((q) => q !== s); this._before = null; this.select(null, true); return;
      }
    }
    if (dr.fresh || dr.moved) { this.commit(); this.select(s); if (dr.fresh) this.placed?.(s); } else { this._before = null; this.frame(6); }
  }
  /** Drop the gesture under way (a second finger came down to pinch). */
  abort() {
    if (this.drag) { const before = this._before; this.drag = null; this._before = null; if (before) this.restore(before); }
    if (this.draft?.down && this.draft.pts.length === 1) this.draft = null;
    else this.draft?.pts.pop();
    this.frame(6);
  }
  dbl() { if (this.draft && this.kind !== 'line') this.finish(); }
  drawing() { return !!this.draft; }
  finish() {
    const d = this.draft;
    if (!d) return;
    const pts = d.pts.filter((q, i) => !i || d2(q, d.pts[i - 1]) > (2 / this.k) ** 2); // double-click's twin vertex
    if (pts.length < this.minVertices()) return this.say(`A ${NAMES[this.kind]} needs at least ${this.minVertices()} vertices.`, true);
    this.draft = null; this._hover = null;
    this.begin(); const s = this.add(pts); this.commit(); this.select(s);
  }
  cancel() { this.draft = null; this._hover = null; this.frame(4); this.say('Drawing cancelled.'); }
  remove() {
    const s = this.sel;
    if (!s) return this.say(`Select a ${NAMES[this.kind]} to delete it.`);
    this.begin(); this.shapes = this.shapes.filter((q) => q !== s); this.commit(); this.select(null, true);
    this.say(`${NAMES[this.kind]} deleted; Ctrl+Z brings it back.`);
  }
  keyMore(e) {
    const k = e.key, focused = this._stage.matches(':focus');
    if (k === 'Backspace' && this.draft) {
      this.draft.pts.pop(); if (!this.draft.pts.length) this.draft = null; this.frame(4); return true;
    }
    if (k === 'Delete' || k === 'Backspace') { this.remove(); return true; }
    if (k === 'Escape') { if (this.draft) this.cancel(); else if (this.sel) this.select(null, true); else return false; return true; }
    if (k === 'Tab' && focused && this.shapes.length && !this.draft) {
      const i = this.shapes.indexOf(this.sel), j = i + (e.shiftKey ? -1 : 1);
      if (j < 0 || j >= this.shapes.length) { if (i < 0 && e.shiftKey) { this.select(this.shapes[this.shapes.length - 1]); return true; } this.select(null, true); return false; }
      this.select(this.shapes[j]); return true;
    }
    if (k.startsWith('Arrow') && this.sel && focused) {
      const st = e.shiftKey ? 10 : 1, dx = { ArrowLeft: -st, ArrowRight: st }[k] || 0, dy = { ArrowUp: -st, ArrowDown: st }[k] || 0;
      this.begin();
      this.sel.pts = this.sel.pts.map(([x, y]) => [clamp(x + dx, 0, this.iw), clamp(y + dy, 0, this.ih)]);
      this.sel.pre = false; this.commit(); this.frame(4); return true;
    }
    return false;
  }
  snapshot() { return { shapes: this.shapes.map(clone), sel: this.sel?.id ?? null }; }
  restore(s) {
    this.shapes = s.shapes.map(clone); this.draft = null;
    this.select(this.shapes.find((q) => q.id === s.sel) ?? null, true);
  }
  // ---- the answer ----------------------------------------------------------------------------------------------
  /** One shape as Ground Truth writes it (integer pixels). */
  out(s) {
    const label = this._labels[s.l].label, r = Math.round;
    if (this.kind === 'box') { const [x, y, w, h] = rect(s); return { label, left: r(x), top: r(y), width: r(x + w) - r(x), height: r(y + h) - r(y) }; }
    if (this.kind === 'point') return { label, x: r(s.pts[0][0]), y: r(s.pts[0][1]) };
    return { label, vertices: s.pts.map(([x, y]) => ({ x: r(x), y: r(y) })) };
  }
  get value() { return this.shapes ? this.shapes.map((s) => this.out(s)) : []; }
  get answer() {
    if (!this._ready) return undefined;
    const out = { [this.constructor.answerKey]: this.value, inputImageProperties: this.imageProperties };
    if (this._initial.length) out.initialValueModified = this.modified();
    return out;
  }
  modified() {
    const key = (s) => JSON.stringify(this.out(s)), a = this._initial.map(key).sort(), b = this.shapes.map(key).sort();
    return a.length !== b.length || a.some((x, i) => x !== b[i]);
  }
  /** Shapes for a screen reader or a test: label and image px. */
  describe() { return this.value.map((v) => esc(JSON.stringify(v))); }
}
