// The console's little script: confirmations for dangerous forms, the job page's live panels (polling a
// JSON endpoint every 2 s; the server renders the panels' HTML), the workers table loaded and re-sorted in
// place. Without it every page still works: forms post, links lead to full pages.
(function () {
  "use strict";

  // <form data-confirm="..."> asks before it is sent
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // the job page: live panels
  const live = document.querySelector("[data-live]");
  const said = document.querySelector("#live-status");
  if (live) {
    const interval = Number(live.dataset.interval || 2000);
    let timer = null;
    let running = false;
    async function poll() {
      if (running || document.hidden) return;
      running = true;
      try {
        const r = await fetch(live.dataset.live, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!r.ok) throw new Error(String(r.status));
        const data = await r.json();
        for (const [key, html] of Object.entries(data.panels || {})) {
          const el = document.getElementById("panel-" + key);
          if (el && el.innerHTML !== html) el.innerHTML = html;
        }
        if (live.dataset.answers !== undefined && live.dataset.answers !== String(data.answers)) {
          document.dispatchEvent(new CustomEvent("console:answers"));
        }
        live.dataset.answers = String(data.answers);
        live.dataset.labeled = String(data.labeled);
        live.dataset.status = data.status;
        if (said) said.textContent = "Updated " + new Date().toISOString().slice(11, 19) + " UTC.";
        if (!data.stoppable) {
          const stop = document.getElementById("stop-form");
          if (stop) stop.remove();
        }
      } catch (err) {
        if (said) said.textContent = "Live updates paused (" + err.message + "); retrying.";
      } finally {
        running = false;
      }
    }
    timer = setInterval(poll, interval);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
    window.addEventListener("pagehide", function () { clearInterval(timer); });
  }

  // the workers table: loaded into the job page, sorted on the server, links kept for no-script use
  const workers = document.querySelector("#workers-table[data-src]");
  if (workers) {
    async function load(sort) {
      const url = new URL(workers.dataset.src, location.href);
      if (sort) url.searchParams.set("sort", sort);
      const r = await fetch(url, { credentials: "same-origin" });
      if (!r.ok) return;
      workers.innerHTML = await r.text();
      workers.dataset.loaded = sort || "worker";
    }
    // new answers: the figures change; reloaded at most every 10 s (the table reads every answer of the job)
    let sorted = "";
    let last = 0;
    let pending = null;
    document.addEventListener("console:answers", function () {
      if (pending) return;
      const wait = Math.max(0, last + 10000 - Date.now());
      pending = setTimeout(function () { pending = null; last = Date.now(); load(sorted); }, wait);
    });
    workers.addEventListener("click", function (event) {
      const a = event.target.closest("a[data-sort]");
      if (!a) return;
      event.preventDefault();
      sorted = a.dataset.sort;
      load(sorted).then(function () {
        const again = workers.querySelector('a[data-sort]');
        const th = workers.querySelector("th[aria-sort] a");
        (th || again || workers).focus();
      });
    });
    last = Date.now();
    load("");
  }
})();
