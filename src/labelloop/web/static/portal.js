// The labeling page controller: the only code that talks to the API. Elements report with events.
const root = document.querySelector("#portal");
const job = root.dataset.job;
const csrf = root.dataset.csrf;
const box = document.querySelector("#task");
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
  status.textContent = text;
  status.className = `status ${kind}`;
}

function countdown() {
  clearInterval(ticker);
  const until = Date.parse(task.lease_expires_at);
  const tick = () => {
    const left = Math.max(0, Math.round((until - Date.now()) / 1000));
    lease.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left`;
    lease.classList.toggle("low", left < 30);
    if (left === 0) {
      clearInterval(ticker);
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
    box.replaceChildren();
    say("No more tasks in this job for you. Thank you!", "done");
    box.insertAdjacentHTML("beforeend", '<p><a class="button" href="/portal">Back to jobs</a></p>');
    return;
  }
  const r = await fetch(`/portal/tasks/${t.task_id}/render`, { credentials: "same-origin" });
  if (!r.ok) return next();
  const html = await r.text();
  // a contextual fragment runs the template's own scripts, as Ground Truth's task frame does
  box.replaceChildren(document.createRange().createContextualFragment(html));
  box.dataset.taskId = t.task_id;
  countdown();
  document.activeElement?.blur?.(); // keys go to the document, where the crowd elements listen
  document.dispatchEvent(new CustomEvent("portal-task-shown", { detail: { taskId: t.task_id } }));
}

async function next() {
  try {
    await show(await call(`/api/v1/worker/jobs/${encodeURIComponent(job)}/next-task`));
  } catch (e) {
    say(e.message, "error");
  }
}

document.addEventListener("crowd-submit", async (event) => {
  if (!task || busy) return;
  const current = task;
  busy = true;
  try {
    const done = await call(`/api/v1/worker/tasks/${current.task_id}/submit`, { answer: event.detail.answer, next: true });
    say("Submitted.", "ok");
    await show(done.next_task);
  } catch (e) {
    if (e.status === 400) return say(e.message, "error"); // fix the answer and submit again
    say(`${e.message}. Moving on.`, "warn");
    next();
  } finally {
    busy = false;
  }
});

async function release() {
  if (!task) return;
  try {
    await call(`/api/v1/worker/tasks/${task.task_id}/release`);
    say("Task released.", "ok");
  } catch (e) {
    say(e.message, "warn");
  }
  next();
}

document.querySelector("#release").addEventListener("click", release);
document.querySelector("#help").addEventListener("click", () => document.querySelector("#shortcuts").showModal());
document.addEventListener("keydown", (e) => {
  if (e.target.closest && e.target.closest("input, textarea, [contenteditable]")) return;
  if (e.key === "?") document.querySelector("#shortcuts").showModal();
  else if (e.key === "R" && e.shiftKey) release();
});

next();
