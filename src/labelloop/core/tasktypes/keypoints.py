"""Keypoints (``labelloop/keypoint``) with ``crowd-keypoint`` (spec §6.3), grouped into instances so that COCO
keypoints and YOLO-pose can be written. Ground Truth has no built-in output type for them.

The job's labels are the keypoint names (``nose``, ``left_eye``...). An instance is a ``person`` when every label
is one of COCO's 17 person keypoints, else an ``object``. A keypoint's OKS sigma is COCO's for COCO's person
keypoint names, 0.1 otherwise (``core/consolidation/keypoints.py``).

Answer: ``{"<name>": {"keypoints": [{"label", "x", "y", "instance"?}], "inputImageProperties": {...}}}``, pixels,
origin top-left. ``instance`` (labelloop's, an integer) groups a worker's points into instances; without it,
the n-th point of a label goes to instance n (one person: each label once).

Output value: ``{"annotations": [{"class_id": 0, "left", "top", "width", "height", "keypoints": [{"label", "x",
"y"}]}], "image_size": [{"width", "height", "depth": 3}]}``: one entry per instance, its box around its points;
metadata ``objects: [{"confidence"}]``, ``class-map`` ``{"0": <instanceLabel>}``, ``keypoint-names`` (the job's
labels, in order: COCO's ``categories[].keypoints`` and YOLO-pose's column order), ``type: labelloop/keypoint``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from labelloop.core.consolidation.boxes import ShapeObject
from labelloop.core.consolidation.keypoints import COCO_PERSON_SIGMAS, keypoint_consolidator, sigma_of
from labelloop.core.errors import ValidationError
from labelloop.core.tasktypes.base import Label, ObjectAnswers, TaskType
from labelloop.core.tasktypes.boxes import (
    ShapeType,
    body_of,
    color,
    image_objects,
    labeled_items,
    number,
    preview_svg,
    record_parts,
    shape_label,
    with_chained,
)

__all__ = ["KEYPOINT", "KEYPOINT_TYPES", "Keypoint", "instance_label", "instances_of", "parse_keypoints"]


def instance_label(labels: Sequence[str]) -> str:
    """``person`` when every keypoint label is one of COCO's person keypoints, else ``object``."""
    coco = [n.strip().lower().replace(" ", "_").replace("-", "_") in COCO_PERSON_SIGMAS for n in labels]
    return "person" if coco and all(coco) else "object"


def parse_keypoints(items: Any, labels: Sequence[str], where: str, size: tuple[int, int] | None) -> list[dict[str, Any]]:
    out = []
    for at, k, label in labeled_items(items, labels, where, "{label, x, y}", "keypoints"):
        x, y = number(k.get("x"), f"{at}.x"), number(k.get("y"), f"{at}.y")
        if size is not None and not (0 <= x <= size[0] and 0 <= y <= size[1]):
            raise ValidationError(f"{at} ({x:g}, {y:g}) is outside the {size[0]}x{size[1]} image", field=at)
        point: dict[str, Any] = {"label": label, "x": round(x, 1), "y": round(y, 1)}
        if "instance" in k:
            if type(k["instance"]) is not int or k["instance"] < 0:
                raise ValidationError(f"{at}.instance must be a whole number", field=f"{at}.instance")
            point["instance"] = k["instance"]
        out.append(point)
    return out


def instances_of(points: Sequence[dict[str, Any]]) -> list[dict[str, tuple[float, float]]]:
    """A worker's points grouped into instances (``instance``, else the n-th point of a label in instance n)."""
    groups: dict[Any, dict[str, tuple[float, float]]] = {}
    seen: dict[str, int] = {}
    for p in points:
        if "instance" in p:
            key: Any = ("i", p["instance"])
        else:
            key = ("n", seen.get(p["label"], 0))
            seen[p["label"]] = key[1] + 1
        groups.setdefault(key, {})
        groups[key].setdefault(p["label"], (float(p["x"]), float(p["y"])))
    return list(groups.values())


class Keypoint(ShapeType):
    name = "keypoint"
    gt_type = "labelloop/keypoint"
    media = "image"
    element = "crowd-keypoint"
    template = "keypoint"
    algorithms = ("keypoint-consensus",)
    min_labels = 1
    max_labels = 100
    export_formats = ("coco", "yolo-pose")
    auditable = True
    key = "keypoints"

    def parse(self, items: Any, labels: Sequence[str], where: str, size: tuple[int, int] | None
              ) -> list[dict[str, Any]]:
        return parse_keypoints(items, labels, where, size)

    def task_input(self, line: dict[str, Any], label_config: dict[str, Any], short: str, full: str) -> dict[str, Any]:
        base = super().task_input(line, label_config, short, full)
        base["instanceLabel"] = instance_label(base["labels"])
        return base

    def consolidate(self, history: Sequence[ObjectAnswers], targets: set[int], labels: Sequence[str], *,
                    algorithm: str, workers_per_object: int) -> list[Label]:
        objects = [ShapeObject(obj.dataset_object_id, tuple(
            (worker, tuple(instances_of(body_of(content)["keypoints"]))) for worker, content in obj.answers))
            for obj in history]
        model = keypoint_consolidator(algorithm, labels=labels).fit(objects)
        out = []
        for obj in history:
            if obj.dataset_object_id not in targets:
                continue
            merged = model.instances_[obj.dataset_object_id]
            anns = [{"class_id": 0, "left": round(m.box[0]), "top": round(m.box[1]), "width": round(m.box[2]),
                     "height": round(m.box[3]), "keypoints": [{"label": k, "x": x, "y": y} for k, x, y in m.keypoints]}
                    for m in merged]
            out.append(shape_label(obj, anns, [m.confidence for m in merged], workers_per_object,
                                   {"class-map": {"0": instance_label(labels)} if merged else {},
                                    "keypoint-names": list(labels)}))
        return out

    def export_record(self, dataset_object_id: int, line: dict[str, Any], task_input: dict[str, Any] | None,
                      value: Any, metadata: dict[str, Any]) -> Any:
        from labelloop.core.exports.base import Shape

        size, conf, cmap = record_parts(value, metadata)
        names = list((metadata or {}).get("keypoint-names") or [])
        label = cmap.get("0") or instance_label(names)
        shapes = []
        for i, a in enumerate((value or {}).get("annotations") or []):
            placed = {k["label"]: (float(k["x"]), float(k["y"])) for k in a.get("keypoints", [])}
            flat: list[float] = []
            for n in names:
                x, y = placed.get(n, (0.0, 0.0))
                flat += [x, y, 2.0 if n in placed else 0.0]
            shapes.append(Shape(0, str(label), box=(float(a["left"]), float(a["top"]), float(a["width"]),
                                                    float(a["height"])),
                                keypoints=tuple(flat), confidence=conf[i] if i < len(conf) else 0.0))
        return image_objects(dataset_object_id, line, size, shapes,
                             color_map={"keypoint-names": names, "instance-label": str(label),
                                        "sigmas": {n: sigma_of(n) for n in names}})

    def initial_value(self, prior: Any) -> list[dict[str, Any]]:
        return [{**k, "instance": i} for i, a in enumerate((prior or {}).get("annotations") or [])
                for k in a.get("keypoints", [])]

    def preview(self, data: str, prior: Any) -> str:
        size = ((prior or {}).get("image_size") or [{}])[0]
        r = max(2, int(max(size.get("width", 0), size.get("height", 0)) / 150))
        shapes = []
        for i, a in enumerate((prior or {}).get("annotations") or []):
            c = color(i)
            for k in a.get("keypoints", []):
                shapes.append(f'<circle cx="{k["x"]}" cy="{k["y"]}" r="{r}" fill="{c}" stroke="#fff">'
                              f"<title>{html.escape(str(k['label']))}</title></circle>")
        return preview_svg(prior, shapes, data)


KEYPOINT = Keypoint()
KEYPOINT_TYPES: tuple[TaskType, ...] = with_chained(KEYPOINT)
"""Keypoints and their chained adjustment and verification jobs (``registry.py``)."""
