// <crowd-tab header="Title">content</crowd-tab>: one panel of a crowd-tabs.
import { Base, define } from './_base.js';

define('crowd-tab', class extends Base {
  render() { this.shadow('<div role=tabpanel part=panel><slot></slot></div>', ':host{display:block;padding:.8em 0}'); }
});
