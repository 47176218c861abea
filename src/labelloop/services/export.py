"""Export a job's consolidated labels (``labelloop export``, ``GET /api/v1/jobs/{name}/export``), streaming.

The job's labeled objects are read in position order with a streaming cursor and turned, one at a time, into
their task type's export record and then into the format's bytes: memory stays constant however many objects
the job has (``bench/spans.py`` measures 1M). Only those who may manage the job export it. Which formats a job
has is its task type's ``export_formats``; the writers are in ``core/exports`` (spaCy's in ``export_spacy``).
"""

from __future__ import annotations

import json
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from sqlalchemy import func, select

from labelloop.core.access import may_manage_job
from labelloop.core.errors import Forbidden
from labelloop.core.exports import ExportFormat, conll_document, get_format, jsonl_line
from labelloop.core.exports import spatial as image_exports
from labelloop.core.exports.base import ImageObjects
from labelloop.core.lifecycle import ObjectStatus
from labelloop.core.tasktypes import TaskType, get_task_type
from labelloop.db.models import DataObject
from labelloop.services.access import job_row_for
from labelloop.services.context import Context, Principal

READ_BATCH = 2000
FLUSH_BYTES = 1 << 16


@dataclass
class Export:
    """A started export: what it is, how many objects it will write, and its output, produced lazily.

    Iterate ``chunks()`` for one stream of bytes (the API; a tar of shards for ``spacy``) or ``shards()`` for
    spaCy's shard files by name (the CLI writes them into a folder). ``warnings`` fills while it runs;
    ``on_record`` (if set) is called after each object."""

    job: str
    format: ExportFormat
    total: int
    filename: str
    _records: Callable[[], Iterator[Any]]  # TextSpans or ImageObjects (core/exports/base.py)
    lang: str = "xx"
    labels: list[str] = field(default_factory=list)  # the job's labels (image formats' class names)
    read: Callable[[str], bytes] | None = None  # reads a label's file (masks)
    shard_size: int = 10_000
    warnings: list[str] = field(default_factory=list)
    on_record: Callable[[int], None] | None = None
    flattened: int = 0

    def records(self) -> Iterator[Any]:
        for n, rec in enumerate(self._records(), start=1):
            yield rec
            if self.on_record is not None:
                self.on_record(n)

    def _images(self) -> Iterator[ImageObjects]:
        return self.records()

    def chunks(self) -> Iterator[bytes]:
        if self.format.suffix == "/":
            yield from _tar(self.shards())
            return
        if self.format.name == "coco":
            yield from _buffered(image_exports.coco_chunks(self._records, self._images, self.labels))
            return
        yield from _buffered(self._lines())
        self._warn_flattened()

    def _lines(self) -> Iterator[str]:
        for rec in self.records():
            if self.format.name == "conll":
                text, dropped = conll_document(rec)
                self.flattened += dropped
                yield text
            elif isinstance(rec, ImageObjects):
                yield image_exports.image_jsonl_line(rec)
            else:
                yield jsonl_line(rec)

    def shards(self) -> Iterator[tuple[str, bytes]]:
        """spaCy ``DocBin`` files ``part-00000.spacy``…, ``shard_size`` docs each (``spacy train`` and ``spacy
        debug data`` read a folder of them as one corpus); the files of an image format (YOLO, VOC, masks)."""
        if self.format.name != "spacy":
            yield from image_exports.folder_files(self.format.name, self._images(), self.labels, self.read,
                                                  self.warnings)
            return
        from labelloop.services.export_spacy import docbin_shards

        def count(n: int) -> None:
            self.flattened += n

        yield from docbin_shards(self.records(), lang=self.lang, shard_size=self.shard_size, on_flattened=count)
        self._warn_flattened()

    def _warn_flattened(self) -> None:
        if self.flattened:
            where = "doc.ents (all spans are in doc.spans['sc'])" if self.format.name == "spacy" else "CoNLL tags"
            self.warnings.append(f"{self.flattened:,} overlapping entit{'ies' if self.flattened > 1 else 'y'} "
                                 f"left out of the {where}")


def export_job(ctx: Context, principal: Principal, name: str, format: str, *, lang: str = "xx",
               shard_size: int = 10_000) -> Export:
    """Check the job and the format now (errors before any byte is written); the output streams later."""
    with ctx.engine.connect() as conn:
        row = job_row_for(conn, name, principal)
        if not may_manage_job(principal, row.requester_id):
            raise Forbidden(f"only the owner of job '{row.name}' and admins export it", field="name")
        task_type = get_task_type(row.task_type)
        fmt = get_format(format, task_type.export_formats, task_type.name)
        total = int(conn.execute(select(func.count()).where(
            DataObject.job_id == row.id, DataObject.status == ObjectStatus.LABELED)).scalar() or 0)
    if fmt.name == "spacy":  # spaCy installed and the language known, before any byte is sent
        from labelloop.services.export_spacy import blank

        blank(lang)
    job_id = row.id
    labels = [x["label"] for x in json.loads(row.label_config or "{}").get("labels", [])]
    return Export(job=row.name, format=fmt, total=total, filename=row.name + fmt.suffix.rstrip("/")
                  + (".tar" if fmt.suffix == "/" else ""),
                  _records=lambda: _records(ctx, job_id, task_type), lang=lang, shard_size=shard_size,
                  labels=labels, read=ctx.storage.read_bytes)


def _records(ctx: Context, job_id: int, task_type: TaskType) -> Iterator[Any]:
    q = (select(DataObject.position, DataObject.line, DataObject.task_input, DataObject.label,
                DataObject.label_metadata)
         .where(DataObject.job_id == job_id, DataObject.status == ObjectStatus.LABELED)
         .order_by(DataObject.position)
         .execution_options(yield_per=READ_BATCH, stream_results=True))
    with ctx.engine.connect() as conn:
        for position, line, task_input, label, metadata in conn.execute(q):
            yield task_type.export_record(position, json.loads(line),
                                          json.loads(task_input) if task_input is not None else None,
                                          json.loads(label) if label is not None else None,
                                          json.loads(metadata) if metadata is not None else {})


def _buffered(parts: Iterator[str]) -> Iterator[bytes]:
    buf: list[str] = []
    size = 0
    for text in parts:
        buf.append(text)
        size += len(text)
        if size >= FLUSH_BYTES:
            yield "".join(buf).encode()
            buf, size = [], 0
    if buf:
        yield "".join(buf).encode()


class _Pipe:
    def __init__(self) -> None:
        self.buf = bytearray()

    def write(self, b: bytes) -> int:
        self.buf += b
        return len(b)

    def drain(self) -> bytes:
        out = bytes(self.buf)
        self.buf.clear()
        return out


def _tar(shards: Iterator[tuple[str, bytes]]) -> Iterator[bytes]:
    """A tar stream of the shards, written as each is made (a shard in memory at a time)."""
    pipe = _Pipe()
    with tarfile.open(fileobj=pipe, mode="w|") as tar:  # type: ignore[call-overload]
        for name, data in shards:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), int(time.time())
            tar.addfile(info, BytesIO(data))
            yield pipe.drain()
    yield pipe.drain()


__all__ = ["Export", "export_job"]
