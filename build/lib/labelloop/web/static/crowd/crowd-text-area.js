// <crowd-text-area name label rows max-rows max-length char-counter placeholder value ...>.
// Answer: the text (newlines as \n). Ctrl+Enter submits the form.
import { define } from './_base.js';
import { Field } from './crowd-input.js';

define('crowd-text-area', class extends Field {
  static tag = 'textarea';
  render() {
    super.render();
    const f = this.$('textarea'), max = this.getAttribute('max-rows');
    f.style.resize = 'vertical';
    if (max) f.style.maxHeight = `${max * 1.45 + 1}em`;
  }
});
