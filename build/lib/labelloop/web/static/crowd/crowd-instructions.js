// <crowd-instructions link-text link-type> with regions <short-summary> (shown inline),
// <detailed-instructions>, <positive-example>, <negative-example> (shown in a modal).
import { Base, define, dialog, esc } from './_base.js';

define('crowd-instructions', class extends Base {
  constructor() {
    super();
    this.shadowRoot.addEventListener('click', (e) => { if (e.target.closest('[data-open]')) this.open(); });
  }
  render() {
    this.regions({ 'short-summary': 'short', 'detailed-instructions': 'full', 'positive-example': 'good', 'negative-example': 'bad' });
    const has = (t) => this.querySelector(`:scope>${t}`);
    const cls = this.attr('link-type') === 'button' ? '' : 'link';
    this.shadow(`<slot name=short></slot><button class="${cls}" part=trigger data-open>${esc(this.attr('link-text', 'Click for instructions'))}</button>
      ${dialog(`<slot name=full></slot>${has('positive-example') ? '<h3>Good examples</h3><slot name=good></slot>' : ''}
      ${has('negative-example') ? '<h3>Bad examples</h3><slot name=bad></slot>' : ''}`)}`,
    ':host{display:block;margin-bottom:1em}h3{font-size:1em;margin:1.2em 0 .4em}');
  }
  open() { this.$('dialog').showModal(); }
  close() { this.$('dialog').close(); }
});
