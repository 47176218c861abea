"""COCO "instances" JSON (the format of ``instances_*.json`` / ``person_keypoints_*.json``), streamed as text.

``images`` (``id`` = datasetObjectId + 1, ``file_name`` the ``source-ref``'s file name, ``coco_url`` the
``source-ref``, ``width``, ``height``), ``categories`` (``id`` = class index + 1, in the job's label order; a
keypoint job has one category, its instance label, with ``keypoints`` = the job's keypoint labels and an empty
``skeleton``) and ``annotations`` (``bbox`` ``[x, y, w, h]``, ``area``, ``iscrowd`` 0, ``segmentation`` as
polygons or, for masks, RLE, ``keypoints`` ``[x, y, v, ...]`` with ``num_keypoints``, and labelloop's
``score``: the consolidated confidence). A writer streams it in three parts so that memory stays constant:
``coco_head`` and every ``coco_image``, then ``coco_middle`` and every ``coco_annotations``, then
``coco_tail`` (``services/export.py`` reads the job's objects twice). ``rle_encode`` writes COCO's compressed
RLE strings without pycocotools.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from labelloop.core.exports.base import ImageObjects, Shape

__all__ = ["coco_annotations", "coco_categories", "coco_head", "coco_image", "coco_middle", "coco_tail",
           "file_name", "polygon_area", "rle_area", "rle_encode"]


def file_name(source_ref: str) -> str:
    """The last part of a ``source-ref`` (``s3://b/x/0001.jpg`` -> ``0001.jpg``)."""
    return source_ref.rstrip("/").rsplit("/", 1)[-1] or source_ref


def coco_categories(labels: Sequence[str], keypoint_names: Sequence[str] | None = None,
                    instance: str = "object") -> list[dict[str, Any]]:
    if keypoint_names is not None:
        return [{"id": 1, "name": instance, "supercategory": instance, "keypoints": list(keypoint_names),
                 "skeleton": []}]
    return [{"id": i + 1, "name": x, "supercategory": ""} for i, x in enumerate(labels)]


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def coco_head(categories: list[dict[str, Any]]) -> str:
    info = {"description": "exported by labelloop", "version": "1.0"}
    return f'{{"info":{_dump(info)},"licenses":[],"categories":{_dump(categories)},"images":['


def coco_image(rec: ImageObjects, first: bool) -> str:
    image = {"id": rec.id + 1, "file_name": file_name(rec.source_ref), "coco_url": rec.source_ref,
             "width": rec.width, "height": rec.height}
    return ("" if first else ",") + _dump(image)


def coco_middle() -> str:
    return '],"annotations":['


def coco_tail() -> str:
    return "]}\n"


def polygon_area(ring: Sequence[float]) -> float:
    """The shoelace area of a flat ``x0, y0, x1, y1...`` ring."""
    a = np.asarray(ring, dtype=np.float64).reshape(-1, 2)
    x, y = a[:, 0], a[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def _annotation(shape: Shape, image_id: int, ann_id: int, keypoints: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": ann_id, "image_id": image_id, "category_id": 1 if keypoints else shape.class_id + 1,
                           "iscrowd": 0}
    box = shape.box or (0.0, 0.0, 0.0, 0.0)
    out["bbox"] = [round(v, 2) for v in box]
    if shape.rle is not None:
        out["segmentation"] = shape.rle
        out["area"] = float(rle_area(shape.rle))
    elif shape.polygons:
        out["segmentation"] = [[round(v, 2) for v in ring] for ring in shape.polygons]
        out["area"] = round(sum(polygon_area(r) for r in shape.polygons), 2)
    else:
        out["area"] = round(box[2] * box[3], 2)
    if keypoints:
        out["keypoints"] = [round(v, 2) if i % 3 != 2 else int(v) for i, v in enumerate(shape.keypoints)]
        out["num_keypoints"] = sum(1 for v in shape.keypoints[2::3] if v > 0)
        if not shape.rle and not shape.polygons:
            out["area"] = round(box[2] * box[3], 2)
    out["score"] = shape.confidence
    return out


def coco_annotations(rec: ImageObjects, next_id: int, first: bool, keypoints: bool = False) -> tuple[str, int]:
    """The image's annotations as JSON text (with a leading comma unless ``first`` and none written yet) and
    the next annotation id."""
    parts = []
    for shape in rec.shapes:
        parts.append(_dump(_annotation(shape, rec.id + 1, next_id, keypoints)))
        next_id += 1
    if not parts:
        return "", next_id
    return ("" if first else ",") + ",".join(parts), next_id


def rle_encode(mask: np.ndarray) -> dict[str, Any]:
    """COCO's compressed RLE of a boolean ``H x W`` mask: ``{"size": [H, W], "counts": str}`` (column-major runs,
    starting with a run of zeros, each count LEB128-like in 5-bit groups, delta-coded after the third), the
    string pycocotools' ``mask.encode`` writes."""
    flat = np.asarray(mask, dtype=bool).reshape(mask.shape, order="C").ravel(order="F")
    h, w = mask.shape
    if flat.size == 0:
        return {"size": [int(h), int(w)], "counts": ""}
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat[0]:
        runs = [0, *runs]
    out = []
    for i, count in enumerate(runs):
        x = int(count)
        if i > 2:
            x -= int(runs[i - 2])
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return {"size": [int(h), int(w)], "counts": "".join(out)}


def rle_area(rle: dict[str, Any]) -> int:
    """The number of pixels of a compressed RLE (decoding only the counts)."""
    s, i = rle["counts"], 0
    runs: list[int] = []
    while i < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[i]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            i += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
    return int(sum(runs[1::2]))
