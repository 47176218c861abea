"""Bounding boxes (``groundtruth/object-detection``, spec §2.4) with ``crowd-bounding-box`` (§6.3); and what the
other image shape types share (``inputImageProperties``, number checks, the SVG preview, pre-annotations; the
consolidated label's ``image_size`` / ``annotations`` / ``objects`` shape and its export record; ``ShapeType``,
the base of the types whose answer is a list of shapes; ``with_chained``, a type with its chained jobs).

Answer: ``{"<name>": {"boundingBoxes": [{"label", "left", "top", "width", "height"}], "inputImageProperties":
{"width", "height"}, "initialValueModified"?}}`` in image pixels, origin top-left. A box is clipped to the image;
one with no area inside it is refused. Pre-annotations: ``"initial-value": [{label, left, top, width, height}]``
on the input line (from a model or an earlier job), shown to the worker to accept or correct.

Output (spec §2.4): ``{"annotations": [{"class_id", "left", "top", "width", "height"}], "image_size":
[{"width", "height", "depth": 3}]}`` with metadata ``objects: [{"confidence"}]`` (same order) and
``class-map`` (only the classes that occur); ``class_id`` is the label's index in the job's label list.
"""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from labelloop.core.consolidation.boxes import ShapeObject, box_consolidator
from labelloop.core.errors import ValidationError
from labelloop.core.tasktypes.base import Label, ObjectAnswers, TaskType

__all__ = ["BOUNDING_BOX", "BOX_TYPES", "MAX_SHAPES", "PRE_ANNOTATIONS", "TAB10", "BatchConsolidation", "BoundingBox",
           "ShapeType", "answer_body", "class_map", "image_objects", "image_size", "labeled_items", "number", "preview_svg",
           "record_parts", "shape_label", "shape_of", "svg", "with_chained"]

MAX_SHAPES = 2000
PRE_ANNOTATIONS = "initial-value"
TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
MAX_SIDE = 20000


def answer_body(answer: Any, element: str, key: str) -> tuple[str, dict[str, Any]]:
    """``(element name, body)`` of an answer holding one element's result (a body with ``key`` directly is
    taken as ``element``'s)."""
    if not isinstance(answer, dict) or not answer:
        raise ValidationError(f'answer must be a JSON object such as {{"{element}": {{"{key}": ...}}}}', field="answer")
    if key in answer:
        return element, answer
    if len(answer) == 1 and isinstance(next(iter(answer.values())), dict):
        ((name, body),) = answer.items()
        return name, body
    raise ValidationError(f"answer must hold exactly one {element}'s result", field="answer")


def number(value: Any, where: str, *, low: float | None = None) -> float:
    """A finite JSON number (not a boolean), at least ``low``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(f"{where} must be a number", field=where)
    if low is not None and value < low:
        raise ValidationError(f"{where} must be at least {low:g}, not {value:g}", field=where)
    return float(value)


def image_size(body: dict[str, Any], where: str) -> tuple[int, int]:
    """``inputImageProperties`` ``(width, height)``: positive integers."""
    props = body.get("inputImageProperties")
    field = f"{where}.inputImageProperties"
    if not isinstance(props, dict):
        raise ValidationError(f"{field} must be an object {{width, height}}", field=field)
    out = []
    for k in ("width", "height"):
        v = props.get(k)
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if type(v) is not int or not 0 < v <= MAX_SIDE:
            raise ValidationError(f"{field}.{k} must be a whole number of pixels from 1 to {MAX_SIDE}",
                                  field=f"{field}.{k}")
        out.append(v)
    return out[0], out[1]


def label_of(value: Any, labels: Sequence[str], where: str) -> str:
    if not isinstance(value, str) or value not in labels:
        raise ValidationError(f"{where}.label: {value!r} is not a label of this job", field=f"{where}.label")
    return value


def labeled_items(items: Any, labels: Sequence[str], where: str, form: str, noun: str
                  ) -> Iterator[tuple[str, dict[str, Any], str]]:
    """``(field, item, its label)`` of each item of ``items``: a list of at most ``MAX_SHAPES`` objects (each like
    ``form``; ``noun`` names them in the limit's message), each with a label of the job."""
    if not isinstance(items, list):
        raise ValidationError(f"{where} must be a list of {form}", field=where)
    if len(items) > MAX_SHAPES:
        raise ValidationError(f"{where} has {len(items):,} {noun}; the limit is {MAX_SHAPES:,}", field=where)
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise ValidationError(f"{at} must be an object", field=at)
        yield at, item, label_of(item.get("label"), labels, at)


def modified_flag(body: dict[str, Any], out: dict[str, Any], where: str) -> None:
    if "initialValueModified" in body:
        if not isinstance(body["initialValueModified"], bool):
            raise ValidationError(f"{where}.initialValueModified must be true or false",
                                  field=f"{where}.initialValueModified")
        out["initialValueModified"] = body["initialValueModified"]


def adjustment_status(obj: ObjectAnswers, meta: dict[str, Any]) -> None:
    flags = [b.get("initialValueModified") for _, c in obj.answers for b in c.values() if isinstance(b, dict)]
    if any(f is not None for f in flags):
        meta["adjustment-status"] = "adjusted" if any(flags) else "unadjusted"


def body_of(content: dict[str, Any]) -> dict[str, Any]:
    (body,) = content.values()
    return body  # type: ignore[no-any-return]


def majority_size(obj: ObjectAnswers) -> tuple[int, int]:
    """The image size most of the object's answers report."""
    sizes = Counter((int(b["inputImageProperties"]["width"]), int(b["inputImageProperties"]["height"]))
                    for b in (body_of(c) for _, c in obj.answers))
    return sizes.most_common(1)[0][0] if sizes else (0, 0)


def svg(width: int, height: int, shapes: Sequence[str], data: str) -> str:
    """An SVG of the image ``data`` (its URI, as ``<image href>``) with ``shapes`` (SVG elements) drawn over it,
    scaled to the width of its container: a task type's ``preview``."""
    w, h = max(1, width), max(1, height)
    stroke = max(1.0, round(max(w, h) / 300, 1))
    return (f'<svg class="ll-shapes" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" '
            f'style="max-width:{w}px" stroke-width="{stroke}" font-size="{stroke * 10:g}">'
            f'<image href="{html.escape(data)}" x="0" y="0" width="{w}" height="{h}"/>' + "".join(shapes) + "</svg>")


def color(i: int) -> str:
    return TAB10[i % len(TAB10)]


def parse_boxes(items: Any, labels: Sequence[str], where: str, size: tuple[int, int] | None) -> list[dict[str, Any]]:
    """``[{label, left, top, width, height}]`` checked, clipped to the image of ``size``, rounded to 0.1 px."""
    out = []
    for at, b, label in labeled_items(items, labels, where, "{label, left, top, width, height}", "boxes"):
        left, top = number(b.get("left"), f"{at}.left"), number(b.get("top"), f"{at}.top")
        width, height = number(b.get("width"), f"{at}.width", low=0), number(b.get("height"), f"{at}.height", low=0)
        if size is not None:
            x0, y0 = max(0.0, left), max(0.0, top)
            x1, y1 = min(float(size[0]), left + width), min(float(size[1]), top + height)
            left, top, width, height = x0, y0, x1 - x0, y1 - y0
        if width <= 0 or height <= 0:
            raise ValidationError(f"{at} has no area inside the image", field=at)
        out.append({"label": label, "left": round(left, 1), "top": round(top, 1), "width": round(width, 1),
                    "height": round(height, 1)})
    return out


def class_map(labels: Sequence[str], merged: Sequence[Any]) -> dict[str, str]:
    """``{"<index>": label}`` of the job's labels (in order) that some of ``merged`` (each with a ``label``) has."""
    index = {label: i for i, label in enumerate(labels)}
    return {str(index[x]): x for x in labels if any(m.label == x for m in merged)}


def shape_label(obj: ObjectAnswers, annotations: list[dict[str, Any]], confidences: Sequence[float],
                workers_per_object: int, meta: dict[str, Any], *, adjusted: bool = True) -> Label:
    """The consolidated label of an image shape type's object: ``{"image_size", "annotations"}`` with metadata
    ``objects: [{"confidence"}]`` (0 with one worker), then ``meta``, then ``adjustment-status`` if ``adjusted``."""
    width, height = majority_size(obj)
    value = {"image_size": [{"width": width, "height": height, "depth": 3}],  # spec §2.4's order
             "annotations": annotations}
    out: dict[str, Any] = {"objects": [{"confidence": 0.0 if workers_per_object == 1 else c} for c in confidences],
                           **meta}
    if adjusted:
        adjustment_status(obj, out)
    return Label(obj.dataset_object_id, value, out)


def record_parts(value: Any, metadata: dict[str, Any]) -> tuple[dict[str, Any], list[float], dict[str, str]]:
    """``(image_size entry, confidences, class-map)`` of a consolidated image shape label, for ``export_record``."""
    size = ((value or {}).get("image_size") or [{}])[0]
    conf = [float(o.get("confidence", 0.0)) for o in (metadata or {}).get("objects") or []]
    return size, conf, (metadata or {}).get("class-map") or {}


def image_objects(dataset_object_id: int, line: dict[str, Any], size: dict[str, Any], shapes: Sequence[Any],
                  **extra: Any) -> Any:
    """The exporters' ``ImageObjects`` of one object's ``shapes``."""
    from labelloop.core.exports.base import ImageObjects

    return ImageObjects(dataset_object_id, str(line.get("source-ref", "")), int(size.get("width", 0)),
                        int(size.get("height", 0)), tuple(shapes), **extra)


def preview_svg(prior: Any, shapes: Sequence[str], data: str) -> str:
    """:func:`svg` at the size of the consolidated label ``prior``."""
    size = ((prior or {}).get("image_size") or [{}])[0]
    return svg(int(size.get("width", 0)), int(size.get("height", 0)), shapes, data)


def shape_of(a: dict[str, Any], i: int, conf: Sequence[float], cmap: dict[str, str], **extra: Any) -> Any:
    """The exporters' ``Shape`` of the ``i``-th consolidated annotation ``a`` (its class, box and confidence)."""
    from labelloop.core.exports.base import Shape

    return Shape(int(a["class_id"]), cmap.get(str(a["class_id"]), str(a["class_id"])),
                 box=(float(a["left"]), float(a["top"]), float(a["width"]), float(a["height"])),
                 confidence=conf[i] if i < len(conf) else 0.0, **extra)


def with_chained(task_type: TaskType) -> tuple[TaskType, ...]:
    """``task_type`` and its chained adjustment and verification jobs (``registry.py``)."""
    from labelloop.core.tasktypes.chaining import Adjustment, Verification

    return task_type, Adjustment(task_type), Verification(task_type)


class BatchConsolidation(TaskType):
    """What the image shape types share: each batch is consolidated from its own objects' answers (up to the
    ``consolidation_batch_size`` objects of the background step), the workers' quality estimated on them. The
    whole job's answers are never loaded (a segmentation job's are its label maps): the cost of a batch stays
    the same however large the job grows."""

    def consolidate_batch(self, new: Sequence[ObjectAnswers], history: Callable[[], Sequence[ObjectAnswers]],
                          labels: Sequence[str], *, algorithm: str, workers_per_object: int, state: str | None,
                          final: bool) -> tuple[list[Label], str | None]:
        targets = {obj.dataset_object_id for obj in new}
        return self.consolidate(new, targets, labels, algorithm=algorithm, workers_per_object=workers_per_object), None


class ShapeType(BatchConsolidation):
    """An image type whose answer is a list of shapes under ``key`` (checked by ``parse``), with pre-annotations
    (``initial-value`` on the input line, checked with the same ``parse``)."""

    key: str

    def parse(self, items: Any, labels: Sequence[str], where: str, size: tuple[int, int] | None
              ) -> list[dict[str, Any]]:
        raise NotImplementedError

    def task_input(self, line: dict[str, Any], label_config: dict[str, Any], short: str, full: str) -> dict[str, Any]:
        base = super().task_input(line, label_config, short, full)
        initial = line.get(PRE_ANNOTATIONS)
        base["initialValue"] = initial if isinstance(initial, list) else []
        return base

    def line_checker(self, label_config: dict[str, Any], lan: str) -> Callable[[dict[str, Any]], str | None] | None:
        labels = [x["label"] for x in label_config.get("labels", [])]

        def check(line: dict[str, Any]) -> str | None:
            if PRE_ANNOTATIONS not in line:
                return None
            try:
                self.parse(line[PRE_ANNOTATIONS], labels, PRE_ANNOTATIONS, None)
            except ValidationError as exc:
                return exc.message
            return None

        return check

    def validate_answer(self, answer: Any, labels: Sequence[str]) -> dict[str, Any]:
        name, body = answer_body(answer, self.element, self.key)
        where = f"answer.{name}"
        size = image_size(body, where)
        out: dict[str, Any] = {self.key: self.parse(body.get(self.key), labels, f"{where}.{self.key}", size),
                               "inputImageProperties": {"width": size[0], "height": size[1]}}
        modified_flag(body, out, where)
        return {name: out}


def _int(x: float) -> int:
    return math.floor(x + 0.5)


class BoundingBox(ShapeType):
    name = "bounding-box"
    gt_type = "groundtruth/object-detection"
    media = "image"
    element = "crowd-bounding-box"
    template = "object-detection"
    algorithms = ("box-consensus", "cvat-merge")
    min_labels = 1
    max_labels = 50
    export_formats = ("coco", "yolo", "voc", "jsonl")
    auditable = True
    key = "boundingBoxes"

    def parse(self, items: Any, labels: Sequence[str], where: str, size: tuple[int, int] | None
              ) -> list[dict[str, Any]]:
        return parse_boxes(items, labels, where, size)

    def consolidate(self, history: Sequence[ObjectAnswers], targets: set[int], labels: Sequence[str], *,
                    algorithm: str, workers_per_object: int) -> list[Label]:
        objects = [ShapeObject(obj.dataset_object_id, tuple(
            (worker, tuple((b["label"], b["left"], b["top"], b["width"], b["height"])
                           for b in body_of(content)["boundingBoxes"]))
            for worker, content in obj.answers)) for obj in history]
        model = box_consolidator(algorithm).fit(objects)
        index = {label: i for i, label in enumerate(labels)}
        out = []
        for obj in history:
            if obj.dataset_object_id not in targets:
                continue
            merged = model.boxes_[obj.dataset_object_id]
            anns = [{"class_id": index[b.label], "left": _int(b.left), "top": _int(b.top), "width": _int(b.width),
                     "height": _int(b.height)} for b in merged]
            out.append(shape_label(obj, anns, [b.confidence for b in merged], workers_per_object,
                                   {"class-map": class_map(labels, merged)}))
        return out

    def export_record(self, dataset_object_id: int, line: dict[str, Any], task_input: dict[str, Any] | None,
                      value: Any, metadata: dict[str, Any]) -> Any:
        size, conf, cmap = record_parts(value, metadata)
        shapes = [shape_of(a, i, conf, cmap) for i, a in enumerate((value or {}).get("annotations") or [])]
        return image_objects(dataset_object_id, line, size, shapes)

    def initial_value(self, prior: Any) -> list[dict[str, Any]]:
        return self._initial(prior, {})

    def initial_value_of(self, line: dict[str, Any], audit: str, labels: Sequence[str]) -> list[dict[str, Any]]:
        cmap = (line.get(f"{audit}-metadata") or {}).get("class-map") or {}
        return self._initial(line.get(audit), {**{str(i): x for i, x in enumerate(labels)}, **cmap})

    @staticmethod
    def _initial(prior: Any, cmap: dict[str, str]) -> list[dict[str, Any]]:
        return [{"label": cmap.get(str(a.get("class_id")), str(a.get("class_id"))),
                 **{k: a.get(k) for k in ("left", "top", "width", "height")}}
                for a in (prior or {}).get("annotations") or [] if isinstance(a, dict)]

    def preview(self, data: str, prior: Any) -> str:
        shapes = []
        for a in (prior or {}).get("annotations") or []:
            c = color(int(a.get("class_id", 0)))
            shapes.append(f'<rect x="{a["left"]}" y="{a["top"]}" width="{a["width"]}" height="{a["height"]}" '
                          f'fill="{c}" fill-opacity="0.15" stroke="{c}"><title>class {int(a["class_id"])}</title>'
                          "</rect>")
        return preview_svg(prior, shapes, data)


BOUNDING_BOX = BoundingBox()
BOX_TYPES: tuple[TaskType, ...] = with_chained(BOUNDING_BOX)
"""Bounding boxes and their chained adjustment and verification jobs (``registry.py``)."""
