"""What every export writer reads (``TextSpans``; ``ImageObjects`` of ``Shape``), the format table and the
overlap rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from labelloop.core.errors import ValidationError

Span = tuple[int, int, str]


@dataclass(frozen=True, slots=True)
class TextSpans:
    """One labeled text: its ``datasetObjectId``, the text, and entities in code-point offsets (end exclusive)."""

    id: int
    text: str
    spans: tuple[Span, ...]
    confidences: tuple[float, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Shape:
    """One object of a labeled image: its class (index in the job's labels, and name) and what it has of a box
    (``left, top, width, height``), polygon rings (each a flat ``x0, y0, x1, y1...`` tuple), keypoints (flat
    ``x, y, v`` triples in the order of the job's keypoint labels; ``v`` = 2 visible, 0 not placed) and an
    instance mask (COCO RLE ``{"size": [h, w], "counts": str}``)."""

    class_id: int
    label: str
    box: tuple[float, float, float, float] | None = None
    polygons: tuple[tuple[float, ...], ...] = ()
    keypoints: tuple[float, ...] = ()
    rle: dict[str, Any] | None = None
    confidence: float = 0.0


@dataclass(frozen=True, slots=True)
class ImageObjects:
    """One labeled image (what the coco / yolo / voc / masks writers read): its ``datasetObjectId``, its
    ``source-ref``, its size, its objects; for semantic segmentation, the label map's URI and the colour map."""

    id: int
    source_ref: str
    width: int
    height: int
    shapes: tuple[Shape, ...] = ()
    mask_ref: str | None = None
    color_map: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExportFormat:
    name: str
    media_type: str
    suffix: str  # the file name's ending; a format written as a folder of shards ends in "/"
    description: str


FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("jsonl", "application/x-ndjson", ".jsonl",
                 "one JSON object a line: id, text, entities with start/end code-point offsets, label, confidence"),
    ExportFormat("conll", "text/plain; charset=utf-8", ".conll",
                 "CoNLL-2003 columns, a -DOCSTART- line before each text, IOB2 tags (overlaps flattened)"),
    ExportFormat("spacy", "application/x-tar", "/",
                 "spaCy DocBin shards (.spacy): non-overlapping entities in doc.ents, all spans in doc.spans['sc']"),
    ExportFormat("coco", "application/json", ".json",
                 "COCO instances JSON: images, categories, annotations (bbox, polygon or RLE segmentation, keypoints)"),
    ExportFormat("yolo", "application/x-tar", "/",
                 "YOLO detection: labels/<image>.txt 'class cx cy w h' (normalised), data.yaml"),
    ExportFormat("yolo-seg", "application/x-tar", "/",
                 "YOLO segmentation: labels/<image>.txt 'class x1 y1 x2 y2 ...' (normalised), data.yaml"),
    ExportFormat("yolo-pose", "application/x-tar", "/",
                 "YOLO pose: labels/<image>.txt 'class cx cy w h' + 'x y v' per keypoint (5 + 3k columns), data.yaml"),
    ExportFormat("voc", "application/x-tar", "/",
                 "Pascal VOC: Annotations/<image>.xml (one per image), labels.txt"),
    ExportFormat("masks", "application/x-tar", "/",
                 "label-map PNGs SegmentationClass/<image>.png (palette index = class id), labelmap.txt"),
)}


def get_format(name: str, supported: Sequence[str], task_type: str) -> ExportFormat:
    """The format ``name`` if the job's task type supports it; a ValidationError naming ``format`` otherwise."""
    if name not in supported:
        known = ", ".join(supported) or "none"
        raise ValidationError(f"task type '{task_type}' exports as {known}; not '{name}'", field="format")
    return FORMATS[name]


def flatten(spans: Sequence[Span], confidences: Sequence[float] = ()) -> tuple[list[Span], int]:
    """Non-overlapping spans for formats that cannot hold overlaps (CoNLL tags, ``doc.ents``): the more
    confident first, then the longer, then the earlier; returns them sorted and how many were dropped."""
    conf = list(confidences) + [0.0] * (len(spans) - len(confidences))
    order = sorted(range(len(spans)), key=lambda i: (-conf[i], -(spans[i][1] - spans[i][0]), spans[i][0]))
    kept: list[Span] = []
    for i in order:
        s = spans[i]
        if all(s[1] <= k[0] or s[0] >= k[1] for k in kept):
            kept.append(s)
    return sorted(kept), len(spans) - len(kept)
