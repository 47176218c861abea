"""Servers that tests start: ``labelloop serve`` in a process group of its own, awaited on a readiness signal
(it answers HTTP) and stopped as a whole group, whatever the test did."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.waiting import GUARD_S, wait_until

READY_PATH = "/api/v1/me"  # any HTTP response (401 without a token) means the server is taking requests


def free_ports(n: int = 1) -> list[int]:
    """``n`` distinct free loopback ports (held open together while they are chosen, so never the same twice)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


def free_port() -> int:
    return free_ports(1)[0]


def answers_http(url: str) -> bool:
    """Whether something answers HTTP at ``url`` (any status)."""
    try:
        httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return False
    return True


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self, tail: int = 5000) -> str:
        return self.log.read_text(errors="replace")[-tail:] if self.log.exists() else ""

    def wait_exit(self, timeout_s: float = GUARD_S) -> int:
        """The exit status of ``serve`` once it has exited by itself (``timeout_s`` only guards against a hang)."""
        return self.proc.wait(timeout_s)

    def stop(self, timeout_s: float = GUARD_S) -> int | None:
        """SIGTERM to the whole process group, wait for ``serve`` to exit, then SIGKILL whatever is left of the
        group. Returns serve's exit status (None if it had to be killed)."""
        code = self.proc.poll()
        if code is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                code = self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                code = None
        _signal_group(self.proc.pid, signal.SIGKILL)  # stragglers (or everything, if serve hung)
        if code is None:
            self.proc.wait()
        return code


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


@contextlib.contextmanager
def labelloop_serve(database_url: str, tmp_path: Path, *, background: bool = True, workers: int = 1,
                    port: int | None = None) -> Iterator[Server]:
    """Run ``labelloop serve`` until the block ends; yield once it answers HTTP. Its stderr goes to a log file
    in ``tmp_path``, printed if the block fails. The process group is gone when this returns."""
    port = port or free_port()
    # the same storage policy as the tests' ``ctx`` (tmp_path allowed), as an admin's setting would give it
    env = {**os.environ, "LABELLOOP_DATABASE_URL": database_url, "LABELLOOP_DATA_DIR": str(tmp_path / "data"),
           "LABELLOOP_STORAGE_ALLOW": str(tmp_path)}
    args = [sys.executable, "-m", "labelloop.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--background" if background else "--no-background"]
    log = tmp_path / f"server-{port}.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    server = Server(proc, port, log)
    try:
        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"labelloop serve exited with {proc.returncode} before answering")
            return answers_http(server.url + READY_PATH)

        wait_until(ready, message=f"labelloop serve on port {port} never answered HTTP")
        yield server
    except BaseException:
        print(f"--- server log {log} (exit {proc.poll()}):\n{server.log_text()}")
        raise
    finally:
        server.stop()


@contextlib.contextmanager
def uvicorn_thread(app, *, ready_path: str = READY_PATH) -> Iterator[str]:
    """Serve ``app`` (sharing the test's database and clock) from a thread on a free loopback port; yield its
    base URL once it answers HTTP; stop it when the block ends."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        def ready() -> bool:
            if not thread.is_alive():
                raise RuntimeError(f"uvicorn on port {port} stopped before answering")
            return answers_http(base + ready_path)

        wait_until(ready, message=f"uvicorn on port {port} never answered HTTP")
        yield base
    finally:
        server.should_exit = True
        thread.join(GUARD_S)


@contextlib.contextmanager
def moto_s3() -> Iterator[str]:
    """A moto S3 server on loopback (moto's own server, the real S3 wire protocol): its endpoint URL."""
    from moto import server as moto_server

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
