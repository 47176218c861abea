// <crowd-button form-action="submit|reset" variant="primary|normal|link|icon" href icon icon-url loading disabled>
import { Base, define, esc, formOf, icon } from './_base.js';

define('crowd-button', class extends Base {
  static focus = true;
  static observedAttributes = ['disabled', 'loading', 'variant'];
  constructor() {
    super();
    this.addEventListener('click', (e) => {
      if (this.disabled || this.hasAttribute('loading')) { e.stopImmediatePropagation(); return; }
      const form = formOf(this), act = this.attr('form-action');
      if (form && act === 'submit') form.submit();
      else if (form && act === 'reset') form.reset();
    });
  }
  render() {
    const v = this.attr('variant', 'normal'), href = this.getAttribute('href');
    const img = this.hasAttribute('icon-url') ? `<img src="${esc(this.attr('icon-url'))}" alt="" width=18 height=18>` : icon(this.attr('icon'));
    const inner = this.attr('icon-align') === 'right' ? `<slot></slot>${img}` : `${img}<slot></slot>`;
    const busy = this.hasAttribute('loading') ? ' aria-busy=true' : '';
    this.shadow(href != null
      ? `<a class="btn ${esc(v)}" part=button href="${esc(href)}" target="${esc(this.attr('target'))}">${inner}</a>`
      : `<button class="${esc(v)}" part=button${this.disabled ? ' disabled' : ''}${busy}>${inner}</button>`,
    ':host{display:inline-block}[aria-busy]{cursor:progress;opacity:.7}.icon{border:0;background:none;padding:.2em}');
  }
});
