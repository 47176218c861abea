// <crowd-instance-segmentation name src header labels>: outline each object as a polygon (_shapes.js); each
// outline is one instance with a colour of its own. Answer as Ground Truth's: {labeledImage: {pngImageData:
// "<base64 PNG>"}, instances: [{color: "#rrggbb", label}], inputImageProperties}: the PNG is the image's size,
// white (#ffffff) where there is no instance, each instance's pixels its colour (later instances over earlier
// ones), no anti-aliasing.
import { define } from './_base.js';
import { hexRgb, pngBase64, scanFill } from './_canvas.js';
import { ShapeTool } from './_shapes.js';

/** Distinct instance colours: hues a golden angle apart, never white. */
export const instanceColor = (i) => {
  const h = (i * 137.508) % 360, s = 0.75, l = i % 2 ? 0.38 : 0.55;
  const f = (n) => { const k = (n + h / 30) % 12, a = s * Math.min(l, 1 - l); return l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1)); };
  return `#${[f(0), f(8), f(4)].map((x) => Math.round(x * 255).toString(16).padStart(2, '0')).join('')}`;
};

class InstanceSegmentation extends ShapeTool {
  static kind = 'polygon';
  static answerKey = 'polygons';
  /** Shown in its instance's colour, the one its pixels get in the answer. */
  color(s) { const i = this.shapes.indexOf(s); return i < 0 ? super.color(s) : instanceColor(i); }
  get answer() {
    if (!this._ready) return undefined;
    const w = this.iw, h = this.ih, rgba = new Uint8ClampedArray(w * h * 4).fill(255);
    const instances = this.shapes.map((s, i) => {
      const color = instanceColor(i), [r, g, b] = hexRgb(color);
      scanFill(s.pts, w, h, (a, z, y) => {
        for (let o = (y * w + a) * 4, e = (y * w + z) * 4; o < e; o += 4) { rgba[o] = r; rgba[o + 1] = g; rgba[o + 2] = b; }
      });
      return { color, label: this._labels[s.l].label };
    });
    return { labeledImage: { pngImageData: pngBase64(rgba, w, h) }, instances, inputImageProperties: this.imageProperties };
  }
}

define('crowd-instance-segmentation', InstanceSegmentation);
