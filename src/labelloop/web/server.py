"""``labelloop serve`` (and ``labelloop demo``): server processes and a background process, supervised.

- **Server processes** (``--workers N``) each run the app under uvicorn. Each binds its own listening socket
  with ``SO_REUSEPORT`` and the kernel spreads new connections evenly over them. (One shared socket, as
  uvicorn's ``--workers`` has, lets whichever process wakes first accept most connections, and it is bound
  with protocol 0, so asyncio never sets TCP_NODELAY and every response waits ~40 ms for a delayed ACK.)
- **One background process** (unless ``--no-background``) ends overdue leases, consolidates and writes
  output. It runs apart from the server processes so that fitting worker models and writing files never
  hold a server's interpreter lock while workers wait for their next task.

The processes share nothing but the database: SQLite orders their writes (``labelloop.db.engine.WriteLock``),
PostgreSQL its own way. If one of them exits, the others are stopped, so a supervisor (systemd, a container
runtime) sees the failure and restarts the whole server.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading

from labelloop.settings import Settings

log = logging.getLogger("labelloop")


def _listen_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _server(settings: Settings) -> None:  # pragma: no cover - runs in a child process
    import uvicorn

    from labelloop.web.app import create_app

    sock = _listen_socket(settings.host, settings.port)
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port, log_level="warning")
    # Ctrl-C reaches the whole process group; uvicorn has shut down already
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run(sockets=[sock])


def _background(settings: Settings, parent: int) -> None:  # pragma: no cover - runs in a child process
    from labelloop.services.background import run_background_once
    from labelloop.services.context import build_context

    stop = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):  # finish the pass in hand, then exit (Ctrl-C reaches the group)
        signal.signal(s, lambda _sig, _frame: stop.set())
    ctx = build_context(settings)
    owner = f"{socket.gethostname()[:40]}:{os.getpid()}"  # names this process's claims on jobs
    while not stop.is_set() and os.getppid() == parent:  # the supervisor is gone (killed): stop too
        try:
            run_background_once(ctx, owner=owner)
        except Exception:  # keep going; the next pass retries
            log.exception("background pass failed")
        stop.wait(settings.background_interval_s)


def serve(settings: Settings, workers: int = 1) -> None:
    """Run ``workers`` server processes and, if ``settings.run_background``, one background process, until
    SIGINT/SIGTERM or until one of them exits (then stop all and exit with status 1)."""
    if workers > 1 and not hasattr(socket, "SO_REUSEPORT"):
        sys.exit("--workers needs SO_REUSEPORT (Linux, BSD, macOS)")
    spawn = multiprocessing.get_context("spawn")
    procs = [spawn.Process(target=_server, args=(settings,), name=f"labelloop-server-{i}") for i in range(workers)]
    if settings.run_background:
        procs.append(spawn.Process(target=_background, args=(settings, os.getpid()), name="labelloop-background"))
    stopping = False

    def _stop(_sig, _frame):
        nonlocal stopping
        stopping = True

    old = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for p in procs:
            p.start()
        while not stopping and all(p.is_alive() for p in procs):
            multiprocessing.connection.wait([p.sentinel for p in procs], timeout=0.5)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
        for s, h in old.items():
            signal.signal(s, h)
    failed = [p for p in procs if p.exitcode not in (0, -signal.SIGTERM, -signal.SIGINT)]
    if failed and not stopping:
        log.error("%s exited with %s; stopped the others", failed[0].name, failed[0].exitcode)
        sys.exit(1)
