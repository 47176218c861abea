// <crowd-image-classifier name src header categories>: wheel zooms, drag pans, + - 0 keys zoom.
// The image fills the width of its area (small images are scaled up), at most 26em high (16em on a narrow screen; vh would be the frame's own height).
// Answer {label}. Exports ImageClassifier for the multi-select variant.
import { define, esc } from './_base.js';
import { Classifier } from './crowd-classifier.js';

export class ImageClassifier extends Classifier {
  body() {
    return `<div class=view part=view><img part=image src="${esc(this.attr('src'))}" alt="" draggable=false></div><slot></slot>`;
  }
  css() {
    return `.view{overflow:hidden;touch-action:none;cursor:grab;background:var(--crowd-image-bg,#f3f4f6);border-radius:var(--r);text-align:center}
      img{display:block;width:100%;height:auto;max-height:26em;object-fit:contain;transform-origin:0 0}
      img.tiny{image-rendering:pixelated}@media (max-width:700px){img{max-height:16em}}.view:active{cursor:grabbing}`;
  }
  render() {
    super.render();
    this.zoom = 1; this._x = 0; this._y = 0;
    const v = this.$('.view'), im = this.$('img');
    // small images are scaled up to fill the image area; tiny ones (a 28 px digit) stay sharp-edged
    const fit = () => im.classList.toggle('tiny', im.naturalWidth > 0 && im.naturalWidth <= 160);
    im.addEventListener('load', fit); fit();
    v.addEventListener('wheel', (e) => {
      e.preventDefault();
      const img = this.$('img'), r = v.getBoundingClientRect();
      this.zoomAt(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - r.left - img.offsetLeft, e.clientY - r.top - img.offsetTop);
    }, { passive: false });
    v.addEventListener('pointerdown', (e) => {
      v.setPointerCapture(e.pointerId);
      let px = e.clientX, py = e.clientY;
      const move = (m) => { this._x += m.clientX - px; this._y += m.clientY - py; px = m.clientX; py = m.clientY; this.paint(); };
      v.addEventListener('pointermove', move);
      v.addEventListener('pointerup', () => v.removeEventListener('pointermove', move), { once: true });
    });
  }
  zoomAt(f, px, py) {
    const z = Math.min(20, Math.max(1, this.zoom * f));
    this._x = px - ((px - this._x) * z) / this.zoom; this._y = py - ((py - this._y) * z) / this.zoom;
    if (z === 1) this._x = this._y = 0;
    this.zoom = z; this.paint();
  }
  zoomKey(k) {
    const img = this.$('img'), f = { '+': 1.25, '=': 1.25, '-': 0.8 }[k];
    if (f) this.zoomAt(f, img.clientWidth / 2, img.clientHeight / 2); else if (k === '0') this.zoomAt(0, 0, 0);
  }
  paint() { this.$('img').style.transform = `translate(${this._x}px,${this._y}px) scale(${this.zoom})`; }
}

define('crowd-image-classifier', ImageClassifier);
