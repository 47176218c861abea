"""Polygons (``labelloop/polygon``) with ``crowd-polygon`` (spec §6.3). Ground Truth has no built-in output type for
them; labelloop's follows the object-detection shape.

Answer: ``{"<name>": {"polygons": [{"label", "vertices": [{"x", "y"}, ...]}], "inputImageProperties": {"width",
"height"}, "initialValueModified"?}}``: at least 3 vertices, pixels, origin top-left; vertices are clipped to
the image. Pre-annotations: ``"initial-value": [{label, vertices}]`` on the input line.

Output value: ``{"annotations": [{"class_id", "vertices": [{"x", "y"}], "left", "top", "width", "height"}],
"image_size": [{"width", "height", "depth": 3}]}`` (the box around each polygon, as integers); metadata
``objects: [{"confidence"}]`` (same order), ``class-map`` (the classes that occur), ``type: labelloop/polygon``.
Consolidated by mask IoU (``core/consolidation/polygons.py``).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from labelloop.core.consolidation.boxes import ShapeObject
from labelloop.core.consolidation.polygons import polygon_consolidator
from labelloop.core.errors import ValidationError
from labelloop.core.tasktypes.base import Label, ObjectAnswers, TaskType
from labelloop.core.tasktypes.boxes import (
    ShapeType,
    body_of,
    class_map,
    color,
    image_objects,
    labeled_items,
    number,
    preview_svg,
    record_parts,
    shape_label,
    shape_of,
    with_chained,
)

__all__ = ["POLYGON", "POLYGON_TYPES", "Polygon", "parse_polygons"]

MAX_VERTICES = 5000


def parse_polygons(items: Any, labels: Sequence[str], where: str, size: tuple[int, int] | None,
                   key: str = "vertices", min_vertices: int = 3) -> list[dict[str, Any]]:
    """``[{label, vertices: [{x, y}]}]`` checked (a job label, ``min_vertices`` or more finite points), clipped
    to the image of ``size``, rounded to 0.1 px."""
    out = []
    for at, p, label in labeled_items(items, labels, where, f"{{label, {key}: [{{x, y}}]}}", "shapes"):
        vs = p.get(key)
        if not isinstance(vs, list) or not min_vertices <= len(vs) <= MAX_VERTICES:
            raise ValidationError(f"{at}.{key} must be a list of {min_vertices} to {MAX_VERTICES} points {{x, y}}",
                                  field=f"{at}.{key}")
        points = []
        for j, v in enumerate(vs):
            pt = f"{at}.{key}[{j}]"
            if not isinstance(v, dict):
                raise ValidationError(f"{pt} must be an object {{x, y}}", field=pt)
            x, y = number(v.get("x"), f"{pt}.x"), number(v.get("y"), f"{pt}.y")
            if size is not None:
                x, y = min(max(x, 0.0), float(size[0])), min(max(y, 0.0), float(size[1]))
            points.append({"x": round(x, 1), "y": round(y, 1)})
        out.append({"label": label, key: points})
    return out


def _int(x: float) -> int:
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def _box(vertices: Sequence[dict[str, float]]) -> dict[str, int]:
    xs, ys = [v["x"] for v in vertices], [v["y"] for v in vertices]
    left, top = _int(min(xs)), _int(min(ys))
    return {"left": left, "top": top, "width": _int(max(xs)) - left, "height": _int(max(ys)) - top}


class Polygon(ShapeType):
    name = "polygon"
    gt_type = "labelloop/polygon"
    media = "image"
    element = "crowd-polygon"
    template = "polygon"
    algorithms = ("polygon-consensus",)
    min_labels = 1
    max_labels = 50
    export_formats = ("coco", "yolo-seg", "yolo", "voc")
    auditable = True
    key = "polygons"

    def parse(self, items: Any, labels: Sequence[str], where: str, size: tuple[int, int] | None
              ) -> list[dict[str, Any]]:
        return parse_polygons(items, labels, where, size)

    def consolidate(self, history: Sequence[ObjectAnswers], targets: set[int], labels: Sequence[str], *,
                    algorithm: str, workers_per_object: int) -> list[Label]:
        objects = [ShapeObject(obj.dataset_object_id, tuple(
            (worker, tuple((p["label"], tuple((v["x"], v["y"]) for v in p["vertices"]))
                           for p in body_of(content)[self.key]))
            for worker, content in obj.answers)) for obj in history]
        model = polygon_consolidator(algorithm).fit(objects)
        index = {label: i for i, label in enumerate(labels)}
        out = []
        for obj in history:
            if obj.dataset_object_id not in targets:
                continue
            merged = model.polygons_[obj.dataset_object_id]
            anns = []
            for p in merged:
                vertices = [{"x": x, "y": y} for x, y in p.vertices]
                anns.append({"class_id": index[p.label], "vertices": vertices, **_box(vertices)})
            out.append(shape_label(obj, anns, [p.confidence for p in merged], workers_per_object,
                                   {"class-map": class_map(labels, merged)}))
        return out

    def export_record(self, dataset_object_id: int, line: dict[str, Any], task_input: dict[str, Any] | None,
                      value: Any, metadata: dict[str, Any]) -> Any:
        size, conf, cmap = record_parts(value, metadata)
        shapes = []
        for i, a in enumerate((value or {}).get("annotations") or []):
            ring = tuple(c for v in a["vertices"] for c in (float(v["x"]), float(v["y"])))
            shapes.append(shape_of(a, i, conf, cmap, polygons=(ring,)))
        return image_objects(dataset_object_id, line, size, shapes)

    def initial_value(self, prior: Any) -> list[dict[str, Any]]:
        return self.initial_value_of({"prior": prior}, "prior", [])

    def initial_value_of(self, line: dict[str, Any], audit: str, labels: Sequence[str]) -> list[dict[str, Any]]:
        cmap = {**{str(i): x for i, x in enumerate(labels)},
                **((line.get(f"{audit}-metadata") or {}).get("class-map") or {})}
        return [{"label": cmap.get(str(a.get("class_id")), str(a.get("class_id"))), "vertices": a.get("vertices", [])}
                for a in (line.get(audit) or {}).get("annotations") or [] if isinstance(a, dict)]

    def preview(self, data: str, prior: Any) -> str:
        shapes = []
        for a in (prior or {}).get("annotations") or []:
            c = color(int(a.get("class_id", 0)))
            points = " ".join(f"{v['x']},{v['y']}" for v in a.get("vertices", []))
            shapes.append(f'<polygon points="{html.escape(points)}" fill="{c}" fill-opacity="0.2" stroke="{c}">'
                          f"<title>class {int(a.get('class_id', 0))}</title></polygon>")
        return preview_svg(prior, shapes, data)


POLYGON = Polygon()
POLYGON_TYPES: tuple[TaskType, ...] = with_chained(POLYGON)
"""Polygons and their chained adjustment and verification jobs (``registry.py``)."""
