"""Recovery time after the background process is killed: SIGKILL ``serve``'s background process while a job has
answers in, and measure the seconds until the job's ready objects are consolidated by the process the
supervisor starts in its place (restart back-off 1 s, then the dead process's claim, at most CLAIM_S = 15 s).
Reads the consolidation lag from /metrics. A benchmark, not a test (Linux only):

    .venv/bin/python bench/recovery.py
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from signin_memory import GUARD_S, _free_port


def _kids(pid: int) -> list[int]:
    kids = [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [k for k in kids if b"resource_tracker" not in Path(f"/proc/{k}/cmdline").read_bytes()]


def _wait(predicate, what: str):
    guard = time.monotonic() + GUARD_S
    while not (value := predicate()):
        if time.monotonic() > guard:
            raise RuntimeError(what)
        time.sleep(0.05)
    return value


def main() -> None:
    from labelloop.db.migrate import upgrade
    from labelloop.services import jobs, tasks, users
    from labelloop.services.context import build_context
    from labelloop.settings import Settings

    with tempfile.TemporaryDirectory(prefix="labelloop-recovery-") as tmp:
        t = Path(tmp)
        url = f"sqlite:///{t / 'r.db'}"
        ctx = build_context(Settings(database_url=url, data_dir=t / "data", storage_allow=[str(t)]))
        upgrade(ctx.engine)
        users.create_user(ctx, "admin", "admin-password", "admin")
        users.create_user(ctx, "req", "req-password", "requester")
        users.create_user(ctx, "w", "worker-password", "worker")
        admin = users.check_password(ctx, "admin", "admin-password")
        users.create_team(ctx, admin, "crew")
        users.add_members(ctx, admin, "crew", ["w"])
        (t / "in.manifest").write_text("".join(f'{{"source": "text {i}"}}\n' for i in range(50)))
        (t / "labels.json").write_text('{"labels": [{"label": "a"}, {"label": "b"}]}')
        jobs.create_job(ctx, users.check_password(ctx, "req", "req-password"), jobs.JobSpec(
            name="r", task_type="text-classification", label_attribute_name="ab",
            input_manifest_uri=str(t / "in.manifest"), label_config_uri=str(t / "labels.json"),
            output_uri=str(t / "out"), team="crew", workers_per_object=1))
        port = _free_port()
        env = {**os.environ, "LABELLOOP_DATABASE_URL": url, "LABELLOOP_DATA_DIR": str(t / "data"),
               "LABELLOOP_STORAGE_ALLOW": str(t)}
        proc = subprocess.Popen([sys.executable, "-m", "labelloop.cli.main", "serve", "--host", "127.0.0.1",
                                 "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            def lag() -> float | None:
                try:
                    text = httpx.get(base + "/metrics", timeout=30).text
                except httpx.HTTPError:
                    return None
                m = re.search(r'labelloop_consolidation_lag_objects\{job="r"\} (\S+)', text)
                return float(m.group(1)) if m else None

            _wait(lambda: lag() is not None and len(_kids(proc.pid)) == 2, "serve never started")
            w = users.check_password(ctx, "w", "worker-password")
            _wait(lambda: jobs.describe_job(ctx, admin, "r").status == "InProgress", "the job never started")
            old = _kids(proc.pid)[1]
            os.kill(old, signal.SIGKILL)
            killed = time.monotonic()
            while (task := ctx.write(tasks.claim_next_task(ctx, w, "r"))) is not None:
                ctx.write(tasks.submit_annotation(ctx, w, task.task_id, {"label": "a"}))
            answered = time.monotonic() - killed
            _wait(lambda: lag() == 0.0 or jobs.describe_job(ctx, admin, "r").status == "Completed",
                  "the ready objects were never consolidated")  # a completed job leaves the lag metric
            took = time.monotonic() - killed
            print(f"background process SIGKILLed; 50 answers in after {answered:.2f} s; all consolidated by its "
                  f"replacement {took:.2f} s after the kill (back-off 1 s + claim takeover <= 15 s)")
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(GUARD_S)
            ctx.close()


if __name__ == "__main__":
    main()
