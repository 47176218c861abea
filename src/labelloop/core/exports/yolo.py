"""YOLO label files as Ultralytics reads them (``labels/<image stem>.txt``, one object a line, coordinates
normalised to 0..1 by the image's width and height, six decimals) and ``data.yaml``:

* ``yolo``: ``class cx cy w h`` (the box's centre and size);
* ``yolo-seg``: ``class x1 y1 x2 y2 ...`` (a polygon's vertices; a box without a polygon becomes its 4 corners,
  so a segmentation export is never empty where there are objects);
* ``yolo-pose``: ``class cx cy w h`` then ``x y v`` for each of the ``k`` keypoint labels (``5 + 3k`` columns;
  ``v`` 2 = placed and visible, 0 = not placed, with ``x y`` 0), ``kpt_shape: [k, 3]`` in ``data.yaml``.

An image without objects gets an empty file (a background image, as YOLO expects). ``class`` is the label's
index in the job's label list (``names`` in ``data.yaml``); a keypoint job has one class, its instance label.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from labelloop.core.exports.base import ImageObjects, Shape

__all__ = ["YOLO_FORMATS", "data_yaml", "label_stem", "yolo_lines"]

YOLO_FORMATS = ("yolo", "yolo-seg", "yolo-pose")


def label_stem(source_ref: str) -> str:
    """The file name of a ``source-ref`` without its extension (``s3://b/img/0001.jpg`` -> ``0001``)."""
    name = source_ref.rstrip("/").rsplit("/", 1)[-1] or "image"
    return name.rsplit(".", 1)[0] if "." in name[1:] else name


def _n(v: float) -> str:
    return f"{min(1.0, max(0.0, v)):.6f}"


def _box(shape: Shape, w: float, h: float) -> list[str]:
    left, top, bw, bh = shape.box or (0.0, 0.0, 0.0, 0.0)
    return [_n((left + bw / 2) / w), _n((top + bh / 2) / h), _n(bw / w), _n(bh / h)]


def yolo_lines(rec: ImageObjects, fmt: str) -> str:
    """The label file of one image in ``fmt`` (``yolo``, ``yolo-seg`` or ``yolo-pose``)."""
    w, h = float(max(rec.width, 1)), float(max(rec.height, 1))
    out = []
    for shape in rec.shapes:
        cols = [str(shape.class_id)]
        if fmt == "yolo":
            cols += _box(shape, w, h)
        elif fmt == "yolo-seg":
            ring: Sequence[float] = shape.polygons[0] if shape.polygons else ()
            if not ring and shape.box is not None:
                x, y, bw, bh = shape.box
                ring = (x, y, x + bw, y, x + bw, y + bh, x, y + bh)
            if len(ring) < 6:
                continue
            cols += [_n(v / (w if i % 2 == 0 else h)) for i, v in enumerate(ring)]
        else:
            cols += _box(shape, w, h)
            kp = shape.keypoints
            for i in range(0, len(kp), 3):
                placed = kp[i + 2] > 0
                cols += [_n(kp[i] / w) if placed else "0.000000", _n(kp[i + 1] / h) if placed else "0.000000",
                         str(int(kp[i + 2]))]
        out.append(" ".join(cols))
    return "".join(line + "\n" for line in out)


def data_yaml(names: Sequence[str], fmt: str, keypoints: int = 0) -> str:
    """Ultralytics' dataset file: ``path`` (this folder), ``train`` / ``val`` (``images``: put the images there
    next to ``labels``), ``names`` by index, and ``kpt_shape`` for pose."""
    lines = ["# written by labelloop; put the images in images/ beside labels/", "path: .", "train: images",
             "val: images", f"nc: {len(names)}", "names:"]
    lines += [f"  {i}: {json.dumps(x, ensure_ascii=False)}" for i, x in enumerate(names)]
    if fmt == "yolo-pose":
        lines.append(f"kpt_shape: [{keypoints}, 3]")
    return "\n".join(lines) + "\n"
