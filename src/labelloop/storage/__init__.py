"""Object storage through fsspec: local folders (default), file://, s3:// (endpoint configurable), http(s)://."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import fsspec


class Storage:
    """Reads and writes URIs. One instance per app; ``s3_endpoint_url`` points s3:// at any S3 server."""

    def __init__(self, *, s3_endpoint_url: str | None = None):
        self.s3_endpoint_url = s3_endpoint_url

    def _fs(self, uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
        protocol = uri.split("://", 1)[0] if "://" in uri else "file"
        options: dict = {}
        if protocol in ("s3", "s3a"):
            options = {"client_kwargs": {"endpoint_url": self.s3_endpoint_url}} if self.s3_endpoint_url else {}
            options["skip_instance_cache"] = False
        fs, path = fsspec.core.url_to_fs(uri, **options)
        return fs, path

    @staticmethod
    def is_local(uri: str) -> bool:
        return "://" not in uri or uri.startswith("file://")

    @staticmethod
    def local_path(uri: str) -> Path:
        return Path(uri[len("file://"):] if uri.startswith("file://") else uri)

    def exists(self, uri: str) -> bool:
        fs, path = self._fs(uri)
        return fs.exists(path)

    def read_bytes(self, uri: str) -> bytes:
        fs, path = self._fs(uri)
        with fs.open(path, "rb") as f:
            return f.read()

    @contextmanager
    def open_read(self, uri: str) -> Iterator[IO[bytes]]:
        fs, path = self._fs(uri)
        with fs.open(path, "rb") as f:
            yield f

    @contextmanager
    def open_write(self, uri: str) -> Iterator[IO[bytes]]:
        """Write a whole object; local files appear atomically (temp file + rename), never half-written."""
        if self.is_local(uri):
            target = self.local_path(uri)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    yield f
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            return
        fs, path = self._fs(uri)
        with fs.open(path, "wb") as f:
            yield f

    def copy(self, src: str, dst: str) -> None:
        """Copy one object to another; the copy appears whole or not at all, like ``open_write``.
        Within one object store (S3, ...) the store copies it without the bytes passing through here."""
        if not self.is_local(src) and src.split("://", 1)[0] == dst.split("://", 1)[0]:
            fs, src_path = self._fs(src)
            fs.copy(src_path, self._fs(dst)[1])
            return
        with self.open_read(src) as f, self.open_write(dst) as out:
            shutil.copyfileobj(f, out, 1 << 20)

    def write_bytes(self, uri: str, data: bytes) -> None:
        with self.open_write(uri) as f:
            f.write(data)

    def size(self, uri: str) -> int:
        fs, path = self._fs(uri)
        return int(fs.size(path))


def join(base: str, *parts: str) -> str:
    """Join URI parts with single slashes."""
    out = base.rstrip("/")
    for part in parts:
        out += "/" + part.strip("/")
    return out
