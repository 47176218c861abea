"""The image export formats over a stream of ``ImageObjects``: COCO's JSON text in parts, the files of the
folder formats (YOLO, VOC, masks) by name, and a JSON line per image. Memory stays constant but for one
8-byte hash per image file name (two images with the same file name get the second's ``datasetObjectId``
appended, and a warning)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from labelloop.core.exports.base import ImageObjects
from labelloop.core.exports.coco import (
    coco_annotations,
    coco_categories,
    coco_head,
    coco_image,
    coco_middle,
    coco_tail,
    file_name,
)
from labelloop.core.exports.masks import labelmap_txt
from labelloop.core.exports.voc import voc_xml
from labelloop.core.exports.yolo import YOLO_FORMATS, data_yaml, label_stem, yolo_lines

__all__ = ["coco_chunks", "folder_files", "image_jsonl_line"]


def _keypoint_names(rec: ImageObjects | None) -> list[str] | None:
    names = rec.color_map.get("keypoint-names") if rec is not None else None
    return list(names) if isinstance(names, list) else None


def _instance_label(rec: ImageObjects | None) -> str:
    return str(rec.color_map.get("instance-label", "object")) if rec is not None else "object"


def coco_chunks(first: Callable[[], Iterator[ImageObjects]], second: Callable[[], Iterator[ImageObjects]],
                labels: Sequence[str]) -> Iterator[str]:
    """COCO JSON text: ``first()`` is read for the images, ``second()`` for the annotations."""
    images = first()
    head = next(images, None)
    names = _keypoint_names(head)
    yield coco_head(coco_categories(labels, names, _instance_label(head)))
    n = 0
    for rec in ([head] if head is not None else []):
        yield coco_image(rec, True)
        n = 1
    for rec in images:
        yield coco_image(rec, n == 0)
        n += 1
    yield coco_middle()
    next_id, wrote = 1, False
    for rec in second():
        text, next_id = coco_annotations(rec, next_id, not wrote, names is not None)
        wrote = wrote or bool(text)
        yield text
    yield coco_tail()


class _Names:
    def __init__(self, warnings: list[str]):
        self.seen: set[int] = set()
        self.repeats = 0
        self.warnings = warnings

    def stem(self, rec: ImageObjects) -> str:
        stem = label_stem(rec.source_ref or str(rec.id))
        key = int.from_bytes(hashlib.blake2b(stem.encode(), digest_size=8).digest(), "big")
        if key in self.seen:
            self.repeats += 1
            stem = f"{stem}_{rec.id}"
        self.seen.add(key)
        return stem

    def warn(self) -> None:
        if self.repeats:
            self.warnings.append(f"{self.repeats:,} image file name(s) repeated: their files end in _<datasetObjectId>")


def folder_files(fmt: str, records: Iterator[ImageObjects], labels: Sequence[str],
                 read: Callable[[str], bytes] | None, warnings: list[str]) -> Iterator[tuple[str, bytes]]:
    """The files of ``fmt`` (``yolo``, ``yolo-seg``, ``yolo-pose``, ``voc`` or ``masks``) by their names."""
    names = _Names(warnings)
    last: ImageObjects | None = None
    for rec in records:
        last = rec
        stem = names.stem(rec)
        if fmt in YOLO_FORMATS:
            yield f"labels/{stem}.txt", yolo_lines(rec, fmt).encode()
        elif fmt == "voc":
            yield f"Annotations/{stem}.xml", voc_xml(rec).encode()
        elif fmt == "masks" and rec.mask_ref and read is not None:
            yield f"SegmentationClass/{stem}.png", read(rec.mask_ref)
    if fmt in YOLO_FORMATS:
        kp = _keypoint_names(last)
        classes = [_instance_label(last)] if kp is not None else list(labels)
        yield "data.yaml", data_yaml(classes, fmt, len(kp or [])).encode()
    elif fmt == "voc":
        yield "labels.txt", "".join(f"{x}\n" for x in labels).encode()
    elif fmt == "masks":
        cmap: dict[str, Any] = last.color_map if last is not None else {
            "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff"}}
        yield "labelmap.txt", labelmap_txt(cmap).encode()
    names.warn()


def image_jsonl_line(rec: ImageObjects) -> str:
    """``{"id", "source-ref", "file_name", "width", "height", "objects": [{"label", "class_id", "bbox",
    "polygons"?, "keypoints"?, "confidence"}]}`` (or ``"mask-ref"``) as one line."""
    objects = []
    for s in rec.shapes:
        o: dict[str, Any] = {"label": s.label, "class_id": s.class_id, "bbox": list(s.box or ())}
        if s.polygons:
            o["polygons"] = [list(r) for r in s.polygons]
        if s.keypoints:
            o["keypoints"] = list(s.keypoints)
        o["confidence"] = s.confidence
        objects.append(o)
    out: dict[str, Any] = {"id": rec.id, "source-ref": rec.source_ref, "file_name": file_name(rec.source_ref),
                           "width": rec.width, "height": rec.height, "objects": objects}
    if rec.mask_ref:
        out["mask-ref"] = rec.mask_ref
    return json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n"
