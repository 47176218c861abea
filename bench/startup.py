"""Start-up time of ``labelloop serve``: from launching the command until the server answers HTTP.

For ``--workers 1`` and ``--workers 3`` (each with its background process), on a fresh SQLite database in a
temporary directory each time, the median of 3 launches. A benchmark, not a test:

    .venv/bin/python bench/startup.py [--runs 3] [--workers 1 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

GUARD_S = 300  # only against a server that never answers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_to_first_answer(workers: int) -> float:
    """Seconds from launching ``labelloop serve --workers N`` until GET /api/v1/me gets any HTTP response."""
    with tempfile.TemporaryDirectory(prefix="labelloop-startup-") as tmp:
        port = _free_port()
        env = {**os.environ, "LABELLOOP_DATABASE_URL": f"sqlite:///{Path(tmp) / 'startup.db'}",
               "LABELLOOP_DATA_DIR": str(Path(tmp) / "data")}
        args = [sys.executable, "-m", "labelloop.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers)]
        url = f"http://127.0.0.1:{port}/api/v1/me"
        with open(Path(tmp) / "server.log", "wb") as log:
            t0 = time.perf_counter()
            proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        try:
            while True:
                try:
                    httpx.get(url, timeout=5)
                    return time.perf_counter() - t0
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None:
                    raise RuntimeError(f"serve exited with {proc.returncode}:\n{(Path(tmp) / 'server.log').read_text()}")
                if time.perf_counter() - t0 > GUARD_S:
                    raise RuntimeError(f"serve did not answer within {GUARD_S} s")
                time.sleep(0.005)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(60)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3])
    args = parser.parse_args()
    print(f"labelloop serve start-up: launch -> first HTTP answer, SQLite in a temp dir, {os.cpu_count()} CPUs, "
          f"median of {args.runs}")
    for workers in args.workers:
        times = [time_to_first_answer(workers) for _ in range(args.runs)]
        print(f"  --workers {workers}: {statistics.median(times):.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
