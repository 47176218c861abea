"""Named entity recognition (``groundtruth/text-span``, spec §2.4) with ``crowd-entity-annotation`` (§6.3).

Input: ``source`` text, or ``source-ref`` to a UTF-8 text file (job creation reads it into the object's task
input). Optional pre-annotations on a line: ``"initial-value": [{"label", "startOffset", "endOffset"}]``
(from a model or a dictionary), shown to the worker to accept or correct; the worker's answer then carries
``initialValueModified`` and the consolidated metadata ``adjustment-status``.

Offsets everywhere (answers, pre-annotations, output, exports) are **Unicode code points** of the text
(Python ``str`` indices; Ground Truth: "unicode offset"), ``endOffset`` exclusive: an emoji is one unit, a
combining accent is its own unit. The element converts from the browser's UTF-16 indices.

Label configuration extras (labelloop's): ``"allowOverlap": true`` lets workers tag overlapping and nested
spans (off by default, as in Ground Truth); ``"charMode": true`` starts the element in character mode
instead of snapping selections to words.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

from labelloop.core.consolidation.spans import Entity, Span, SpanObject, span_consolidator
from labelloop.core.errors import ValidationError
from labelloop.core.exports.base import TextSpans
from labelloop.core.tasktypes.base import Label, ObjectAnswers, TaskType

__all__ = ["NAMED_ENTITY_RECOGNITION", "NER_TYPES", "NamedEntityRecognition", "entities_of", "parse_spans", "text_of"]

ELEMENT = "crowd-entity-annotation"
MAX_ENTITIES = 2000
PRE_ANNOTATIONS = "initial-value"


def parse_spans(value: Any, labels: Sequence[str], field: str) -> list[Span]:
    """``[{label, startOffset, endOffset}]`` checked (ints, 0 <= start < end, a job label, no repeats);
    sorted ``(start, end, label)`` tuples. A ValidationError names the entry."""
    if not isinstance(value, list):
        raise ValidationError(f"{field} must be a list of {{label, startOffset, endOffset}}", field=field)
    if len(value) > MAX_ENTITIES:
        raise ValidationError(f"{field} has {len(value):,} entities; the limit is {MAX_ENTITIES:,}", field=field)
    out: set[Span] = set()
    for i, e in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(e, dict):
            raise ValidationError(f"{where} must be an object", field=where)
        s, t, label = e.get("startOffset"), e.get("endOffset"), e.get("label")
        if type(s) is not int or type(t) is not int:
            raise ValidationError(f"{where}: startOffset and endOffset must be integers", field=where)
        if not 0 <= s < t:
            raise ValidationError(f"{where}: needs 0 <= startOffset < endOffset, not {s}..{t}", field=where)
        if not isinstance(label, str) or label not in labels:
            raise ValidationError(f"{where}: {label!r} is not a label of this job", field=where)
        if (s, t, label) in out:
            raise ValidationError(f"{where} repeats an entity", field=where)
        out.add((s, t, label))
    return sorted(out)


def spans_json(spans: Sequence[Span]) -> list[dict[str, Any]]:
    return [{"label": label, "startOffset": s, "endOffset": t} for s, t, label in spans]


def text_of(line: dict[str, Any], task_input: dict[str, Any] | None) -> str:
    """The text of a data object: its task input's ``taskObject`` (read from ``source-ref``) or ``source``."""
    text = task_input.get("taskObject") if task_input is not None else None
    if isinstance(text, str):
        return text
    source = line.get("source")
    return source if isinstance(source, str) else ""


def entities_of(value: Any) -> list[Span]:
    """The entities of a consolidated NER label (``{"annotations": {"entities": [...]}}``), as spans."""
    ents = ((value or {}).get("annotations") or {}).get("entities") or []
    return sorted((e["startOffset"], e["endOffset"], e["label"]) for e in ents)


class NamedEntityRecognition(TaskType):
    name = "named-entity-recognition"
    gt_type = "groundtruth/text-span"
    media = "text"
    element = ELEMENT
    template = "named-entity-recognition"
    algorithms = ("span-consensus", "majority-vote")
    min_labels = 1
    max_labels = 30
    reads_text_ref = True
    export_formats = ("spacy", "conll", "jsonl")
    auditable = True

    def task_input(self, line: dict[str, Any], label_config: dict[str, Any], short: str, full: str) -> dict[str, Any]:
        base = super().task_input(line, label_config, short, full)
        entries = label_config.get("labels", [])
        base["labels"] = [{k: x[k] for k in ("label", "shortDisplayName", "fullDisplayName") if k in x}
                          for x in entries]
        base["allowOverlap"] = bool(label_config.get("allowOverlap", False))
        base["charMode"] = bool(label_config.get("charMode", False))
        initial = line.get(PRE_ANNOTATIONS)
        base["initialValue"] = initial if isinstance(initial, list) else []
        return base

    def line_checker(self, label_config: dict[str, Any], lan: str) -> Callable[[dict[str, Any]], str | None] | None:
        labels = [x["label"] for x in label_config.get("labels", [])]

        def check(line: dict[str, Any]) -> str | None:
            if PRE_ANNOTATIONS not in line:
                return None
            try:
                spans = parse_spans(line[PRE_ANNOTATIONS], labels, PRE_ANNOTATIONS)
            except ValidationError as exc:
                return exc.message
            text = line.get("source")
            if isinstance(text, str) and any(t > len(text) for _, t, _ in spans):
                return f"{PRE_ANNOTATIONS}: an entity ends after the text ({len(text)} code points)"
            return None

        return check

    def export_record(self, dataset_object_id: int, line: dict[str, Any], task_input: dict[str, Any] | None,
                      value: Any, metadata: dict[str, Any]) -> TextSpans:
        ents = ((value or {}).get("annotations") or {}).get("entities") or []
        conf = [float(x.get("confidence", 0.0)) for x in (metadata or {}).get("entities") or []]
        return TextSpans(dataset_object_id, text_of(line, task_input),
                         tuple((e["startOffset"], e["endOffset"], e["label"]) for e in ents), tuple(conf))

    def initial_value(self, prior: Any) -> list[dict[str, Any]]:
        """An earlier NER job's label as this element's ``initial-value`` (chained adjustment jobs)."""
        return spans_json(entities_of(prior))

    def preview(self, text: str, prior: Any) -> str:
        """HTML of the text with an earlier label's entities marked (chained verification jobs)."""
        out, at = [], 0
        for s, t, label in entities_of(prior):
            if s < at:
                continue  # overlapping entities: the first one shown
            out += [html.escape(text[at:s]), f'<mark title="{html.escape(label)}">{html.escape(text[s:t])}'
                    f'<sup>{html.escape(label)}</sup></mark>']
            at = t
        out.append(html.escape(text[at:]))
        return "".join(out)

    def validate_answer(self, answer: Any, labels: Sequence[str]) -> dict[str, Any]:
        if not isinstance(answer, dict) or not answer:
            raise ValidationError(f'answer must be a JSON object such as {{"{ELEMENT}": {{"entities": [...]}}}}',
                                  field="answer")
        if "entities" in answer:
            name, body = ELEMENT, answer
        elif len(answer) == 1 and isinstance(next(iter(answer.values())), dict):
            ((name, body),) = answer.items()
        else:
            raise ValidationError(f"answer must hold exactly one {ELEMENT}'s result", field="answer")
        spans = parse_spans(body.get("entities"), labels, f"answer.{name}.entities")
        out: dict[str, Any] = {"entities": spans_json(spans)}
        if "initialValueModified" in body:
            if not isinstance(body["initialValueModified"], bool):
                raise ValidationError(f"answer.{name}.initialValueModified must be true or false",
                                      field=f"answer.{name}.initialValueModified")
            out["initialValueModified"] = body["initialValueModified"]
        return {name: out}

    def consolidate(self, history: Sequence[ObjectAnswers], targets: set[int], labels: Sequence[str], *,
                    algorithm: str, workers_per_object: int) -> list[Label]:
        objects = [SpanObject(obj.dataset_object_id, tuple(
            (worker, tuple((e["startOffset"], e["endOffset"], e["label"]) for e in _body(content)["entities"]))
            for worker, content in obj.answers)) for obj in history]
        model = span_consolidator(algorithm).fit(objects, labels)
        out = []
        for obj in history:
            if obj.dataset_object_id not in targets:
                continue
            ents: list[Entity] = model.entities_[obj.dataset_object_id]
            if workers_per_object == 1:
                ents = [Entity(e.start, e.end, e.label, 0.0) for e in ents]
            value = {"annotations": {"labels": [{"label": x} for x in labels], "entities": [
                {"label": e.label, "startOffset": e.start, "endOffset": e.end} for e in ents]}}
            meta: dict[str, Any] = {"entities": [{"confidence": e.confidence} for e in ents]}
            flags = [_body(c).get("initialValueModified") for _, c in obj.answers]
            if any(f is not None for f in flags):
                meta["adjustment-status"] = "adjusted" if any(flags) else "unadjusted"
            out.append(Label(obj.dataset_object_id, value, meta))
        return out


def _body(content: dict[str, Any]) -> dict[str, Any]:
    (body,) = content.values()
    return body  # type: ignore[no-any-return]


NAMED_ENTITY_RECOGNITION = NamedEntityRecognition()


def _chained() -> tuple[TaskType, ...]:
    from labelloop.core.tasktypes.chaining import Adjustment, Verification

    return Adjustment(NAMED_ENTITY_RECOGNITION), Verification(NAMED_ENTITY_RECOGNITION)


NER_TYPES: tuple[TaskType, ...] = (NAMED_ENTITY_RECOGNITION, *_chained())
"""Named entity recognition and its chained adjustment and verification jobs (``registry.py``)."""
