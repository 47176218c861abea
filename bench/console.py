#!/usr/bin/env python
"""Console page timings: every requester-console page of a real `labelloop serve` for a job of --objects
data objects (100,000 by default), each page's first request after a server restart (cold) and warm.

Setup (through the services, no server): an admin, a requester, a team of three workers, one image job of
--objects objects made from a manifest, --answered of them answered by the three workers (tasks claimed and
submitted through the same units the API runs), consolidated by one background pass. Then for each page:
start `labelloop serve --no-background`, time the first request (cold), then --warm more (median, p95),
stop the server. Prints the table and the ratio of each figure to the targets (300 ms warm, 1 s cold).

    .venv/bin/python bench/console.py                                   # SQLite in a temp dir
    .venv/bin/python bench/console.py --postgres postgresql+psycopg://root@127.0.0.1:5432/test
    .venv/bin/python bench/console.py --objects 1000000 --one-restart   # one restart for all pages
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

WARM_TARGET_MS, COLD_TARGET_MS = 300.0, 1000.0
JOB = "bench-console"
SESSION_COOKIE = "labelloop_session"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def setup(db_url: str, tmp: Path, n_objects: int, answered: int) -> dict[str, str]:
    """The data; returns the session tokens of the requester and the admin."""
    from argon2 import PasswordHasher

    from labelloop.db.migrate import upgrade
    from labelloop.services import jobs, tasks, users
    from labelloop.services.background import run_background_once
    from labelloop.services.context import build_context
    from labelloop.settings import Settings

    users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # a quick setup
    ctx = build_context(Settings(database_url=db_url, data_dir=tmp / "data", run_background=False,
                                 storage_allow=[str(tmp)], output_interval_s=0, consolidation_interval_s=0))
    upgrade(ctx.engine)
    admin = users.create_user(ctx, "admin", "admin-password", "admin", actor="bench")
    req = users.create_user(ctx, "req", "req-password", "requester", actor="bench")
    users.create_team(ctx, admin, "crew")
    workers = [users.create_user(ctx, f"w{i}", "worker-password", "worker", actor="bench") for i in (1, 2, 3)]
    users.add_members(ctx, admin, "crew", [w.username for w in workers])
    manifest = tmp / "bench.manifest"
    with open(manifest, "w") as f:
        for i in range(n_objects):
            f.write(json.dumps({"source-ref": f"{tmp}/images/{i:07d}.jpg", "camera": i % 4}) + "\n")
    t0 = time.perf_counter()
    jobs.create_job(ctx, req, jobs.JobSpec(
        name=JOB, task_type="image-classification", label_attribute_name="sign",
        input_manifest_uri=str(manifest), output_uri=str(tmp / "out"), team="crew", workers_per_object=3,
        price_per_task_usd=0.036, title="Which street sign is this?", short_instruction="<p>Pick the sign.</p>",
        label_config={"document-version": "2018-11-28",
                      "labels": [{"label": x} for x in ("stop", "parking", "exit", "slow")]}))
    print(f"job of {n_objects:,} objects created in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    labels = ("stop", "parking", "exit", "slow")
    for w, worker in enumerate(workers):
        task = ctx.write(tasks.claim_next_task(ctx, worker, JOB))
        for n in range(answered):
            if task is None:
                break
            label = labels[(task.dataset_object_id + (w == 2 and n % 5 == 0)) % 4]
            done = ctx.write(tasks.submit_annotation(ctx, worker, task.task_id,
                                                     {"crowd-image-classifier": {"label": label}},
                                                     lease_next=n + 1 < answered))
            task = done.next_task
    run_background_once(ctx, force_output=True)
    print(f"{answered:,} objects x 3 answers submitted and consolidated in {time.perf_counter() - t0:.1f} s")
    tokens = {"req": users.issue_token(ctx, req, kind="session", ttl_s=86400),
              "admin": users.issue_token(ctx, admin, kind="session", ttl_s=86400)}
    ctx.close()
    ctx.engine.dispose()
    return tokens


def pages() -> list[tuple[str, str]]:
    """(who, path) of every console page, console A's and B's."""
    j = f"/console/jobs/{JOB}"
    return [("req", "/console"), ("req", j), ("req", f"/console/api/jobs/{JOB}/live"),
            ("req", f"{j}/workers"), ("req", f"{j}/results"), ("req", f"{j}/results?below=0.9"),
            ("req", f"{j}/objects/0"), ("req", f"{j}/downloads"), ("req", "/console/create"),
            ("req", f"/console/create?clone={JOB}"), ("req", f"{j}/delete"), ("req", "/console/workforce"),
            ("req", "/console/workforce/workers/w1"), ("req", "/console/audit"),
            ("req", f"/console/audit?job={JOB}&kind=answer.submitted"), ("req", "/console/audit?worker=w3"),
            ("admin", "/console/admin")]


class Server:
    def __init__(self, db_url: str, tmp: Path):
        self.db_url, self.tmp, self.proc = db_url, tmp, None
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        import httpx

        env = {**os.environ, "LABELLOOP_DATABASE_URL": self.db_url, "LABELLOOP_DATA_DIR": str(self.tmp / "data"),
               "LABELLOOP_STORAGE_ALLOW": str(self.tmp)}
        log = open(self.tmp / "server.log", "ab")  # noqa: SIM115 (closed with the process)
        self.proc = subprocess.Popen([sys.executable, "-m", "labelloop.cli.main", "serve", "--host", "127.0.0.1",
                                      "--port", str(self.port), "--no-background"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=log)
        guard = time.monotonic() + 120
        while time.monotonic() < guard:
            try:
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError((self.tmp / "server.log").read_text()[-3000:])
            time.sleep(0.05)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
            self.proc = None


def time_page(client, path: str, warm: int) -> tuple[float, list[float], int]:
    t0 = time.perf_counter()
    r = client.get(path)
    cold = (time.perf_counter() - t0) * 1000
    if r.status_code != 200:
        raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")
    times = []
    for _ in range(warm):
        t0 = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
    return cold, times, len(r.content)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--answered", type=int, default=2_000, help="objects each of the three workers answers")
    ap.add_argument("--warm", type=int, default=20, help="warm requests per page")
    ap.add_argument("--postgres", help="a PostgreSQL URL (a throwaway schema is made in it)")
    ap.add_argument("--one-restart", action="store_true", help="restart the server once, not before each page")
    ap.add_argument("--only", default="", help="time only the pages whose path contains this")
    args = ap.parse_args()
    import httpx

    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmpdir:
        tmp = Path(tmpdir)
        schema = None
        if args.postgres:
            from sqlalchemy import create_engine, text

            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in args.postgres else "?"
            db_url = f"{args.postgres}{sep}options=-csearch_path%3D{schema}"
        else:
            db_url = f"sqlite:///{tmp / 'bench.db'}"
        try:
            tokens = setup(db_url, tmp, args.objects, args.answered)
            server = Server(db_url, tmp)
            rows = []
            if args.one_restart:
                server.start()
            for who, path in [(w, p) for w, p in pages() if args.only in p]:
                if not args.one_restart:
                    server.start()
                with httpx.Client(base_url=server.base, cookies={SESSION_COOKIE: tokens[who]}, timeout=120) as c:
                    cold, warm, size = time_page(c, path, args.warm)
                rows.append((path, cold, statistics.median(warm), pct(warm, 95), size))
                if not args.one_restart:
                    server.stop()
            server.stop()
        finally:
            if schema is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\n{engine}, a job of {args.objects:,} objects, {args.answered * 3:,} answers; "
          f"cold = first request after {'one' if args.one_restart else 'a'} server restart; warm over {args.warm}")
    print(f"{'page':58} {'cold ms':>8} {'warm med':>9} {'warm p95':>9} {'KB':>6}  {'p95/300':>7} {'cold/1000':>9}")
    for path, cold, med, p95, size in rows:
        print(f"{path[:58]:58} {cold:8.1f} {med:9.1f} {p95:9.1f} {size / 1024:6.1f}  {p95 / WARM_TARGET_MS:7.2f} "
              f"{cold / COLD_TARGET_MS:9.2f}")
    worst_warm = max(r[3] for r in rows)
    worst_cold = max(r[1] for r in rows)
    print(f"\nworst warm p95 {worst_warm:.1f} ms ({worst_warm / WARM_TARGET_MS:.2f} of the 300 ms target); "
          f"worst cold {worst_cold:.1f} ms ({worst_cold / COLD_TARGET_MS:.2f} of the 1 s target)")


if __name__ == "__main__":
    main()
