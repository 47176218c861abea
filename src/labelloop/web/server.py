"""``labelloop serve`` (and ``labelloop demo``): server processes and a background process, supervised.

- **Server processes** (``--workers N``) each run the app under uvicorn. Each binds its own listening socket
  with ``SO_REUSEPORT`` and the kernel spreads new connections evenly over them. (One shared socket, as
  uvicorn's ``--workers`` has, lets whichever process wakes first accept most connections, and it is bound
  with protocol 0, so asyncio never sets TCP_NODELAY and every response waits ~40 ms for a delayed ACK.)
- **One background process** (unless ``--no-background``) ends overdue leases, consolidates and writes
  output. It runs apart from the server processes so that fitting worker models and writing files never
  hold a server's interpreter lock while workers wait for their next task.

The processes share nothing but the database: SQLite orders their writes (``labelloop.db.engine.WriteLock``),
PostgreSQL its own way. A background process that exits is started again, after 1 s, 2 s, 4 s... (at most
30 s; back to 1 s once one has run for a minute): workers keep labelling meanwhile, and a new background
process takes over the job claims the dead one left within ``CLAIM_S``. A server process that exits stops
all the others (exit status 1), so a supervisor (systemd, a container runtime) sees the failure and restarts
the whole server. Each child exits when the supervisor does, even when it is killed (SIGKILL): on Linux the
kernel sends it SIGTERM (``PR_SET_PDEATHSIG``), elsewhere a thread sees its parent change.
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
import tempfile
import threading
import time

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


class PortInUse(Exception):
    """The port is held by another program (or another labelloop server): ``serve`` does not start."""


def _port_message(host: str, port: int, holder: str = "another program") -> str:
    return f"port {port} on {host} is in use by {holder}; choose --port"


def _lock_port(host: str, port: int) -> int | None:
    """Hold a lock file per (user, host, port) for the supervisor's life, so two labelloop servers of one user
    never share a port (their sockets, both ``SO_REUSEPORT``, would otherwise both bind). None without fcntl."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    import tempfile

    folder = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    path = os.path.join(folder, f"labelloop-{os.getuid()}-{host.replace(':', '_')}-{port}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        other = os.read(fd, 32).decode(errors="replace").strip()
        os.close(fd)
        raise PortInUse(_port_message(host, port, f"another labelloop server (pid {other})" if other
                                      else "another labelloop server")) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def check_port(host: str, port: int) -> None:
    """Raise :class:`PortInUse` if anything listens on (host, port): a plain socket, without ``SO_REUSEPORT``,
    cannot bind beside a listening one, whether that one has ``SO_REUSEPORT`` or not. It is closed at once: our
    own server processes bind with ``SO_REUSEPORT`` and a socket without it would keep them out."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # connections in TIME_WAIT are no listener
        try:
            probe.bind((host, port))
        except OSError as exc:
            import errno

            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUse(_port_message(host, port)) from None
            raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def reserve_port(host: str, port: int) -> int | None:
    """Check the port is free and hold it against other labelloop servers (the lock file's descriptor, to
    pass to :func:`serve`, or None). Raises :class:`PortInUse`."""
    if port == 0:
        return None
    lock = _lock_port(host, port)
    try:
        check_port(host, port)
    except BaseException:
        if lock is not None:
            os.close(lock)
        raise
    return lock


RESTART_FIRST_S = 1.0
RESTART_MAX_S = 30.0
RESTART_RESET_S = 60.0  # a background process that ran this long was healthy: the next back-off starts over


def _die_with_parent(parent: int) -> None:  # pragma: no cover - runs in a child process
    """SIGTERM to this process when ``parent`` (the supervisor) is gone, however it ended."""
    if sys.platform.startswith("linux"):
        import ctypes
        import ctypes.util

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            pr_set_pdeathsig = 1
            if libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0) == 0:
                if os.getppid() != parent:  # it died before prctl took effect
                    os.kill(os.getpid(), signal.SIGTERM)
                return

    def watch() -> None:  # portable fallback: an orphan is re-parented
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="labelloop-parent-watch", daemon=True).start()


def _server(settings: Settings, parent: int) -> None:  # pragma: no cover - runs in a child process
    _die_with_parent(parent)
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
    _die_with_parent(parent)
    ctx = build_context(settings)
    owner = f"{socket.gethostname()[:40]}:{os.getpid()}"  # names this process's claims on jobs
    while not stop.is_set() and os.getppid() == parent:  # the supervisor is gone (killed): stop too
        try:
            run_background_once(ctx, owner=owner)
        except Exception:  # keep going; the next pass retries
            log.exception("background pass failed")
        stop.wait(settings.background_interval_s)


def serve(settings: Settings, workers: int = 1, *, reserved: int | None = None) -> None:
    """Run ``workers`` server processes and, if ``settings.run_background``, one background process, until
    SIGINT/SIGTERM or until one of them exits (then stop all and exit with status 1). If the port is in use
    (by anything but this server's own processes) exit with status 1 and say so, before starting any.
    ``reserved``: the lock from an earlier :func:`reserve_port` (the caller checked already)."""
    if workers > 1 and not hasattr(socket, "SO_REUSEPORT"):
        sys.exit("--workers needs SO_REUSEPORT (Linux, BSD, macOS)")
    if reserved is None:
        try:
            reserved = reserve_port(settings.host, settings.port)
        except PortInUse as exc:
            sys.exit(f"error: {exc}")
    try:
        _supervise(settings, workers)
    finally:
        if reserved is not None:
            os.close(reserved)


def _supervise(settings: Settings, workers: int) -> None:
    spawn = multiprocessing.get_context("spawn")
    me = os.getpid()
    # one prometheus_client multiprocess folder for this serve's processes (labelloop.services.metrics)
    own_metrics_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        own_metrics_dir = tempfile.mkdtemp(prefix="labelloop-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = own_metrics_dir
    servers: list[multiprocessing.process.BaseProcess] = [
        spawn.Process(target=_server, args=(settings, me), name=f"labelloop-server-{i}")
               for i in range(workers)]

    def new_background() -> multiprocessing.process.BaseProcess:
        return spawn.Process(target=_background, args=(settings, me), name="labelloop-background")

    background: multiprocessing.process.BaseProcess | None = new_background() if settings.run_background else None
    started_at = 0.0  # when the background process in hand was started
    restart_at: float | None = None  # when to start the next one (after a crash)
    delay = RESTART_FIRST_S
    stopping = False
    failed: multiprocessing.process.BaseProcess | None = None

    def _stop(_sig, _frame):
        nonlocal stopping
        stopping = True

    def running() -> list[multiprocessing.process.BaseProcess]:
        return servers + ([background] if background is not None else [])

    old = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for p in servers:
            p.start()
        if background is not None:
            background.start()
            started_at = time.monotonic()
        while not stopping:
            if (dead := next((p for p in servers if not p.is_alive()), None)) is not None:
                failed = dead
                break
            now = time.monotonic()
            if background is not None and restart_at is None and not background.is_alive():
                ran = now - started_at
                delay = RESTART_FIRST_S if ran >= RESTART_RESET_S else delay
                log.error("the background process exited with %s; starting another in %g s",
                          background.exitcode, delay)
                restart_at = now + delay
                delay = min(delay * 2, RESTART_MAX_S)
            if restart_at is not None and now >= restart_at:
                background, restart_at = new_background(), None
                background.start()
                started_at = time.monotonic()
            timeout = 0.5 if restart_at is None else max(0.0, min(0.5, restart_at - now))
            alive = [p.sentinel for p in running() if p.is_alive()]
            multiprocessing.connection.wait(alive, timeout=timeout)
    finally:
        procs = running()
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for p in procs:
            if p.pid is not None:
                p.join(30)
                if p.is_alive():
                    p.kill()
        for s, h in old.items():
            signal.signal(s, h)
        if own_metrics_dir is not None:
            import shutil

            shutil.rmtree(own_metrics_dir, ignore_errors=True)
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if failed is not None and not stopping and failed.exitcode not in (0, -signal.SIGTERM, -signal.SIGINT):
        log.error("%s exited with %s; stopped the others", failed.name, failed.exitcode)
        sys.exit(1)
