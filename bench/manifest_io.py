#!/usr/bin/env python
"""Manifest I/O at scale: import N-line manifests through services.jobs.create_job, write a 1M-object output manifest.

Each measurement runs in a fresh subprocess (SQLite in a temp dir), so its peak RSS is its own:

    .venv/bin/python bench/manifest_io.py                         # 100k and 1M import, 1M output
    .venv/bin/python bench/manifest_io.py --sizes 100000 --output-size 100000
    .venv/bin/python bench/manifest_io.py --profile               # + cProfile top functions per step

Targets: import of 1M lines <= 30 s in < 500 MB peak RSS; output manifest of 1M labeled objects <= 20 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMPORT_TARGET_S, IMPORT_TARGET_MB, OUTPUT_TARGET_S, TARGET_SIZE = 30.0, 500.0, 20.0, 1_000_000


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def write_manifest(path: Path, n: int) -> int:
    """Realistic lines: a source-ref plus a couple of pass-through keys (~110 bytes each)."""
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as f:
        for i in range(n):
            f.write(f'{{"source-ref": "s3://bench-bucket/images/2026/07/img-{i:08d}.jpg", '
                    f'"capture-id": "cap-{i:08d}", "camera": {i % 16}}}\n')
    return path.stat().st_size


def _context(tmp: Path):
    from argon2 import PasswordHasher

    from labelloop.db.migrate import upgrade
    from labelloop.services import users
    from labelloop.services.context import build_context
    from labelloop.settings import Settings

    users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # setup only
    # the manifests (s3://bench-bucket/... objects) and output are in the temp folder: the policy allows both
    ctx = build_context(Settings(database_url=f"sqlite:///{tmp / 'bench.db'}", data_dir=tmp / "data",
                                 run_background=False, storage_allow=[str(tmp), "s3://bench-bucket"]))
    upgrade(ctx.engine)
    admin = users.create_user(ctx, "bench-admin", "bench-admin-pw", "admin", actor="bench")
    users.create_team(ctx, admin, "bench")
    (tmp / "labels.json").write_text(json.dumps(
        {"document-version": "2018-11-28", "labels": [{"label": x} for x in ("cat", "dog", "bird")]}))
    return ctx, admin


def _spec(tmp: Path, name: str, manifest: Path):
    from labelloop.services.jobs import JobSpec

    return JobSpec(name=name, task_type="image-classification", label_attribute_name="animal",
                   input_manifest_uri=str(manifest), label_config_uri=str(tmp / "labels.json"),
                   output_uri=str(tmp / "out"), team="bench", workers_per_object=3)


def _profiled(fn, enabled: bool):
    if not enabled:
        return fn(), None
    import cProfile
    import io
    import pstats

    pr = cProfile.Profile()
    result = pr.runcall(fn)
    buf = io.StringIO()
    pstats.Stats(pr, stream=buf).sort_stats("tottime").print_stats(15)
    return result, buf.getvalue()


def child_import(n: int, tmp: Path, profile: bool) -> dict:
    from labelloop.services import jobs

    ctx, admin = _context(tmp)
    manifest = tmp / f"in-{n}.manifest"
    size = write_manifest(manifest, n)
    base_rss = rss_mb()
    t = time.perf_counter()
    job, prof = _profiled(lambda: jobs.create_job(ctx, admin, _spec(tmp, f"import-{n}", manifest)), profile)
    wall = time.perf_counter() - t
    assert job.object_count == n, job.object_count
    return {"n": n, "bytes": size, "wall_s": wall, "peak_mb": peak_mb(), "base_mb": base_rss,
            "delta_mb": peak_mb() - base_rss, "db_mb": _db_mb(tmp),
            "profile": prof}


def child_output_setup(n: int, tmp: Path, profile: bool) -> dict:
    """Not timed as the step: a job of n objects, then one bulk UPDATE labels them all."""
    from datetime import UTC, datetime

    from sqlalchemy import select, update

    from labelloop.db.engine import transaction
    from labelloop.db.models import DataObject, Job
    from labelloop.services import jobs

    ctx, admin = _context(tmp)
    manifest = tmp / f"in-{n}.manifest"
    write_manifest(manifest, n)
    t = time.perf_counter()
    jobs.create_job(ctx, admin, _spec(tmp, "output-bench", manifest))
    setup_import = time.perf_counter() - t
    now = datetime.now(UTC).replace(tzinfo=None)
    metadata = {"class-name": "dog", "confidence": 0.93, "type": "groundtruth/image-classification",
                "job-name": "labeling-job/output-bench", "human-annotated": "yes",
                "creation-date": now.strftime("%Y-%m-%dT%H:%M:%S.%f")}
    t = time.perf_counter()
    with transaction(ctx.engine) as conn:
        job_id = conn.execute(select(Job.id).where(Job.name == "output-bench")).scalar_one()
        done = conn.execute(update(DataObject).where(DataObject.job_id == job_id).values(
            status="labeled", label="1", label_metadata=json.dumps(metadata), labeled_at=now)).rowcount
    assert done == n, done
    manifest.unlink()
    return {"setup_import_s": setup_import, "setup_label_s": time.perf_counter() - t}


def child_output(n: int, tmp: Path, profile: bool) -> dict:
    """The step: services.output.write_manifests of the labeled job, in a process of its own."""
    from sqlalchemy import select

    from labelloop.db.models import Job
    from labelloop.services.context import build_context
    from labelloop.services.output import write_manifests
    from labelloop.settings import Settings

    # the manifests (s3://bench-bucket/... objects) and output are in the temp folder: the policy allows both
    ctx = build_context(Settings(database_url=f"sqlite:///{tmp / 'bench.db'}", data_dir=tmp / "data",
                                 run_background=False, storage_allow=[str(tmp), "s3://bench-bucket"]))
    with ctx.engine.connect() as conn:
        job = conn.execute(select(Job.__table__).where(Job.name == "output-bench")).one()
    base_rss = rss_mb()
    t = time.perf_counter()

    def run():
        with ctx.engine.connect() as conn:
            return write_manifests(ctx, conn, job)

    lines, prof = _profiled(run, profile)
    wall = time.perf_counter() - t
    assert lines == n, lines
    out = tmp / "out" / "output-bench" / "manifests" / "output" / "output.manifest"
    with open(out, encoding="utf-8") as f:
        first = json.loads(f.readline())
    assert first["animal"] == 1 and first["animal-metadata"]["class-name"] == "dog", first
    return {"n": n, "bytes": out.stat().st_size, "wall_s": wall, "peak_mb": peak_mb(), "base_mb": base_rss,
            "delta_mb": peak_mb() - base_rss, "profile": prof}


def _db_mb(tmp: Path) -> float:
    return sum(p.stat().st_size for p in tmp.glob("bench.db*")) / 2**20


def _child(kind: str, n: int, tmp: Path, profile: bool) -> dict:
    args = [sys.executable, __file__, "--child", kind, "--size", str(n), "--tmp", str(tmp)]
    if profile:
        args.append("--profile")
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} {n} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_child(kind: str, n: int, profile: bool) -> dict:
    """One measurement in fresh process(es) and a fresh temp dir; the output step's setup has a process of its own."""
    tmp = Path(tempfile.mkdtemp(prefix=f"labelloop-bench-manifest-{kind}-"))
    try:
        if kind == "import":
            return _child("import", n, tmp, profile)
        setup = _child("output-setup", n, tmp, False)
        return {**_child("output", n, tmp, profile), **setup}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="import sizes in lines (default 100000,1000000)")
    ap.add_argument("--output-size", type=int, default=None, help="objects of the output job (default: largest size)")
    ap.add_argument("--profile", action="store_true", help="cProfile each step (slower; printed after the figures)")
    ap.add_argument("--child", choices=("import", "output-setup", "output"), help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fn = {"import": child_import, "output-setup": child_output_setup, "output": child_output}[args.child]
        print(json.dumps(fn(args.size, args.tmp, args.profile)))
        return 0

    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    out_n = args.output_size or max(sizes)
    print(f"labelloop manifest I/O bench: SQLite in a temp dir, one subprocess per measurement, {os.cpu_count()} CPUs"
          + (" (cProfile on: times are inflated)" if args.profile else ""))
    ok = True
    profiles = []
    print(f"{'step':<22} {'lines':>10} {'MB file':>8} {'wall s':>8} {'lines/s':>9} {'peak RSS':>9} {'base RSS':>9} "
          f"{'delta':>8}  verdict")
    for n in sizes:
        r = run_child("import", n, args.profile)
        verdict = ""
        if n == TARGET_SIZE:
            good = r["wall_s"] <= IMPORT_TARGET_S and r["peak_mb"] < IMPORT_TARGET_MB
            ok &= good
            verdict = (f"{'PASS' if good else 'FAIL'} (<= {IMPORT_TARGET_S:g} s: {r['wall_s'] / IMPORT_TARGET_S:.2f}x "
                       f"of budget; < {IMPORT_TARGET_MB:g} MB: {r['peak_mb'] / IMPORT_TARGET_MB:.2f}x)")
        print(f"{'import (create_job)':<22} {n:>10,} {r['bytes'] / 2**20:>8.1f} {r['wall_s']:>8.2f} "
              f"{n / r['wall_s']:>9,.0f} {r['peak_mb']:>7.0f}MB {r['base_mb']:>7.0f}MB {r['delta_mb']:>6.0f}MB  {verdict}"
              f"  [db {r['db_mb']:.0f} MB]", flush=True)
        if r["profile"]:
            profiles.append((f"import {n:,}", r["profile"]))
    r = run_child("output", out_n, args.profile)
    verdict = ""
    if out_n == TARGET_SIZE:
        good = r["wall_s"] <= OUTPUT_TARGET_S
        ok &= good
        verdict = f"{'PASS' if good else 'FAIL'} (<= {OUTPUT_TARGET_S:g} s: {r['wall_s'] / OUTPUT_TARGET_S:.2f}x of budget)"
    print(f"{'output (write_manifests)':<22} {out_n:>10,} {r['bytes'] / 2**20:>8.1f} {r['wall_s']:>8.2f} "
          f"{out_n / r['wall_s']:>9,.0f} {r['peak_mb']:>7.0f}MB {r['base_mb']:>7.0f}MB {r['delta_mb']:>6.0f}MB  {verdict}")
    print(f"  (output setup, not timed: import {r['setup_import_s']:.1f} s, bulk UPDATE to labeled {r['setup_label_s']:.1f} s;"
          " write_manifests writes output.manifest and copies it to the intermediate manifest)")
    if r["profile"]:
        profiles.append((f"output {out_n:,}", r["profile"]))
    print("peak RSS = ru_maxrss of the step's own process (includes interpreter + imports = base RSS before the step);"
          " delta = peak - base.")
    if TARGET_SIZE not in sizes:
        print(f"import target: not measured (needs --sizes with {TARGET_SIZE})")
    if out_n != TARGET_SIZE:
        print(f"output target: not measured (needs --output-size {TARGET_SIZE})")
    print(f"overall: {'PASS' if ok else 'FAIL'}")
    for title, text in profiles:
        print(f"\n--- cProfile {title} (top 15 by own time)\n{text}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
