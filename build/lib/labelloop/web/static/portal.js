// The labeling page controller: the only code that talks to the API. The task itself is shown in a sandboxed
// <iframe> (an opaque origin: the template cannot reach this page, its cookies or the CSRF token) that talks
// to this page only by postMessage: {type: "submit", answer}, {type: "release"}, {type: "help"},
// {type: "resize", height}, {type: "invalid"}; see static/frame.js and docs/hooks-and-templates.md.
const root = document.querySelector("#portal");
const job = root.dataset.job;
const csrf = root.dataset.csrf;
const sandbox = root.dataset.sandbox || "allow-scripts allow-forms";
const box = document.querySelector("#task");
const shortcuts = document.querySelector("#shortcuts");
let frame = null; // the current task's <iframe>; a new one for every task, so an old frame's messages are ignored
let busy = false; // one submit at a time
const lease = document.querySelector("#lease");
const status = document.querySelector("#status");
let task = null;
let ticker = null;

async function call(path, body) {
  const r = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status === 204) return null;
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw Object.assign(new Error(data.message || r.statusText), { status: r.status });
  return data;
}

function say(text, kind = "") {
  delete status.dataset.ask;
  status.textContent = text;
  status.className = `status ${kind}`;
}

// The visible countdown changes every second and is not a live region; a screen reader hears it only at
// these thresholds (seconds left), from a visually hidden live region, and when the time runs out.
const THRESHOLDS = [60, 30, 10];
const announcer = document.querySelector("#lease-announce");

function countdown() {
  clearInterval(ticker);
  const until = Date.parse(task.lease_expires_at);
  const limit = task.task_time_limit_s || Math.round((until - Date.parse(task.leased_at)) / 1000) || 60;
  const low = Math.min(30, limit * 0.2); // red below 20% of the limit or 30 s, whichever is smaller
  let passed = Math.max(0, Math.round((until - Date.now()) / 1000)); // thresholds at or above the start are not said
  announcer.textContent = "";
  const tick = () => {
    const left = Math.max(0, Math.round((until - Date.now()) / 1000));
    lease.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left`;
    lease.classList.toggle("low", left < low);
    const crossed = THRESHOLDS.find((s) => left <= s && s < passed);
    if (crossed !== undefined && left > 0) {
      announcer.textContent = `${crossed} seconds left for this task.`;
      passed = crossed;
    }
    if (left === 0) {
      clearInterval(ticker);
      announcer.textContent = "The time for this task ran out.";
      say("The time for this task ran out; it went back to the pool. Here is the next one.", "warn");
      next();
    }
  };
  tick();
  ticker = setInterval(tick, 1000);
}

async function show(t) {
  task = t;
  if (!t) {
    clearInterval(ticker);
    lease.textContent = "";
    frame = null;
    box.replaceChildren();
    say("No more tasks in this job for you. Thank you!", "done");
    box.insertAdjacentHTML("beforeend", '<p><a class="button" href="/portal">Back to jobs</a></p>');
    return;
  }
  const f = document.createElement("iframe");
  f.setAttribute("sandbox", sandbox); // never allow-same-origin: the frame's origin stays opaque
  f.title = "Task";
  f.className = "task-frame";
  f.addEventListener("load", () => {
    if (frame !== f) return;
    box.dataset.taskId = t.task_id;
    f.focus(); // keys go to the frame, where the crowd elements listen
    document.dispatchEvent(new CustomEvent("portal-task-shown", { detail: { taskId: t.task_id } }));
  }, { once: true });
  f.src = `/portal/tasks/${t.task_id}/render`;
  disarm();
  frame = f;
  box.replaceChildren(f);
  countdown();
}

const plain = (o) => o !== null && typeof o === "object" && !Array.isArray(o);

window.addEventListener("message", (event) => {
  if (!frame || event.source !== frame.contentWindow) return; // only the current task's frame
  const m = event.data;
  if (!plain(m) || typeof m.type !== "string") return;
  if (m.type === "submit" && plain(m.answer)) submit(m.answer);
  else if (m.type === "release") release();
  else if (m.type === "help") help();
  else if (m.type === "invalid") say(""); // the frame shows its own message; no "Submitted." beside it
  else if (m.type === "resize" && Number.isFinite(m.height)) {
    frame.style.height = `${Math.round(Math.min(Math.max(m.height, 80), 20000))}px`;
  }
});

async function next() {
  try {
    await show(await call(`/api/v1/worker/jobs/${encodeURIComponent(job)}/next-task`));
  } catch (e) {
    say(e.message, "error");
  }
}

async function submit(answer) {
  if (!task || busy) return;
  const current = task;
  busy = true;
  try {
    const done = await call(`/api/v1/worker/tasks/${current.task_id}/submit`, { answer, next: true });
    say("Submitted.", "ok");
    await show(done.next_task);
  } catch (e) {
    if (e.status === 400) return say(e.message, "error"); // fix the answer and submit again
    say(`${e.message}. Moving on.`, "warn");
    next();
  } finally {
    busy = false;
  }
}

// Release is two-step (a released task cannot be leased back by the same worker, so there is no undo):
// the first press of Shift+R or click on Release asks, a second one within a few seconds releases.
const releaseButton = document.querySelector("#release");
let armed = null;
function disarm() {
  clearTimeout(armed);
  armed = null;
  releaseButton.classList.remove("armed");
  releaseButton.innerHTML = "Release <kbd>Shift+R</kbd>";
}

async function release() {
  if (!task) return;
  if (!armed) {
    armed = setTimeout(() => { disarm(); if (status.dataset.ask) say(""); }, 4000);
    releaseButton.classList.add("armed");
    releaseButton.innerHTML = "Confirm release <kbd>Shift+R</kbd>";
    say("Release this task to someone else? Press Shift+R or click “Confirm release” again.", "warn");
    status.dataset.ask = "1";
    return;
  }
  disarm();
  try {
    await call(`/api/v1/worker/tasks/${task.task_id}/release`);
    say("Task released.", "ok");
  } catch (e) {
    say(e.message, "warn");
  }
  next();
}

function help() {
  if (shortcuts.open) shortcuts.close(); // ? again closes the list, as Escape does
  else shortcuts.showModal();
}

const details = document.querySelector("#full-instructions");
document.querySelector("#open-instructions")?.addEventListener("click", () => {
  shortcuts.close();
  details.open = true;
  details.scrollIntoView({ block: "nearest" });
});
// a click on "Full instructions" unfolds them; the keys (Enter submits) go back to the task
details?.addEventListener("toggle", () => { if (frame) frame.focus(); });

releaseButton.addEventListener("click", release);
document.querySelector("#help").addEventListener("click", help);
shortcuts.addEventListener("close", () => frame?.focus());
// keys pressed while this page (not the frame) has the focus: ours, or passed on to the frame
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.target.closest && e.target.closest("dialog")) {
    if (e.key === "?") { e.preventDefault(); help(); }
    return;
  }
  if (e.target.closest && e.target.closest("input, textarea, select, [contenteditable]")) return;
  if (e.key === "?") help();
  else if (e.key === "R" && e.shiftKey) release();
  else if (frame && (e.key.length === 1 || e.key === "Enter")) {
    e.preventDefault();
    frame.contentWindow?.postMessage({ type: "key", key: e.key, shiftKey: e.shiftKey }, "*");
    frame.focus();
  }
});

next();
