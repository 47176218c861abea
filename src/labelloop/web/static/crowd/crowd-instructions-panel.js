// <crowd-instructions-panel>: the task page's instructions panel, as in Ground Truth's worker UI. It takes
// every <short-instructions> of the page (shown in the panel) and <full-instructions header> (a "View full
// instructions" button opens them in a dialog; empty ones are dropped), wherever the template put them
// (inside a crowd-classifier, a crowd-form...). The task frame (static/frame.js) adds it when there are any.
import { Base, define, dialog, esc } from './_base.js';

const REGIONS = 'short-instructions, full-instructions';
const empty = (el) => !el.textContent.trim() && !el.querySelector('img,video,audio,iframe,table,svg,canvas');

define('crowd-instructions-panel', class extends Base {
  constructor() {
    super();
    this.shadowRoot.addEventListener('click', (e) => { if (e.target.closest('[data-open]')) this.open(); });
  }
  /** Move the page's instruction regions here; true when there were any. */
  adopt(root = document) {
    const found = [...root.querySelectorAll(REGIONS)].filter((el) => !this.contains(el));
    for (const el of found) {
      if (el.localName === 'full-instructions' && empty(el)) { el.remove(); continue; }
      el.slot = el.localName === 'short-instructions' ? 'short' : 'full';
      this.append(el);
    }
    this.render();
    return this.children.length > 0;
  }
  render() {
    const full = this.querySelector(':scope>full-instructions');
    const title = full?.getAttribute('header') || 'Full instructions';
    this.shadow(`<aside part=panel aria-label=Instructions><h2>Instructions</h2><slot name=short></slot>
      ${full ? `<button class=link part=trigger data-open>View full instructions</button>
      ${dialog(`<h2 dir=auto>${esc(title)}</h2><slot name=full></slot>`)}` : ''}</aside>`,
    ':host{display:block;margin-bottom:1em}aside{border:1px solid var(--bd);border-radius:var(--r);padding:.6em 1em}' +
    'h2{font-size:1em;margin:0 0 .4em}');
  }
  open() { this.$('dialog')?.showModal(); }
  close() { this.$('dialog')?.close(); }
});
