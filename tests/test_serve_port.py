"""`labelloop serve` and `labelloop demo` on a port something else holds: a clear error and exit status 1, never a
second server that shares the port (``SO_REUSEPORT``) or URLs printed for someone else's server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import answers_http, free_port, labelloop_serve
from tests.waiting import GUARD_S


def _run(args: list[str], tmp_path: Path, database_url: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "LABELLOOP_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    if database_url:
        env["LABELLOOP_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "labelloop.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=GUARD_S, cwd=tmp_path)


def _listening(port: int, *, reuseport: bool) -> socket.socket:
    sock = socket.socket()
    if reuseport and hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


@pytest.mark.parametrize("reuseport", [False, True], ids=["plain", "reuseport"])
def test_serve_on_a_port_another_program_holds_exits_1(tmp_path, reuseport):
    port = free_port()
    with _listening(port, reuseport=reuseport):
        done = _run(["serve", "--port", str(port), "--no-background"], tmp_path, f"sqlite:///{tmp_path / 'a.db'}")
    assert done.returncode == 1, done.stderr
    assert f"port {port} on 127.0.0.1 is in use by another program; choose --port" in " ".join(done.stderr.split())
    assert "serving on" not in done.stdout


def test_a_second_serve_on_the_same_port_exits_1_and_the_first_keeps_serving(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    with labelloop_serve(f"sqlite:///{tmp_path / 'one' / 'a.db'}", tmp_path / "one") as first:
        done = _run(["serve", "--port", str(first.port)], tmp_path / "two", f"sqlite:///{tmp_path / 'two' / 'b.db'}")
        assert done.returncode == 1, done.stderr
        message = " ".join(done.stderr.split())
        assert f"port {first.port} on 127.0.0.1 is in use by another labelloop server" in message
        assert "choose --port" in message and "serving on" not in done.stdout
        assert answers_http(first.url + "/api/v1/me") and first.proc.poll() is None


def test_serve_with_several_processes_still_shares_its_own_port(tmp_path):
    with labelloop_serve(f"sqlite:///{tmp_path / 'a.db'}", tmp_path, workers=2, background=False) as server:
        assert answers_http(server.url + "/api/v1/me")
    # and the port is free again once it stopped
    with _listening(server.port, reuseport=False):
        pass


def test_demo_on_a_busy_port_exits_1_before_printing_its_urls(tmp_path):
    port = free_port()
    with _listening(port, reuseport=False):
        done = _run(["demo", "--data-dir", str(tmp_path / "demo"), "--port", str(port)], tmp_path)
    assert done.returncode == 1, done.stderr
    assert f"port {port} on 127.0.0.1 is in use by another program; choose --port" in " ".join(done.stderr.split())
    assert "Worker portal" not in done.stdout and "/portal" not in done.stdout
