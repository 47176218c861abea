"""Worker portal benchmark: how long from pressing Enter to the next task on screen (headless Chromium, loopback),
and how many bytes of JavaScript and CSS the labeling page loads. Prints figures and ratios to the targets
(next task within 100 ms; under 150 KB of JS + CSS uncompressed)."""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def setup(tmp: Path, n: int, task_type: str):
    from labelloop.db.migrate import upgrade
    from labelloop.services import jobs, users
    from labelloop.services.context import build_context
    from labelloop.settings import Settings

    ctx = build_context(Settings(database_url=f"sqlite:///{tmp / 'bench.db'}", data_dir=tmp, run_background=False))
    upgrade(ctx.engine)
    admin = users.create_user(ctx, "admin", "admin-password", "admin")
    users.create_user(ctx, "w1", "worker-password", "worker")
    users.create_team(ctx, admin, "crew")
    users.add_members(ctx, admin, "crew", ["w1"])
    if task_type == "image-classification":
        from PIL import Image
        from sklearn.datasets import load_digits

        digits = load_digits()
        lines = []
        for i in range(n):
            path = tmp / f"d{i}.png"
            Image.fromarray((255 - digits.images[i] * 15).astype("uint8")).resize((256, 256)).save(path)
            lines.append(json.dumps({"source-ref": path.as_uri()}))
    else:
        lines = [json.dumps({"source": f"Review number {i}: a fine film, if a little long."}) for i in range(n)]
    (tmp / "in.manifest").write_text("\n".join(lines) + "\n")
    (tmp / "labels.json").write_text(json.dumps({"labels": [{"label": x} for x in ["zero", "one", "two"]]}))
    jobs.create_job(ctx, admin, jobs.JobSpec(
        name="bench", task_type=task_type, label_attribute_name="label", input_manifest_uri=str(tmp / "in.manifest"),
        label_config_uri=str(tmp / "labels.json"), team="crew", workers_per_object=1, output_uri=str(tmp / "out")))
    return ctx


def run(task_type: str, n: int) -> dict:
    from playwright.sync_api import sync_playwright

    from labelloop.web.app import create_app

    with tempfile.TemporaryDirectory() as d:
        ctx = setup(Path(d), n + 1, task_type)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(ctx=ctx), host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page()
            sizes: dict[str, int] = {}
            page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())) if r.url.endswith((".js", ".css"))
                    else None)
            page.goto(base + "/portal/login")
            page.fill("input[name=username]", "w1")
            page.fill("input[name=password]", "worker-password")
            page.click("button[type=submit]")
            page.wait_for_url(base + "/portal")
            page.goto(base + "/portal/jobs/bench")
            page.wait_for_function("() => document.querySelector('#task').dataset.taskId")
            page.evaluate("""() => { window.__shown = []; document.addEventListener('portal-task-shown',
                () => window.__shown.push(performance.now())); }""")
            times = []
            for _ in range(n):
                before = page.evaluate("() => document.querySelector('#task').dataset.taskId")
                page.keyboard.press("2")
                t0 = page.evaluate("() => performance.now()")
                page.keyboard.press("Enter")
                page.wait_for_function("prev => document.querySelector('#task').dataset.taskId !== prev", arg=before)
                if task_type == "image-classification":
                    page.wait_for_function("() => [...document.querySelectorAll('crowd-image-classifier')].every("
                                           "e => e.shadowRoot?.querySelector('img')?.complete)")
                t1 = page.evaluate("() => performance.now()")
                times.append(t1 - t0)
            browser.close()
        server.should_exit = True
    return {"times_ms": times, "bytes": sizes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=40, help="tasks submitted per task type")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install chromium")
    for task_type in ("text-classification", "image-classification"):
        result = run(task_type, args.tasks)
        t = sorted(result["times_ms"])
        p50, p95 = statistics.median(t), t[int(len(t) * 0.95) - 1]
        total = sum(result["bytes"].values())
        print(f"{task_type}: {len(t)} tasks; Enter -> next task shown: p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
              f"max {t[-1]:.0f} ms (target 100 ms: p95 is {p95 / 100:.2f}x the target) "
              f"{'PASS' if p95 < 100 else 'FAIL'}")
        print(f"  JS + CSS loaded by the labeling page: {total / 1024:.1f} KB in {len(result['bytes'])} files "
              f"(target 150 KB: {total / 1024 / 150:.2f}x) {'PASS' if total < 150 * 1024 else 'FAIL'}")


if __name__ == "__main__":
    main()
