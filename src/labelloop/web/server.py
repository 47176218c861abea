"""Serve the app from several processes on one port (``labelloop serve --workers N``).

Each process binds its own listening socket with ``SO_REUSEPORT`` and the kernel spreads new connections
evenly over them. (One shared socket, as uvicorn's ``--workers`` has, lets whichever process wakes first
accept most connections, and it is bound with protocol 0, so asyncio never sets TCP_NODELAY and every
response waits ~40 ms for a delayed ACK.) The processes share nothing but the database: SQLite orders their
writes (see ``labelloop.db.engine.WriteLock``), PostgreSQL its own way.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import signal
import socket
import sys

from labelloop.settings import Settings

log = logging.getLogger("labelloop")


def _listen_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(settings: Settings) -> None:  # pragma: no cover - runs in a child process
    import uvicorn

    from labelloop.web.app import create_app

    sock = _listen_socket(settings.host, settings.port)
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port, log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


def serve_processes(settings: Settings, workers: int) -> None:
    """Run ``workers`` server processes until SIGINT/SIGTERM, or until one of them exits (then stop all)."""
    if not hasattr(socket, "SO_REUSEPORT"):
        sys.exit("--workers needs SO_REUSEPORT (Linux, BSD, macOS)")
    spawn = multiprocessing.get_context("spawn")
    procs = [spawn.Process(target=_worker, args=(settings,), name=f"labelloop-{i}") for i in range(workers)]
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
    failed = [p for p in procs if p.exitcode not in (0, -signal.SIGTERM)]
    if failed and not stopping:
        log.error("server process %s exited with %s; stopped the others", failed[0].name, failed[0].exitcode)
        sys.exit(1)
