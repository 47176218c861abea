"""Object storage behind the storage access policy (``labelloop.core.storage_policy``): local folders, file://,
s3:// (through fsspec, endpoint configurable) and http(s):// (httpx, redirects followed here, each hop checked).

Every read and write goes through :class:`Storage`, and :class:`Storage` refuses what the policy refuses,
whoever the caller: a local path is resolved (symlinks followed) and must lie under an allowed root, and
only regular files are read; an s3:// URI must be under an allowed bucket or prefix (the S3 endpoint is the
admin's setting, so its address is not checked); an http(s):// host must be listed and every address it
resolves to public or listed, checked on every redirect, and the connection is made to the checked address.
Refusals raise :class:`Refused`; a missing object raises ``FileNotFoundError``; anything else that goes
wrong reading or writing raises ``OSError`` (``TimeoutError`` for time limits).
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin

import fsspec

from labelloop.core.storage_policy import (
    HttpUri,
    LocalUri,
    Policy,
    Refused,
    S3Uri,
    Target,
    check_address,
    check_local,
    check_s3,
    match_host,
    split_uri,
)

__all__ = ["Refused", "Storage", "join"]

MAX_REDIRECTS = 5
CHUNK = 1 << 20
_REDIRECTS = (301, 302, 303, 307, 308)


class _IterReader(io.RawIOBase):
    """A raw stream over an iterator of byte chunks (an httpx response), closing the response when closed."""

    def __init__(self, chunks: Iterator[bytes], on_close: Callable[[], None]):
        self._chunks = chunks
        self._on_close = on_close
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._on_close()
        super().close()


_UMASK: int | None = None
_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask, read once (``os.umask`` can only be read by setting it, so under a lock)."""
    global _UMASK
    if _UMASK is None:
        with _UMASK_LOCK:
            if _UMASK is None:
                old = os.umask(0o077)
                os.umask(old)
                _UMASK = old
    return _UMASK


def _resolve_addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConnectionError(f"cannot resolve {host}: {exc.strerror}") from None
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    if not seen:
        raise ConnectionError(f"{host} has no addresses")
    return seen


class Storage:
    """Reads and writes URIs under the policy. One instance per process; ``policy`` is a :class:`Policy` or a
    function returning the current one (the context's, merged from settings and the database); without one
    nothing is allowed."""

    def __init__(self, *, s3_endpoint_url: str | None = None, policy: Policy | Callable[[], Policy] | None = None,
                 s3_profile: str | None = None):
        self.s3_endpoint_url = s3_endpoint_url
        # Neither set: s3fs's botocore finds keys and endpoint as AWS tools do (AWS_PROFILE, AWS_ACCESS_KEY_ID,
        # ~/.aws, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL)
        self.s3_profile = s3_profile
        self._policy = policy

    @property
    def policy(self) -> Policy:
        p = self._policy
        if p is None:
            return Policy()
        return p if isinstance(p, Policy) else p()

    # --- the checks ------------------------------------------------------------------------------

    def check(self, uri: str, *, write: bool = False) -> Target:
        """Refuse (``Refused``) what the policy refuses: local paths after resolving symlinks, s3 prefixes,
        http(s) hosts after resolving their addresses. Does not check that the object exists."""
        policy = self.policy
        target = split_uri(uri)
        if isinstance(target, LocalUri):
            check_local(policy, os.path.realpath(target.path), uri)
        elif isinstance(target, S3Uri):
            check_s3(policy, target.bucket, target.key, uri)
        else:
            if write:
                raise Refused(f"{uri}: output is written to local paths or s3://, not http(s)://")
            self._check_http(policy, target, uri)
        return target

    @staticmethod
    def _check_http(policy: Policy, target: HttpUri, uri: str) -> list[str]:
        entry = match_host(policy, target, uri)
        addresses = _resolve_addresses(target.host, target.port)
        for address in addresses:
            check_address(policy, entry, target.host, address)
        return addresses

    def ref_checker(self) -> Callable[[str], str | None]:
        """A quick check for many ``source-ref`` values (a manifest): the reason one is refused, or None.
        Local paths are checked with their folder resolved (cached per folder); hosts without DNS (their
        addresses are checked when the object is read)."""
        policy = self.policy
        folders: dict[str, str] = {}

        def check(uri: str) -> str | None:
            try:
                target = split_uri(uri)
                if isinstance(target, LocalUri):
                    folder, _, name = target.path.rpartition("/")
                    real = folders.get(folder)
                    if real is None:
                        real = folders[folder] = os.path.realpath(folder or "/")
                    check_local(policy, real.rstrip("/") + "/" + name, uri)
                elif isinstance(target, S3Uri):
                    check_s3(policy, target.bucket, target.key, uri)
                else:
                    match_host(policy, target, uri)
            except Refused as exc:
                return exc.reason
            return None

        return check

    @staticmethod
    def is_local(uri: str) -> bool:
        return "://" not in uri or uri.startswith("file://")

    def local_path(self, uri: str) -> Path:
        """The resolved path of a local object the policy allows, which must be a regular file."""
        target = split_uri(uri)
        if not isinstance(target, LocalUri):
            raise Refused(f"{uri} is not a local path")
        real = os.path.realpath(target.path)
        check_local(self.policy, real, uri)
        st = os.stat(real)
        if not stat.S_ISREG(st.st_mode):
            raise Refused(_not_regular(uri, st.st_mode))
        return Path(real)

    # --- reading ---------------------------------------------------------------------------------

    def _open_local(self, uri: str, target: LocalUri) -> IO[bytes]:
        real = os.path.realpath(target.path)
        check_local(self.policy, real, uri)
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(real, flags)  # non-blocking, so a FIFO does not hang the open
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise Refused(_not_regular(uri, mode))
            os.set_blocking(fd, True)
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    def _open_http(self, uri: str, *, timeout_s: float) -> IO[bytes]:
        import httpx

        url = uri
        for _hop in range(MAX_REDIRECTS + 1):
            target = split_uri(url)
            if not isinstance(target, HttpUri):
                raise Refused(f"{uri} redirects to {url}, which is not http(s)")
            policy = self.policy
            addresses = self._check_http(policy, target, url)
            client = httpx.Client(follow_redirects=False, timeout=timeout_s, trust_env=False)
            try:
                request = _pinned_request(client, "GET", url, addresses[0], target)
                response = client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                client.close()
                raise TimeoutError(f"{url}: timed out ({exc})") from None
            except httpx.HTTPError as exc:
                client.close()
                raise ConnectionError(f"{url}: {type(exc).__name__}: {exc}") from None
            if response.status_code in _REDIRECTS and "location" in response.headers:
                location = response.headers["location"]
                response.close()
                client.close()
                url = urljoin(url, location)
                continue
            if response.status_code >= 400:
                response.close()
                client.close()
                if response.status_code in (404, 410):
                    raise FileNotFoundError(f"{url}: HTTP {response.status_code}")
                raise ConnectionError(f"{url}: HTTP {response.status_code}")

            def close(response: Any = response, client: Any = client) -> None:
                response.close()
                client.close()

            return io.BufferedReader(_IterReader(_httpx_chunks(response, url), close), CHUNK)
        raise Refused(f"{uri}: more than {MAX_REDIRECTS} redirects")

    def _fs(self, uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
        protocol = uri.split("://", 1)[0] if "://" in uri else "file"
        options: dict = {}
        if protocol in ("s3", "s3a"):
            options = {"client_kwargs": {"endpoint_url": self.s3_endpoint_url}} if self.s3_endpoint_url else {}
            if self.s3_profile:
                options["profile"] = self.s3_profile
            options["skip_instance_cache"] = False
        fs, path = fsspec.core.url_to_fs(uri, **options)
        return fs, path

    @contextmanager
    def open_read(self, uri: str, *, timeout_s: float = 60.0) -> Iterator[IO[bytes]]:
        """Open an object the policy allows for reading (``timeout_s`` bounds each network wait)."""
        target = split_uri(uri)
        with _errors():
            if isinstance(target, LocalUri):
                f = self._open_local(uri, target)
            elif isinstance(target, HttpUri):
                f = self._open_http(uri, timeout_s=timeout_s)
            else:
                check_s3(self.policy, target.bucket, target.key, uri)
                fs, path = self._fs(uri)
                f = fs.open(path, "rb")
        try:
            yield f
        finally:
            f.close()

    def read_bytes(self, uri: str) -> bytes:
        with self.open_read(uri) as f:
            return f.read()

    def read_limited(self, uri: str, *, max_bytes: int, timeout_s: float, what: str = "object") -> IO[bytes]:
        """Read a whole object into a temporary spool (memory up to 8 MB, then a temp file), refusing more than
        ``max_bytes`` or more than ``timeout_s`` seconds in all. Returns the spool, rewound."""
        deadline = time.monotonic() + timeout_s
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 (returned)
        try:
            with self.open_read(uri, timeout_s=timeout_s) as f, _errors():
                read = getattr(f, "read1", f.read)
                total = 0
                while True:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"reading the {what} {uri} took more than {timeout_s:g} s")
                    block = read(CHUNK)
                    if not block:
                        break
                    total += len(block)
                    if total > max_bytes:
                        raise Refused(f"the {what} {uri} is larger than the limit of {max_bytes / 1e6:g} MB")
                    spool.write(block)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"reading the {what} {uri} took more than {timeout_s:g} s")
            spool.seek(0)
            return spool
        except BaseException:
            spool.close()
            raise

    def iter_chunks(self, uri: str) -> Iterator[bytes]:
        """The object's bytes in blocks; the open (and its errors) happens on the first ``next``."""
        with self.open_read(uri) as f:
            read = getattr(f, "read1", f.read)
            while True:
                with _errors():
                    block = read(1 << 16)
                if not block:
                    return
                yield block

    def exists(self, uri: str) -> bool:
        target = self.check(uri)
        if isinstance(target, LocalUri):
            return os.path.isfile(os.path.realpath(target.path))
        with _errors():
            fs, path = self._fs(uri)
            return bool(fs.exists(path))

    def size(self, uri: str) -> int:
        target = self.check(uri)
        if isinstance(target, LocalUri):
            return self.local_path(uri).stat().st_size
        with _errors():
            fs, path = self._fs(uri)
            return int(fs.size(path))

    # --- writing ---------------------------------------------------------------------------------

    @contextmanager
    def open_write(self, uri: str) -> Iterator[IO[bytes]]:
        """Write a whole object; local files appear atomically (temp file + rename), never half-written."""
        target = self.check(uri, write=True)
        if isinstance(target, LocalUri):
            real = Path(os.path.realpath(target.path))
            if real.exists() and not real.is_file():
                raise Refused(_not_regular(uri, real.stat().st_mode))
            real.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
            try:
                os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes it 0600: honour the umask as open() would
                with os.fdopen(fd, "wb") as f:
                    yield f
                os.replace(tmp, real)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            return
        with _errors():
            fs, path = self._fs(uri)
            f = fs.open(path, "wb")
        try:
            yield f
        except BaseException:
            if hasattr(f, "discard"):
                f.discard()  # an unfinished upload is dropped, not committed half-written
            raise
        with _errors():
            f.close()

    def copy(self, src: str, dst: str) -> None:
        """Copy one object to another; the copy appears whole or not at all, like ``open_write``.
        Within one object store (S3, ...) the store copies it without the bytes passing through here."""
        if not self.is_local(src) and src.split("://", 1)[0] == dst.split("://", 1)[0]:
            self.check(src)
            self.check(dst, write=True)
            with _errors():
                fs, src_path = self._fs(src)
                fs.copy(src_path, self._fs(dst)[1])
            return
        with self.open_read(src) as f, self.open_write(dst) as out:
            shutil.copyfileobj(f, out, CHUNK)

    def write_bytes(self, uri: str, data: bytes) -> None:
        with self.open_write(uri) as f:
            f.write(data)

    # --- listing and removing (the console's data setup and job deletion) ------------------------

    def list_files(self, prefix: str, *, limit: int) -> list[str]:
        """The URIs of the regular files under a folder or s3:// prefix the policy allows (recursively, sorted,
        at most ``limit``; hidden names skipped). A local folder's files are checked one by one (a symlink out
        of the allowed roots is left out)."""
        target = self.check(prefix)
        if isinstance(target, HttpUri):
            raise Refused(f"{prefix}: a folder is a local path or an s3:// prefix, not http(s)://")
        if isinstance(target, LocalUri):
            root = os.path.realpath(target.path)
            if not os.path.isdir(root):
                raise FileNotFoundError(f"no folder {prefix}")
            found: list[str] = []
            for folder, dirs, files in os.walk(root):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    path = os.path.join(folder, name)
                    if name.startswith(".") or not os.path.isfile(path):
                        continue
                    try:
                        check_local(self.policy, os.path.realpath(path), path)
                    except Refused:
                        continue
                    found.append(path)
                    if len(found) >= limit:
                        return found
            return found
        with _errors():
            fs, path = self._fs(prefix)
            keys = sorted(fs.find(path.rstrip("/") + "/"))
        scheme = prefix.split("://", 1)[0]
        return [f"{scheme}://{k}" for k in keys if not k.rsplit("/", 1)[-1].startswith(".")][:limit]

    def remove_tree(self, prefix: str) -> int:
        """Delete every object under a folder or s3:// prefix the policy allows writing; returns how many files
        went. A prefix that does not exist removes nothing."""
        target = self.check(prefix, write=True)
        if isinstance(target, LocalUri):
            root = Path(os.path.realpath(target.path))
            if not root.is_dir():
                return 0
            count = sum(1 for p in root.rglob("*") if p.is_file() or p.is_symlink())
            shutil.rmtree(root)
            return count
        with _errors():
            fs, path = self._fs(prefix)
            keys = fs.find(path.rstrip("/") + "/")
            if keys:
                fs.rm(keys)
            return len(keys)

    # --- hooks -----------------------------------------------------------------------------------

    def post_json(self, url: str, payload: Any, *, timeout_s: float) -> tuple[int, bytes]:
        """POST JSON to an http(s) URL the policy allows (host and resolved addresses checked, the connection
        made to the checked address); redirects are not followed. Returns (status, body)."""
        import httpx

        target = split_uri(url)
        if not isinstance(target, HttpUri):
            raise Refused(f"{url} is not an http(s) URL")
        addresses = self._check_http(self.policy, target, url)
        with httpx.Client(follow_redirects=False, timeout=timeout_s, trust_env=False) as client:
            try:
                request = _pinned_request(client, "POST", url, addresses[0], target, json=payload)
                response = client.send(request)
            except httpx.TimeoutException as exc:
                raise TimeoutError(f"{url}: timed out ({exc})") from None
            except httpx.HTTPError as exc:
                raise ConnectionError(f"{url}: {type(exc).__name__}: {exc}") from None
            return response.status_code, response.content


def _pinned_request(client: Any, method: str, url: str, address: str, target: HttpUri, **kwargs: Any) -> Any:
    """A request to ``address`` (already checked) with the URL's host in ``Host`` and in TLS (SNI and the
    certificate check), so a second DNS answer cannot send it elsewhere."""
    import httpx

    parsed = httpx.URL(url)
    host_header = parsed.netloc.decode("ascii")
    pinned = parsed.copy_with(host=address.split("%", 1)[0])
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return client.build_request(method, pinned, headers={"Host": host_header}, extensions=extensions, **kwargs)


def _httpx_chunks(response: Any, url: str) -> Iterator[bytes]:
    import httpx

    try:
        yield from response.iter_bytes(CHUNK)
    except httpx.TimeoutException as exc:
        raise TimeoutError(f"{url}: timed out ({exc})") from None
    except httpx.HTTPError as exc:
        raise ConnectionError(f"{url}: {type(exc).__name__}: {exc}") from None


def _not_regular(uri: str, mode: int) -> str:
    kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "not a regular file")
    return f"{uri} is {kind}; only regular files are read or written"


@contextmanager
def _errors() -> Iterator[None]:
    """Errors of the object stores (botocore, aiohttp...) as ``OSError``; ours and ``OSError`` as they are."""
    try:
        yield
    except (Refused, OSError):
        raise
    except Exception as exc:
        raise ConnectionError(f"{type(exc).__name__}: {exc}") from exc


def join(base: str, *parts: str) -> str:
    """Join URI parts with single slashes."""
    out = base.rstrip("/")
    for part in parts:
        out += "/" + part.strip("/")
    return out
