// <crowd-card heading image>content</crowd-card>
import { Base, define, esc } from './_base.js';

define('crowd-card', class extends Base {
  render() {
    const img = this.getAttribute('image'), h = this.getAttribute('heading');
    this.shadow(`${img ? `<img part=image src="${esc(img)}" alt="">` : ''}${h ? `<h3 part=heading dir=auto>${esc(h)}</h3>` : ''}<div><slot></slot></div>`,
      ':host{display:block;border:1px solid var(--bd);border-radius:var(--r);overflow:hidden;background:var(--bg)}img{display:block;width:100%}h3{margin:.8em 1em 0;font-size:1.05em}div{padding:.8em 1em}');
  }
});
