"""Ground Truth's output layout under the job's output URI (spec §2.1): manifests and annotation files."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, select

from labelloop.core.manifest import output_line_json
from labelloop.db.models import DataObject
from labelloop.services.context import Context
from labelloop.storage import join

ITERATION = "iteration-1"


def ms_stamp(at: datetime) -> str:
    """``2024-07-02T10:11:12.004Z``: worker-response timestamps."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def file_stamp(at: datetime) -> str:
    """``2024-07-02_10:11:12``: worker-response and consolidation file names."""
    return at.strftime("%Y-%m-%d_%H:%M:%S")


def write_manifests(ctx: Context, conn: Connection, job) -> int:
    """Write output.manifest and the intermediate manifest: one line per input line, labels appended."""
    lan = job.label_attribute_name
    q = (
        select(DataObject.line, DataObject.status, DataObject.label, DataObject.label_metadata)
        .where(DataObject.job_id == job.id)
        .order_by(DataObject.position)
        .execution_options(yield_per=10000, stream_results=True)
    )
    final = join(job.output_uri, "manifests/output/output.manifest")
    n = 0
    with ctx.storage.open_write(final) as f:
        chunk: list[str] = []
        for line, status, label, metadata in conn.execute(q):
            chunk.append(output_line_json(line, lan, label, metadata) if status == "labeled" else line)
            if len(chunk) == 10000:
                n += _write_lines(f, chunk)
        n += _write_lines(f, chunk)
    ctx.storage.copy(final, join(job.output_uri, "manifests/intermediate/1/output.manifest"))
    return n


def _write_lines(f, lines: list[str]) -> int:
    n = len(lines)
    if n:
        lines.append("")
        f.write("\n".join(lines).encode())
        lines.clear()
    return n


def write_worker_responses(ctx: Context, job, responses: list[tuple[int, list[dict]]], at: datetime) -> dict[int, str]:
    """``annotations/worker-response/iteration-1/<datasetObjectId>/<timestamp>.json`` per object; returns the URIs."""
    uris = {}
    for position, answers in responses:
        uri = join(job.output_uri, "annotations/worker-response", ITERATION, str(position), f"{file_stamp(at)}.json")
        ctx.storage.write_bytes(uri, json.dumps({"answers": answers}, ensure_ascii=False).encode())
        uris[position] = uri
    return uris


def _consolidation_uri(job, kind: str, at: datetime) -> str:
    # microseconds: several batches can be consolidated within one second
    name = f"{file_stamp(at)}.{at.microsecond:06d}.json"
    return join(job.output_uri, "annotations/consolidated-annotation", kind, ITERATION, name)


def write_consolidation_request(ctx: Context, job, request: list[dict], at: datetime) -> str:
    """The payload a post-annotation hook reads (GT's ``payload.s3Uri``); returns its URI."""
    uri = _consolidation_uri(job, "consolidation-request", at)
    ctx.storage.write_bytes(uri, json.dumps(request).encode())
    return uri


def write_consolidation_response(ctx: Context, job, response: list[dict], at: datetime) -> None:
    ctx.storage.write_bytes(_consolidation_uri(job, "consolidation-response", at), json.dumps(response).encode())
