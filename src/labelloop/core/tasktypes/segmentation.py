"""Semantic segmentation (``groundtruth/semantic-segmentation``, spec §2.4) with ``crowd-semantic-segmentation``.

Answer (spec §6.3): ``{"<name>": {"labeledImage": {"pngImageData": "<base64 PNG>"}, "labelMappings": {"<label>":
{"color": "#rrggbb"}}, "inputImageProperties": {"width", "height"}, "initialValueModified"?}}``. The PNG is
checked with Pillow: it must decode, have the size of ``inputImageProperties``, and hold only the colours of
``labelMappings`` and background (white, black or fully transparent pixels); the labels must be the job's.

Output: the LAN ends in ``-ref``; its value is the URI of a PNG label map written under the job's output
``annotations/consolidated-annotation/output/<datasetObjectId>_<creation date>.png``. The PNG is palette
('P') mode: a pixel's index is its class's key in ``internal-color-map`` *and* its palette colour that class's
``hex-color``, so readers by index and readers by colour both work (spec §2.4). Key ``"0"`` is ``BACKGROUND``
/ ``#ffffff``; the job's labels follow in order, each with the colour most workers gave it (else matplotlib's
tab10) and the image's confidence (``core/consolidation/masks.py``).
"""

from __future__ import annotations

import base64
import binascii
import html
import io
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from labelloop.core.consolidation.masks import MaskObject, mask_consolidator
from labelloop.core.errors import ValidationError
from labelloop.core.tasktypes.base import Label, ObjectAnswers, TaskType
from labelloop.core.tasktypes.boxes import (
    TAB10,
    BatchConsolidation,
    adjustment_status,
    answer_body,
    body_of,
    image_size,
    modified_flag,
    with_chained,
)

__all__ = ["SEGMENTATION_TYPES", "SEMANTIC_SEGMENTATION", "SemanticSegmentation", "decode_png", "label_map",
           "png_bytes"]

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
BACKGROUND = ("#ffffff", "#000000")
MAX_PIXELS = 8192 * 8192
FILE = "label-map.png"
CHUNK = 16  # objects whose label maps are decoded and consolidated together
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def _rgb(hex_color: str) -> int:
    v = int(hex_color[1:], 16)
    return ((v >> 16) & 255) | (((v >> 8) & 255) << 8) | ((v & 255) << 16) | (255 << 24)  # RGBA little-endian


def decode_png(data: Any, where: str) -> Image.Image:
    """A base64 PNG (optionally a ``data:image/png;base64,`` URL) decoded with Pillow."""
    if not isinstance(data, str) or not data:
        raise ValidationError(f"{where} must be a base64-encoded PNG", field=where)
    if data.startswith("data:"):
        data = data.split(",", 1)[-1]
    try:
        raw = base64.b64decode(data, validate=True)
        img = Image.open(io.BytesIO(raw))
        if img.format != "PNG":
            raise ValidationError(f"{where} is a {img.format} image, not a PNG", field=where)
        img.load()
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(f"{where} is not valid base64", field=where) from exc
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValidationError(f"{where} is not a readable PNG ({exc})", field=where) from exc
    return img


def _packed(img: Image.Image) -> np.ndarray:
    rgba = np.ascontiguousarray(np.asarray(img.convert("RGBA"), dtype=np.uint8))
    packed = rgba.view(np.uint32)[..., 0].copy()
    packed[rgba[..., 3] == 0] = _rgb("#ffffff")  # fully transparent: background
    return packed


def label_map(img: Image.Image, colors: dict[str, int], where: str | None = None) -> np.ndarray:
    """The class index of every pixel (``colors``: hex colour -> class index; background colours -> 0). With
    ``where``, a pixel of another colour raises a ValidationError naming it; without, it counts as background."""
    packed = _packed(img)
    out = np.zeros(packed.shape, dtype=np.uint8)
    known = np.zeros(packed.shape, dtype=bool) if where is not None else None
    for hex_color, index in colors.items():
        hit = packed == _rgb(hex_color)
        if index:
            out[hit] = index
        if known is not None:
            known |= hit
    if known is not None and not known.all():
        bad = int(packed[~known][0])
        rgb = f"#{bad & 255:02x}{(bad >> 8) & 255:02x}{(bad >> 16) & 255:02x}"
        raise ValidationError(f"{where} has pixels of colour {rgb}, which labelMappings does not map to a label "
                              f"(nor background)", field=where)
    return out


def png_bytes(classes: np.ndarray, palette: Sequence[str]) -> bytes:
    """A palette ('P') PNG: pixel index = class index, palette entry ``i`` = ``palette[i]``."""
    img = Image.fromarray(classes.astype(np.uint8), mode="P")
    flat: list[int] = []
    for c in palette:
        v = int(c[1:], 16)
        flat += [(v >> 16) & 255, (v >> 8) & 255, v & 255]
    img.putpalette(flat)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def _mappings(body: dict[str, Any], labels: Sequence[str], where: str) -> dict[str, str]:
    maps = body.get("labelMappings", {})
    field = f"{where}.labelMappings"
    if not isinstance(maps, dict):
        raise ValidationError(f'{field} must be an object {{"<label>": {{"color": "#rrggbb"}}}}', field=field)
    out: dict[str, str] = {}
    for label, m in maps.items():
        at = f"{field}.{label}"
        if label not in labels:
            raise ValidationError(f"{field}: {label!r} is not a label of this job", field=at)
        c = m.get("color") if isinstance(m, dict) else None
        if not isinstance(c, str) or not HEX.match(c):
            raise ValidationError(f"{at}.color must be a colour #rrggbb", field=f"{at}.color")
        if c.lower() in BACKGROUND or c.lower() in out.values():
            raise ValidationError(f"{at}.color {c} is background or another label's colour", field=f"{at}.color")
        out[label] = c.lower()
    return out


def _colors(mappings: dict[str, str], labels: Sequence[str]) -> dict[str, int]:
    return {BACKGROUND[0]: 0, BACKGROUND[1]: 0, **{c: labels.index(label) + 1 for label, c in mappings.items()}}


def labeled_image(body: dict[str, Any], where: str, size: tuple[int, int]) -> tuple[Any, Image.Image, str]:
    """An answer's ``labeledImage.pngImageData`` (as given), decoded, checked to be of the image's ``size``; with the
    field's name (for the caller's checks of its pixels)."""
    image = body.get("labeledImage")
    if not isinstance(image, dict):
        raise ValidationError(f"{where}.labeledImage must be an object {{pngImageData}}", field=f"{where}.labeledImage")
    at = f"{where}.labeledImage.pngImageData"
    img = decode_png(image.get("pngImageData"), at)
    if img.size != size:
        raise ValidationError(f"{at} is {img.size[0]}x{img.size[1]} pixels; the image is {size[0]}x{size[1]}", field=at)
    return image["pngImageData"], img, at


class SemanticSegmentation(BatchConsolidation):
    name = "semantic-segmentation"
    gt_type = "groundtruth/semantic-segmentation"
    media = "image"
    element = "crowd-semantic-segmentation"
    template = "semantic-segmentation"
    algorithms = ("mask-vote", "majority-vote")
    min_labels = 1
    max_labels = 254
    lan_must_end_with_ref = True
    export_formats = ("masks",)
    auditable = True

    def task_input(self, line: dict[str, Any], label_config: dict[str, Any], short: str, full: str) -> dict[str, Any]:
        base = super().task_input(line, label_config, short, full)
        base["labelColors"] = {x: TAB10[i % len(TAB10)] for i, x in enumerate(base["labels"])}
        initial = line.get("initial-value")
        base["initialValue"] = initial if isinstance(initial, dict) else None
        return base

    def validate_answer(self, answer: Any, labels: Sequence[str]) -> dict[str, Any]:
        name, body = answer_body(answer, self.element, "labeledImage")
        where = f"answer.{name}"
        width, height = image_size(body, where)
        mappings = _mappings(body, labels, where)
        data, img, at = labeled_image(body, where, (width, height))
        label_map(img, _colors(mappings, labels), at)
        out: dict[str, Any] = {"labeledImage": {"pngImageData": data},
                               "labelMappings": {k: {"color": c} for k, c in mappings.items()},
                               "inputImageProperties": {"width": width, "height": height}}
        modified_flag(body, out, where)
        return {name: out}

    def consolidate(self, history: Sequence[ObjectAnswers], targets: set[int], labels: Sequence[str], *,
                    algorithm: str, workers_per_object: int) -> list[Label]:
        mine = [obj for obj in history if obj.dataset_object_id in targets]
        votes = Counter[tuple[str, str]]()
        for obj in mine:
            for _worker, content in obj.answers:
                votes.update((k, v["color"].lower()) for k, v in (body_of(content).get("labelMappings") or {}).items()
                             if k in labels)
        palette = ["#ffffff"]
        for i, label in enumerate(labels):
            given = [(n, c) for (lb, c), n in votes.items() if lb == label and c not in palette]
            palette.append(max(given)[1] if given else TAB10[i % len(TAB10)])
        out = []
        # label maps are large: decoded and fitted CHUNK objects at a time (the workers' quality from those)
        for start in range(0, len(mine), CHUNK):
            part = mine[start:start + CHUNK]
            objects = []
            for obj in part:
                maps = []
                for worker, content in obj.answers:
                    body = body_of(content)
                    mappings = {k: v["color"].lower() for k, v in (body.get("labelMappings") or {}).items()
                                if k in labels}
                    img = decode_png(body["labeledImage"]["pngImageData"], "pngImageData")
                    maps.append((worker, label_map(img, _colors(mappings, labels))))
                objects.append(MaskObject(obj.dataset_object_id, tuple(maps)))
            model = mask_consolidator(algorithm).fit(objects)
            for obj in part:
                conf = 0.0 if workers_per_object == 1 else model.confidence_[obj.dataset_object_id]
                cmap = {str(i): {"class-name": "BACKGROUND" if i == 0 else labels[i - 1], "hex-color": c,
                                 "confidence": conf} for i, c in enumerate(palette)}
                meta: dict[str, Any] = {"internal-color-map": cmap}
                adjustment_status(obj, meta)
                mask = model.masks_[obj.dataset_object_id]
                out.append(Label(obj.dataset_object_id, FILE, meta, files=((FILE, png_bytes(mask, palette)),)))
        return out

    def export_record(self, dataset_object_id: int, line: dict[str, Any], task_input: dict[str, Any] | None,
                      value: Any, metadata: dict[str, Any]) -> Any:
        from labelloop.core.exports.base import ImageObjects

        return ImageObjects(dataset_object_id, str(line.get("source-ref", "")), 0, 0, (), mask_ref=str(value),
                            color_map=dict((metadata or {}).get("internal-color-map") or {}))

    def initial_value(self, prior: Any) -> dict[str, Any]:
        return {"src": prior, "labelMappings": {}}

    def initial_value_of(self, line: dict[str, Any], audit: str, labels: Sequence[str]) -> dict[str, Any]:
        cmap = (line.get(f"{audit}-metadata") or {}).get("internal-color-map") or {}
        return {"src": line.get(audit), "labelMappings": {
            v["class-name"]: {"color": v["hex-color"]} for k, v in cmap.items() if k != "0" and isinstance(v, dict)}}

    def preview(self, data: str, prior: Any) -> str:
        return ('<div class="ll-mask" style="position:relative;display:inline-block;max-width:100%">'
                f'<img src="{html.escape(data)}" alt="" style="display:block;max-width:100%">'
                f'<img src="{html.escape(str(prior))}" alt="" style="position:absolute;inset:0;width:100%;'
                'height:100%;opacity:.55;image-rendering:pixelated"></div>')


SEMANTIC_SEGMENTATION = SemanticSegmentation()
SEGMENTATION_TYPES: tuple[TaskType, ...] = with_chained(SEMANTIC_SEGMENTATION)
"""Semantic segmentation and its chained adjustment and verification jobs (``registry.py``)."""
