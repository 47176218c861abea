// The create-job wizard (templates/console/wizard.html): steps, label rows, and the live preview.
// Without this script the form still works: every step shows, and "Refresh preview" posts the form to the
// preview frame. With it:
// - one step shows at a time (the step list, Back and Next move between them; a form sent back with errors
//   opens at the first step with an error);
// - the instructions beside the preview follow the text areas as you type (as the worker portal shows
//   them), and the task frame is rendered again by the server shortly after labels, task type, template or
//   data change. An uploaded manifest is not sent for a preview: its first line is read here and sent alone.
// - the frame (sandboxed, an opaque origin) reports its height and the answer a worker would submit.
const form = document.getElementById('wizard');
const frame = document.getElementById('wizard-preview');
const refresh = document.getElementById('refresh-preview');
const status = document.getElementById('preview-status');
const fileInput = document.getElementById('manifest_file');
const previewLine = document.getElementById('preview_line');

// --- steps -------------------------------------------------------------------------------------------
const steps = [...form.querySelectorAll('section.step')];
const links = [...form.querySelectorAll('.steps a[data-step]')];
function show(n, focus) {
  steps.forEach((s) => { s.hidden = s.dataset.step !== String(n); });
  links.forEach((a) => {
    if (a.dataset.step === String(n)) a.setAttribute('aria-current', 'step'); else a.removeAttribute('aria-current');
  });
  if (focus) steps.find((s) => !s.hidden)?.querySelector('h2')?.focus();
}
steps.forEach((s) => s.querySelector('h2').setAttribute('tabindex', '-1'));
links.forEach((a) => a.addEventListener('click', (e) => { e.preventDefault(); show(a.dataset.step, true); }));
form.querySelectorAll('[data-go]').forEach((b) => b.addEventListener('click', () => show(b.dataset.go, true)));
show(form.dataset.firstStep || 1, false);
// a link of the error summary opens the step of its field
document.querySelectorAll('#error-summary a').forEach((a) => a.addEventListener('click', (e) => {
  const target = document.getElementById(a.getAttribute('href').slice(1));
  const step = target?.closest('section.step');
  if (step) { e.preventDefault(); show(step.dataset.step, false); target.focus(); }
}));
document.getElementById('error-summary')?.focus();
// Enter in a one-line field of an earlier step goes to the next step instead of creating the job
form.addEventListener('keydown', (e) => {
  if (e.key !== 'Enter' || e.target.tagName !== 'INPUT' || e.target.type === 'file') return;
  const step = e.target.closest('section.step');
  if (step && step.dataset.step !== String(steps.length)) { e.preventDefault(); show(Number(step.dataset.step) + 1, true); }
});

// --- data source ---------------------------------------------------------------------------------------
function showSource() {
  const source = form.querySelector('input[name=source]:checked')?.value || 'upload';
  form.querySelectorAll('[data-source]').forEach((el) => { el.hidden = el.dataset.source !== source; });
}
form.querySelectorAll('input[name=source]').forEach((r) => r.addEventListener('change', () => { showSource(); schedule(); }));
showSource();

// --- label rows ----------------------------------------------------------------------------------------
const rows = document.getElementById('label-rows');
document.getElementById('add-label').addEventListener('click', () => {
  const n = rows.rows.length;
  const tr = rows.rows[0].cloneNode(true);
  tr.querySelectorAll('input').forEach((i) => { i.value = ''; i.removeAttribute('id'); i.removeAttribute('aria-invalid'); });
  tr.querySelector('input[name=label]').setAttribute('aria-label', `Label ${n + 1}`);
  tr.querySelector('input[name=label_key]').setAttribute('aria-label', `Shortcut key of label ${n + 1}`);
  rows.appendChild(tr);
  tr.querySelector('input').focus();
});

// --- live preview -------------------------------------------------------------------------------------
const byId = (id) => document.getElementById(id);
function fullHtml() {
  // the same composition as wizard.compose_full_instruction on the server
  const parts = [byId('full_instruction').value.trim()];
  const good = byId('good_examples').value.trim(); const bad = byId('bad_examples').value.trim();
  if (good) parts.push(`<h3>Good examples</h3>\n<div class="examples good">${good}</div>`);
  if (bad) parts.push(`<h3>Bad examples</h3>\n<div class="examples bad">${bad}</div>`);
  return parts.filter(Boolean).join('\n');
}
function instructions() {
  const short = byId('short_instruction').value; const full = fullHtml();
  byId('preview-short').innerHTML = short; // the requester's own HTML, under the console's policy (no scripts)
  byId('preview-full').innerHTML = full;
  byId('preview-full-box').hidden = !full;
  byId('preview-instructions').hidden = !short && !full;
}
form.querySelectorAll('textarea[data-preview]').forEach((t) => t.addEventListener('input', () => { instructions(); schedule(); }));

let timer = 0;
function schedule() { clearTimeout(timer); timer = setTimeout(render, 450); }
function render() {
  const hasLine = previewLine.value !== '';
  if (hasLine) fileInput.disabled = true; // the first line stands for the file: the upload is not sent again
  status.textContent = 'Updating the preview…';
  try { form.requestSubmit(refresh); } finally { fileInput.disabled = false; }
}
refresh.addEventListener('click', () => { status.textContent = 'Updating the preview…'; });
frame.addEventListener('load', () => {
  if (frame.src === 'about:blank' && !frame.contentWindow?.length && status.textContent === '') return;
  status.textContent = 'The real task page with the manifest\'s first object. Try it: the answer shows here.';
});
fileInput.addEventListener('change', async () => {
  previewLine.value = '';
  const file = fileInput.files[0];
  if (file) {
    const head = await file.slice(0, 1 << 20).text();
    previewLine.value = head.split('\n').find((l) => l.trim()) || '';
  }
  schedule();
});
['task_type', 'manifest_uri', 'data_prefix', 'ui_template'].forEach((id) => byId(id).addEventListener('change', schedule));
rows.addEventListener('input', schedule);

window.addEventListener('message', (e) => {
  if (e.source !== frame.contentWindow || !e.data || typeof e.data.type !== 'string') return;
  if (e.data.type === 'resize' && Number.isFinite(e.data.height)) {
    frame.style.height = `${Math.min(Math.max(e.data.height, 200), 1600)}px`;
  } else if (e.data.type === 'submit') {
    status.textContent = `A worker's answer would be: ${JSON.stringify(e.data.answer)}`;
  } else if (e.data.type === 'invalid') {
    status.textContent = 'The task refused the answer: a worker sees why in the task.';
  }
});
render();
