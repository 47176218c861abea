"""docs/deployment.md, here on one machine: two ``labelloop serve`` on one PostgreSQL behind nginx. Workers label
through the proxy while one instance is killed; every answer a worker got acknowledged is stored and the job
completes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from labelloop import sim
from labelloop.db.models import Task
from labelloop.services import jobs
from labelloop.services.context import utc_now
from tests.conftest import skip_unless_required
from tests.servers import answers_http, free_ports, labelloop_serve
from tests.test_concurrency import N, _check_invariants, _setup
from tests.waiting import GUARD_S, wait_until

NGINX_CONF = """\
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {tmp}/nginx-access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream labelloop {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://labelloop;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 2s;
            proxy_next_upstream error timeout http_502;
            proxy_next_upstream_tries 2;
        }}
    }}
}}
"""


def _nginx() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        skip_unless_required("nginx is not installed (apt-get install nginx-light)")
    assert found is not None
    return found


@contextlib.contextmanager
def nginx_proxy(tmp_path: Path, upstream_ports: list[int]) -> Iterator[str]:
    """nginx in front of the upstreams, in a process group of its own, all its files in ``tmp_path``; yields its
    URL once it answers HTTP."""
    binary = _nginx()
    port = free_ports(1)[0]
    tmp = tmp_path / "nginx"
    tmp.mkdir()
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in upstream_ports)
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, servers=servers, port=port))
    proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(tmp), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "stderr.log", "wb"),  # noqa: SIM115
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {proc.returncode}: {(tmp / 'stderr.log').read_text()}"
                                   f"{(tmp / 'nginx-error.log').read_text() if (tmp / 'nginx-error.log').exists() else ''}")
            return answers_http(url + "/api/v1/me")

        wait_until(ready, message="nginx never answered HTTP")
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(GUARD_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _submitted(ctx) -> int:
    with ctx.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Task).where(Task.status == "submitted")).scalar_one()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_servers_behind_nginx_survive_one_killed(ctx, clock, tmp_path, people, database_url):
    clock.now = utc_now()  # the servers run on the real clock
    _nginx()
    n_objects, n_workers = 60, 12
    names = _setup(ctx, tmp_path, people, n_objects, n_workers)
    ports = free_ports(2)
    stats = sim.Stats()
    with (labelloop_serve(database_url, tmp_path, background=True, port=ports[0]) as keeper,
          labelloop_serve(database_url, tmp_path, background=True, port=ports[1]) as victim,
          nginx_proxy(tmp_path, ports) as proxy):
        tokens = [sim.sign_in(proxy, name, "worker-password") for name in names]
        outcome: list[BaseException] = []

        def label() -> None:
            try:
                sim.run_workers(proxy, "busy", [], sim.Oracle(accuracy=1.0), tokens=tokens, stats=stats)
            except BaseException as exc:  # pragma: no cover - reported below
                outcome.append(exc)

        workers = threading.Thread(target=label, daemon=True)
        workers.start()
        # part-way: some answers are in, most are not
        wait_until(lambda: stats.submitted >= n_objects * N // 4 or not workers.is_alive(),
                   message="the workers never got a quarter of the answers in")
        assert workers.is_alive(), "the workers finished before the kill"
        os.killpg(victim.proc.pid, signal.SIGKILL)
        victim.proc.wait(GUARD_S)
        workers.join(GUARD_S)
        assert not workers.is_alive(), "the workers hung"
        assert outcome == []
        assert stats.errors == 0
        # every answer the workers were told is stored is stored, and no object got more than N
        assert stats.submitted == _submitted(ctx) == n_objects * N, "an acknowledged answer was lost"
        _check_invariants(ctx, n_objects)
        wait_until(lambda: jobs.describe_job(ctx, people["req"], "busy").status == "Completed",
                   message="job 'busy' never completed after one server was killed")
        counters = jobs.describe_job(ctx, people["req"], "busy").label_counters
        assert counters.total_labeled == n_objects
        assert keeper.proc.poll() is None
