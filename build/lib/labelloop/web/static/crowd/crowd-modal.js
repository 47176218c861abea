// <crowd-modal link-text link-type="link|button">content</crowd-modal>: a trigger that opens the content
// in a modal dialog; Escape closes it. Methods open() / close().
import { Base, define, dialog, esc } from './_base.js';

define('crowd-modal', class extends Base {
  constructor() {
    super();
    this.shadowRoot.addEventListener('click', (e) => { if (e.target.closest('[data-open]')) this.open(); });
  }
  render() {
    const cls = this.attr('link-type') === 'button' ? '' : 'link';
    this.shadow(`<button class="${cls}" part=trigger data-open>${esc(this.attr('link-text', 'Open'))}</button>${dialog('<slot></slot>')}`);
  }
  open() { this.$('dialog').showModal(); }
  close() { this.$('dialog').close(); }
});
