"""Servers that tests start: ``labelloop serve`` in a process group of its own, awaited on a readiness signal
(it answers HTTP) and stopped as a whole group, whatever the test did."""

from __future__ import annotations

import contextlib
import http.server
import os
import random
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


#: ports for servers a test starts in another process (it can only be given a number): below Linux's ephemeral
#: range (32768-60999), where no client connection ever takes one, and a block of its own per pytest-xdist
#: process, so two test processes never pick the same port
_PORT_BLOCK = 3000
_PORT_BASE = 20000


def _port_block() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    n = int(worker[2:]) if worker[2:].isdigit() else 0
    lo = _PORT_BASE + (n % 4) * _PORT_BLOCK
    return range(lo, lo + _PORT_BLOCK)


_next_port = [random.randrange(_PORT_BLOCK)]


def free_ports(n: int = 1) -> list[int]:
    """``n`` distinct free loopback ports from this process's block, taken in turn (so never the same twice
    in a row), each checked free by binding it."""
    block, found = _port_block(), []
    for _ in range(len(block)):
        port = block[_next_port[0] % len(block)]
        _next_port[0] += 1
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == n:
            return found
    raise RuntimeError(f"no {n} free ports in {block}")


def free_port() -> int:
    return free_ports(1)[0]


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler for the small loopback sites tests start: no access log, and ``reply`` for a body."""

    def reply(self, body: bytes, content_type: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def serve_http(handler: type[http.server.BaseHTTPRequestHandler],
               host: str = "127.0.0.1") -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serves ``handler`` on a free loopback port in a daemon thread: (the server, its base URL named by ``host``,
    which may be ``localhost`` to give the site an origin of its own)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"


def static_site(directory: Path, pages: dict[str, tuple[str, bytes]]) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serves the files of ``directory`` and, at the paths of ``pages`` (which the caller may add to while it
    serves), their (content type, body): the loopback sites of the browser tests of crowd elements."""

    class Handler(QuietHandler, http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw) -> None:
            super().__init__(*a, directory=str(directory), **kw)

        def do_GET(self) -> None:  # noqa: N802
            if self.path not in pages:
                return super().do_GET()
            content_type, body = pages[self.path]
            self.reply(body, content_type)

    return serve_http(Handler)


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
