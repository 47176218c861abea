"""Peak memory of a server process during a burst of 16 parallel sign-ins (argon2 at 64 MiB per hash).

Starts ``labelloop serve --no-background`` on a fresh SQLite database, sends 16 POST /api/v1/auth/token at
once (real argon2 cost) and reads the server process's VmHWM (peak RSS) from /proc, for
``password_hashes_in_flight`` 16 (as unbounded as the 8 request threads allow: the old behaviour) and 2 (the
default). A benchmark, not a test (Linux only):

    .venv/bin/python bench/signin_memory.py
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

GUARD_S = 300
BURST = 16


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def _server_child(pid: int) -> int:
    kids = [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return next(k for k in kids if b"resource_tracker" not in Path(f"/proc/{k}/cmdline").read_bytes())


def peak_during_burst(in_flight: int) -> tuple[int, int, float]:
    """(VmRSS before the burst, VmHWM after it, in MiB; seconds the burst took)."""
    from labelloop.db.migrate import upgrade
    from labelloop.services.context import build_context
    from labelloop.services.users import create_user
    from labelloop.settings import Settings

    with tempfile.TemporaryDirectory(prefix="labelloop-signin-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'signin.db'}"
        ctx = build_context(Settings(database_url=url, data_dir=Path(tmp) / "data"))
        upgrade(ctx.engine)
        for i in range(BURST):
            create_user(ctx, f"u{i}", "a-long-password", "worker")
        ctx.close()
        port = _free_port()
        env = {**os.environ, "LABELLOOP_DATABASE_URL": url, "LABELLOOP_DATA_DIR": str(Path(tmp) / "data"),
               "LABELLOOP_PASSWORD_HASHES_IN_FLIGHT": str(in_flight)}
        proc = subprocess.Popen([sys.executable, "-m", "labelloop.cli.main", "serve", "--host", "127.0.0.1",
                                 "--port", str(port), "--no-background"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            guard = time.monotonic() + GUARD_S
            while True:
                try:
                    httpx.get(base + "/healthz", timeout=5)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > guard or proc.poll() is not None:
                        raise RuntimeError("serve never answered") from None
                    time.sleep(0.05)
            child = _server_child(proc.pid)
            before = _kib(child, "VmRSS")

            def sign_in(i: int) -> int:
                return httpx.post(base + "/api/v1/auth/token", timeout=GUARD_S,
                                  json={"username": f"u{i}", "password": "a-long-password"}).status_code

            start = time.perf_counter()
            with ThreadPoolExecutor(BURST) as pool:
                codes = list(pool.map(sign_in, range(BURST)))
            took = time.perf_counter() - start
            assert codes == [200] * BURST, codes
            return before // 1024, _kib(child, "VmHWM") // 1024, took
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(GUARD_S)


def main() -> None:
    for in_flight in (16, 2):
        before, peak, took = peak_during_burst(in_flight)
        print(f"password_hashes_in_flight={in_flight:>2}: server RSS {before} MiB before, peak {peak} MiB "
              f"(+{peak - before} MiB) during {BURST} parallel sign-ins, {took:.2f} s")


if __name__ == "__main__":
    main()
