"""What job creation adds to each data object beyond its manifest line, as its task type asks: the type's own
check of each line (pre-annotations, a chained job's earlier label) and the text of a ``source-ref`` text file
(named entity recognition) read into the object's task input. Runs before the job's transaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from labelloop.core.errors import ManifestError
from labelloop.core.labels import LabelConfig
from labelloop.core.manifest import MAX_LINE_CHARS, ManifestRecord
from labelloop.core.tasktypes import TaskType
from labelloop.services.context import Context
from labelloop.storage import Refused

TEXT_MAX_BYTES = 4 * MAX_LINE_CHARS  # a text file of at most 100,000 code points


def _bad(rec: ManifestRecord, reason: str) -> ManifestError:
    return ManifestError(f"input manifest has a bad line; line {rec.line_no}: {reason}", field="input_manifest_uri",
                         details=[{"line": rec.line_no, "reason": reason}])


def object_extras(ctx: Context, spec: Any, task_type: TaskType, labels: LabelConfig
                  ) -> Callable[[ManifestRecord], dict[str, Any]] | None:
    """A function of each manifest record giving the extra columns of its data object (or raising a
    ManifestError naming the line); None when the task type needs nothing more. A bad configuration (a chained
    job without ``auditLabelAttributeName``) raises ValidationError at once."""
    checker = task_type.line_checker(labels.raw, spec.label_attribute_name)
    if checker is None and not task_type.reads_text_ref:
        return None

    def extras(rec: ManifestRecord) -> dict[str, Any]:
        line = json.loads(rec.text)
        reason = checker(line) if checker is not None else None
        if reason is not None:
            raise _bad(rec, reason)
        if not (task_type.reads_text_ref and rec.source_ref is not None):
            return {"task_input": None}  # every row of a chunk names the same columns
        text = _read_text(ctx, rec)
        task_input = task_type.task_input({**line, "source": text}, labels.raw, spec.short_instruction
                                          or (labels.short_instruction or ""), spec.full_instruction
                                          or (labels.full_instruction or ""))
        return {"task_input": json.dumps(task_input, ensure_ascii=False)}

    return extras


def _read_text(ctx: Context, rec: ManifestRecord) -> str:
    uri = rec.source_ref or ""
    try:
        with ctx.storage.read_limited(uri, max_bytes=TEXT_MAX_BYTES, timeout_s=ctx.settings.manifest_read_timeout_s,
                                      what="text file") as f:
            data = f.read()
    except Refused as exc:
        raise _bad(rec, f"'source-ref': {exc.reason}") from None
    except FileNotFoundError:
        raise _bad(rec, f"'source-ref' text file not found: {uri}") from None
    except (OSError, ValueError) as exc:
        raise _bad(rec, f"'source-ref': cannot read {uri}: {exc}") from None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise _bad(rec, f"'source-ref' {uri} is not UTF-8 text (byte offset {exc.start})") from None
    if not text:
        raise _bad(rec, f"'source-ref' {uri} is empty")
    if len(text) > MAX_LINE_CHARS:
        raise _bad(rec, f"'source-ref' {uri} has {len(text):,} characters; the limit is {MAX_LINE_CHARS:,}")
    return text
