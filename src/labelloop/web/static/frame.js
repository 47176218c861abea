// The task frame's side of the portal protocol (docs/hooks-and-templates.md, "The task frame").
// This page is the task's template, in an <iframe sandbox="allow-scripts allow-forms"> of the portal: an
// opaque origin that cannot read the portal's cookies, DOM or CSRF token, nor call the API as the worker.
// It talks to the portal only by these messages to window.parent:
//   {type: "submit", answer}   <crowd-form> submitted (the answer Ground Truth calls answerContent)
//   {type: "release"}          Shift+R: give the task back
//   {type: "help"}             ?: show the portal's list of shortcuts
//   {type: "resize", height}   the page's height in CSS pixels, so the portal sizes the frame to fit
//   {type: "invalid"}          <crowd-form> refused to submit and shows why (the portal clears its own message)
// and takes one message from it: {type: "key", key, shiftKey}, a key pressed while the portal had the focus.
// Ground Truth's <short-instructions> and <full-instructions>, wherever the template puts them, go to one
// instructions panel at the top of the page (crowd-instructions-panel.js), as in its worker UI.
import './crowd/index.js';
import { typing } from './crowd/_base.js';

if (document.querySelector('short-instructions, full-instructions')) {
  const panel = document.createElement('crowd-instructions-panel');
  document.body.prepend(panel);
  if (!panel.adopt()) panel.remove();
}

// the portal's origin: this document's own origin is opaque ("null"), its URL is the portal's
const portal = new URL(location.href).origin;
const post = (message) => parent.postMessage(message, portal);

document.addEventListener('crowd-submit', (e) => post({ type: 'submit', answer: e.detail.answer }));
document.addEventListener('crowd-invalid', () => post({ type: 'invalid' }));
document.addEventListener('keydown', (e) => {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
  if (e.key === 'R' && e.shiftKey) { e.preventDefault(); post({ type: 'release' }); }
  else if (e.key === '?' && !e.composedPath().some((n) => n.tagName === 'DIALOG')) post({ type: 'help' });
});

window.addEventListener('message', (e) => {
  const m = e.data;
  if (e.source !== parent || !m || m.type !== 'key' || typeof m.key !== 'string' || m.key.length > 12) return;
  const target = document.activeElement && document.activeElement !== document.body ? document.activeElement : document.body;
  target.dispatchEvent(new KeyboardEvent('keydown', { key: m.key, shiftKey: !!m.shiftKey, bubbles: true, composed: true,
    cancelable: true }));
});

let last = 0;
const resize = () => {
  const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
  if (height !== last) { last = height; post({ type: 'resize', height }); }
};
new ResizeObserver(resize).observe(document.documentElement);
resize();
document.dispatchEvent(new Event('all-crowd-elements-ready')); // as Ground Truth's crowd-html-elements.js does
