"""Instance segmentation (``labelloop/instance-segmentation``) with ``crowd-instance-segmentation`` (spec §6.3). Ground
Truth has no built-in output type for it; labelloop's follows the object-detection shape, with a COCO RLE mask.

Answer (Ground Truth's): ``{"<name>": {"labeledImage": {"pngImageData": "<base64 PNG>"}, "instances": [{"color":
"#rrggbb", "label"}], "inputImageProperties": {"width", "height"}}}``: each instance's pixels its own colour, white
(or transparent, or black) where there is none. Checked with Pillow: the image's size, every pixel an instance's
colour or background, each instance's label the job's, no colour twice.

Output value: ``{"annotations": [{"class_id", "left", "top", "width", "height", "segmentation": {"size": [h, w],
"counts": "<COCO compressed RLE>"}}], "image_size": [{"width", "height", "depth": 3}]}``; metadata ``objects:
[{"confidence"}]``, ``class-map``, ``type: labelloop/instance-segmentation``. Consolidated by mask IoU
(``core/consolidation/polygons.py``, ``MaskInstanceConsensus``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labelloop.core.consolidation.boxes import ShapeObject
from labelloop.core.consolidation.polygons import INSTANCE_ALGORITHMS
from labelloop.core.errors import ValidationError
from labelloop.core.tasktypes.base import Label, ObjectAnswers, TaskType
from labelloop.core.tasktypes.boxes import (
    MAX_SHAPES,
    BatchConsolidation,
    answer_body,
    body_of,
    class_map,
    color,
    image_objects,
    image_size,
    label_of,
    modified_flag,
    preview_svg,
    record_parts,
    shape_label,
    shape_of,
)
from labelloop.core.tasktypes.segmentation import BACKGROUND, CHUNK, HEX, _packed, _rgb, decode_png, labeled_image

__all__ = ["INSTANCE_SEGMENTATION", "INSTANCE_TYPES", "InstanceSegmentation", "instance_masks"]


def _instances(body: dict[str, Any], labels: Sequence[str], where: str) -> list[tuple[str, str]]:
    items = body.get("instances")
    field = f"{where}.instances"
    if not isinstance(items, list) or len(items) > MAX_SHAPES:
        raise ValidationError(f"{field} must be a list of at most {MAX_SHAPES:,} {{color, label}}", field=field)
    out: list[tuple[str, str]] = []
    for i, x in enumerate(items):
        at = f"{field}[{i}]"
        if not isinstance(x, dict):
            raise ValidationError(f"{at} must be an object {{color, label}}", field=at)
        label = label_of(x.get("label"), labels, at)
        c = x.get("color")
        if not isinstance(c, str) or not HEX.match(c):
            raise ValidationError(f"{at}.color must be a colour #rrggbb", field=f"{at}.color")
        if c.lower() in BACKGROUND or any(c.lower() == o for o, _ in out):
            raise ValidationError(f"{at}.color {c} is background or another instance's", field=f"{at}.color")
        out.append((c.lower(), label))
    return out


def instance_masks(packed: np.ndarray, instances: Sequence[tuple[str, str]], where: str | None = None
                   ) -> list[tuple[str, np.ndarray]]:
    """``(label, boolean mask)`` of each instance; with ``where``, a pixel of another colour is a ValidationError."""
    known = np.isin(packed, [_rgb(c) for c in (*BACKGROUND, *(c for c, _ in instances))])
    if where is not None and not known.all():
        bad = int(packed[~known][0])
        rgb = f"#{bad & 255:02x}{(bad >> 8) & 255:02x}{(bad >> 16) & 255:02x}"
        raise ValidationError(f"{where} has pixels of colour {rgb}, which is no instance's (nor background)",
                              field=where)
    return [(label, packed == _rgb(c)) for c, label in instances]


def _box(mask: np.ndarray) -> dict[str, int]:
    ys, xs = np.nonzero(mask)
    return {"left": int(xs.min()), "top": int(ys.min()), "width": int(xs.max() - xs.min() + 1),
            "height": int(ys.max() - ys.min() + 1)}


class InstanceSegmentation(BatchConsolidation):
    name = "instance-segmentation"
    gt_type = "labelloop/instance-segmentation"
    media = "image"
    element = "crowd-instance-segmentation"
    template = "instance-segmentation"
    algorithms = ("instance-consensus",)
    min_labels = 1
    max_labels = 50
    export_formats = ("coco", "yolo", "voc")

    def validate_answer(self, answer: Any, labels: Sequence[str]) -> dict[str, Any]:
        name, body = answer_body(answer, self.element, "labeledImage")
        where = f"answer.{name}"
        width, height = image_size(body, where)
        instances = _instances(body, labels, where)
        data, img, at = labeled_image(body, where, (width, height))
        instance_masks(_packed(img), instances, at)
        out: dict[str, Any] = {"labeledImage": {"pngImageData": data},
                               "instances": [{"color": c, "label": label} for c, label in instances],
                               "inputImageProperties": {"width": width, "height": height}}
        modified_flag(body, out, where)
        return {name: out}

    def consolidate(self, history: Sequence[ObjectAnswers], targets: set[int], labels: Sequence[str], *,
                    algorithm: str, workers_per_object: int) -> list[Label]:
        from labelloop.core.exports.coco import rle_encode

        mine = [obj for obj in history if obj.dataset_object_id in targets]
        index = {label: i for i, label in enumerate(labels)}
        out = []
        # every instance is a whole-image mask: CHUNK objects at a time (the workers' quality from those)
        for start in range(0, len(mine), CHUNK):
            part = mine[start:start + CHUNK]
            objects = []
            for obj in part:
                answers = []
                for worker, content in obj.answers:
                    body = body_of(content)
                    img = decode_png(body["labeledImage"]["pngImageData"], "pngImageData")
                    pairs = [(x["color"], x["label"]) for x in body.get("instances", [])]
                    masks = [(label, m) for label, m in instance_masks(_packed(img), pairs) if m.any()]
                    answers.append((worker, tuple(masks)))
                objects.append(ShapeObject(obj.dataset_object_id, tuple(answers)))
            model = INSTANCE_ALGORITHMS[algorithm]().fit(objects)
            for obj in part:
                merged = model.masks_[obj.dataset_object_id]
                anns = [{"class_id": index[m.label], **_box(m.mask), "segmentation": rle_encode(m.mask)}
                        for m in merged]
                out.append(shape_label(obj, anns, [m.confidence for m in merged], workers_per_object,
                                       {"class-map": class_map(labels, merged)}, adjusted=False))
        return out

    def export_record(self, dataset_object_id: int, line: dict[str, Any], task_input: dict[str, Any] | None,
                      value: Any, metadata: dict[str, Any]) -> Any:
        size, conf, cmap = record_parts(value, metadata)
        shapes = [shape_of(a, i, conf, cmap, rle=a.get("segmentation"))
                  for i, a in enumerate((value or {}).get("annotations") or [])]
        return image_objects(dataset_object_id, line, size, shapes)

    def preview(self, data: str, prior: Any) -> str:
        shapes = []
        for a in (prior or {}).get("annotations") or []:
            c = color(int(a.get("class_id", 0)))
            shapes.append(f'<rect x="{a["left"]}" y="{a["top"]}" width="{a["width"]}" height="{a["height"]}" '
                          f'fill="none" stroke="{c}" stroke-dasharray="4"><title>class {int(a["class_id"])}'
                          "</title></rect>")
        return preview_svg(prior, shapes, data)


INSTANCE_SEGMENTATION = InstanceSegmentation()
INSTANCE_TYPES: tuple[TaskType, ...] = (INSTANCE_SEGMENTATION,)
"""Instance segmentation (``registry.py``); no chained jobs yet (no built-in verification template)."""
