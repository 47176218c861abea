// <crowd-keypoint name src header labels='["nose","left_eye"]' initial-value='[{"label","x","y"}]'>: click to
// place the chosen label's point, drag to move it (_shapes.js). After a point is placed the next label with the
// fewest points is chosen, so a skeleton (nose, eyes, shoulders...) is clicked in order without touching the keys,
// and then the next person's. Answer {keypoints: [{label, x, y, instance?}], inputImageProperties,
// initialValueModified?}; origin top-left. `instance` (labelloop's, from 0) groups the points of one object: the
// n-th point of a label belongs to instance n; it is written only when there is more than one instance, so a
// one-person answer is exactly Ground Truth's.
import { define } from './_base.js';
import { ShapeTool } from './_shapes.js';

class Keypoint extends ShapeTool {
  static kind = 'point';
  static answerKey = 'keypoints';
  ready() {
    super.ready();
    for (const list of [this._initial, this.shapes]) {
      const seen = new Map();
      for (const s of list) { s.inst = seen.get(s.l) ?? 0; seen.set(s.l, s.inst + 1); }
    }
  }
  add(pts) {
    const s = super.add(pts), used = new Set(this.shapes.filter((q) => q !== s && q.l === s.l).map((q) => q.inst));
    let i = 0; while (used.has(i)) i++;
    s.inst = i;
    return s;
  }
  relabel(i) {
    if (!this.sel || this.sel.l === i) return;
    const used = new Set(this.shapes.filter((q) => q !== this.sel && q.l === i).map((q) => q.inst));
    if (used.has(this.sel.inst)) { let j = 0; while (used.has(j)) j++; this.sel.inst = j; }
    super.relabel(i);
  }
  placed() {
    const n = this._labels.length, count = new Array(n).fill(0);
    for (const s of this.shapes) count[s.l]++;
    const least = Math.min(...count);
    for (let j = 1; j <= n; j++) { const i = (this._l + j) % n; if (count[i] === least) return this.markLabel(i); }
  }
  out(s) {
    const o = super.out(s);
    if (this.shapes.some((q) => q.inst > 0)) o.instance = s.inst;
    return o;
  }
}

define('crowd-keypoint', Keypoint);
