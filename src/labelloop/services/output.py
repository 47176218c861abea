"""Ground Truth's output layout under the job's output URI (spec §2.1): manifests and annotation files.

- Lines are compact JSON (``core.manifest.output_line_json``); their confidences are those Ground Truth
  writes (``core.output_confidence``: at most 0.95, 0.00 for one answer), while the database keeps the raw
  posterior.
- File names are ``YYYY-MM-DD_HH:MM:SS.json`` (no fraction of a second, as Ground Truth's); a consolidation
  file whose name is taken already moves on one second, so batches of the same second never overwrite.
- ``iteration-N`` is the object's N-th consolidation (1, then 2 when it is consolidated again).
- ``annotations/intermediate/1/annotations.json``: one JSON line per consolidated object with
  ``datasetObjectId``, ``inputAttribute`` (its ``source-ref`` or ``source``) and ``manifestLine`` (the input
  line as a string), which users' download scripts read to map object ids back to their data.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from labelloop.core.manifest import compact_json, output_line_json
from labelloop.core.output_confidence import written_metadata_json
from labelloop.db.models import DataObject
from labelloop.services.context import Context
from labelloop.storage import join

CHUNK = 10000
_CONSOLIDATED = ("labeled", "failed")


def iteration(n: int) -> str:
    """``iteration-N``: the folder of an object's N-th consolidation."""
    return f"iteration-{max(1, n)}"


def ms_stamp(at: datetime) -> str:
    """``2024-07-02T10:11:12.004Z``: worker-response timestamps."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def file_stamp(at: datetime) -> str:
    """``2024-07-02_10:11:12``: worker-response and consolidation file names."""
    return at.strftime("%Y-%m-%d_%H:%M:%S")


def manifest_line(line: str, lan: str, label: str, metadata: str, answers: int) -> str:
    """One output-manifest line of a labeled object, with the confidences Ground Truth writes."""
    if '"confidence' not in metadata:
        return output_line_json(line, lan, label, metadata)
    return output_line_json(line, lan, compact_json(label), written_metadata_json(compact_json(metadata),
                                                                                 answers=answers), compact=False)


def write_manifests(ctx: Context, conn: Connection, job: Any) -> int:
    """Write output.manifest, the intermediate manifest (one line per input line, labels appended) and
    ``annotations/intermediate/1/annotations.json``."""
    lan = job.label_attribute_name
    q = (
        select(DataObject.position, DataObject.line, DataObject.status, DataObject.label, DataObject.label_metadata,
               DataObject.answer_count, DataObject.source_ref)
        .where(DataObject.job_id == job.id, DataObject.gold_extra.is_(False))  # a gold file's objects: not input
        .order_by(DataObject.position)
        .execution_options(yield_per=CHUNK, stream_results=True)
    )
    final = join(job.output_uri, "manifests/output/output.manifest")
    n = 0
    with ctx.storage.open_write(final) as f, \
            ctx.storage.open_write(join(job.output_uri, "annotations/intermediate/1/annotations.json")) as a:
        chunk: list[str] = []
        annotations: list[str] = []
        for r in conn.execute(q):
            labeled = r.status == "labeled"
            chunk.append(manifest_line(r.line, lan, r.label, r.label_metadata, r.answer_count) if labeled else r.line)
            if r.status in _CONSOLIDATED:
                annotations.append(_annotation_line(r))
            if len(chunk) == CHUNK:
                n += _write_lines(f, chunk)
                _write_lines(a, annotations)
        n += _write_lines(f, chunk)
        _write_lines(a, annotations)
    ctx.storage.copy(final, join(job.output_uri, "manifests/intermediate/1/output.manifest"))
    return n


def _annotation_line(r: Any) -> str:
    source = r.source_ref
    if source is None:
        source = json.loads(r.line).get("source")
    return json.dumps({"datasetObjectId": str(r.position), "inputAttribute": source, "manifestLine": r.line},
                      ensure_ascii=False, separators=(",", ":"))


def _write_lines(f: Any, lines: list[str]) -> int:
    n = len(lines)
    if n:
        lines.append("")
        f.write("\n".join(lines).encode())
        lines.clear()
    return n


def _compact(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def write_worker_responses(ctx: Context, job: Any, responses: list[tuple[int, list[dict]]], at: datetime,
                           iterations: dict[int, int] | None = None) -> dict[int, str]:
    """``annotations/worker-response/iteration-<N>/<datasetObjectId>/<timestamp>.json`` per object; returns the
    URIs. ``iterations`` gives each object's consolidation number (default 1)."""
    uris = {}
    for position, answers in responses:
        folder = iteration((iterations or {}).get(position, 1))
        uri = join(job.output_uri, "annotations/worker-response", folder, str(position), f"{file_stamp(at)}.json")
        ctx.storage.write_bytes(uri, _compact({"answers": answers}))
        uris[position] = uri
    return uris


def consolidation_name(ctx: Context, job: Any, n: int, at: datetime) -> str:
    """The file name of a batch's consolidation request and response: the batch's second, or the next free
    second when an earlier batch took it."""
    for step in range(3600):
        name = f"{file_stamp(at + timedelta(seconds=step))}.json"
        if not ctx.storage.exists(_consolidation_uri(job, "consolidation-request", n, name)):
            return name
    raise RuntimeError("no free consolidation file name within an hour of " + file_stamp(at))


def _consolidation_uri(job: Any, kind: str, n: int, name: str) -> str:
    return join(job.output_uri, "annotations/consolidated-annotation", kind, iteration(n), name)


def write_consolidation_request(ctx: Context, job: Any, request: list[dict], n: int, name: str) -> str:
    """The payload a post-annotation hook reads (GT's ``payload.s3Uri``); returns its URI."""
    uri = _consolidation_uri(job, "consolidation-request", n, name)
    ctx.storage.write_bytes(uri, _compact(request))
    return uri


def write_consolidation_response(ctx: Context, job: Any, response: Any, n: int, name: str) -> None:
    """What the post-annotation hook answered (or, without one, the labels the built-in consolidation made)."""
    ctx.storage.write_bytes(_consolidation_uri(job, "consolidation-response", n, name), _compact(response))
