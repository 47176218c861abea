"""Polygons and instance masks from several workers, matched by mask IoU (instance masks:
:class:`MaskInstanceConsensus`, at the end).

A polygon is ``(label, vertices)`` with ``vertices`` a tuple of ``(x, y)`` pixel points (at least 3), origin
top-left. :class:`PolygonConsensus` (``"polygon-consensus"``): per object and per label, polygons are
rasterised (Pillow) and matched one-to-one across workers on their mask IoU (``boxes.match_clusters``: the
Hungarian assignment, the best workers first, pairs under ``iou_threshold`` apart). A cluster is kept when its
workers carry at least ``min_support`` of the weight of the object's workers (workers' weights: their smoothed
F1 against the consensus at mask IoU >= 0.5, over ``n_iter`` rounds). Its result is the member polygon with the
highest weighted mean mask IoU with the other members (the medoid: always a polygon some worker drew, never
an average of outlines with different vertex counts). Confidence = support x the mean IoU of the members with
the result, at most 0.95; 0 with one worker.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from PIL import Image, ImageDraw

from .boxes import ShapeObject, Tally, cluster_support, confidence, match_clusters, matched_count, worker_weights

__all__ = ["INSTANCE_ALGORITHMS", "POLYGON_ALGORITHMS", "MaskInstanceConsensus", "MergedMask", "MergedPolygon",
           "PolygonConsensus", "Vertices", "mask_iou_matrix", "polygon_consolidator", "polygon_iou_matrix",
           "rasterize"]

Vertices = tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class MergedPolygon:
    label: str
    vertices: Vertices
    confidence: float


def _bbox(v: Vertices) -> tuple[int, int, int, int]:
    a = np.asarray(v, dtype=np.float64)
    return (int(np.floor(a[:, 0].min())), int(np.floor(a[:, 1].min())),
            int(np.ceil(a[:, 0].max())) + 1, int(np.ceil(a[:, 1].max())) + 1)


def rasterize(v: Vertices, left: int, top: int, width: int, height: int) -> np.ndarray:
    """The polygon's pixels in the window ``(left, top, width, height)`` as a boolean ``height x width`` array."""
    img = Image.new("1", (max(1, width), max(1, height)), 0)
    ImageDraw.Draw(img).polygon([(x - left, y - top) for x, y in v], fill=1, outline=1)
    return np.asarray(img, dtype=bool)


def polygon_iou_matrix(a: Sequence[Vertices], b: Sequence[Vertices]) -> np.ndarray:
    """Mask IoU of every polygon of ``a`` with every polygon of ``b`` (rasterised in their common window)."""
    out = np.zeros((len(a), len(b)))
    ba, bb = [_bbox(v) for v in a], [_bbox(v) for v in b]
    for i, (p, (x0, y0, x1, y1)) in enumerate(zip(a, ba)):
        for j, (q, (u0, v0, u1, v1)) in enumerate(zip(b, bb)):
            if u0 >= x1 or x0 >= u1 or v0 >= y1 or y0 >= v1:
                continue
            left, top = min(x0, u0), min(y0, v0)
            w, h = max(x1, u1) - left, max(y1, v1) - top
            m, n = rasterize(p, left, top, w, h), rasterize(q, left, top, w, h)
            union = np.count_nonzero(m | n)
            out[i, j] = np.count_nonzero(m & n) / union if union else 0.0
    return out


def _by_label(answers: Sequence[tuple[str, Sequence[tuple[str, Vertices]]]]) -> dict[str, list[list[Vertices]]]:
    out: dict[str, list[list[Vertices]]] = {}
    for w, (_worker, shapes) in enumerate(answers):
        for label, vertices in shapes:
            out.setdefault(label, [[] for _ in answers])[w].append(tuple(vertices))
    return out


def _sim(a: Sequence[Any], b: Sequence[Any]) -> np.ndarray:
    return polygon_iou_matrix(a, b)


def label_f1(objects: Sequence[ShapeObject], truth: Callable[[Hashable], Sequence[tuple[str, Any]]],
             similarity: Callable[[Sequence[Any], Sequence[Any]], np.ndarray], smoothing: float) -> dict[str, float]:
    """Each worker's smoothed F1 against the consensus ``truth(key)`` (``(label, shape)`` pairs) of the objects
    two or more workers answered: per label, shapes matched one-to-one at ``similarity`` >= 0.5."""
    tally = Tally()
    for obj in objects:
        if len(obj.answers) < 2:
            continue
        consensus = truth(obj.key)
        for worker, shapes in obj.answers:
            for label in {s[0] for s in shapes} | {lb for lb, _ in consensus}:
                mine = [shape for lb, shape in shapes if lb == label]
                ref = [shape for lb, shape in consensus if lb == label]
                matched = matched_count(similarity(mine, ref)) if mine and ref else 0
                tally.add(worker, len(mine), len(ref), matched)
    return tally.quality(smoothing)


class PolygonConsensus:
    """Mask-IoU matching per label, the weighted medoid of each kept cluster (see the module docstring)."""

    def __init__(self, iou_threshold: float = 0.4, min_support: float = 0.5, n_iter: int = 2, smoothing: float = 1.0):
        self.iou_threshold, self.min_support, self.n_iter, self.smoothing = iou_threshold, min_support, n_iter, smoothing

    def fit(self, objects: Sequence[ShapeObject]) -> Self:
        self.quality_: dict[str, float] = defaultdict(lambda: 1.0)
        for round_ in range(self.n_iter + 1):
            self.polygons_ = {obj.key: self._object(obj) for obj in objects}
            if round_ < self.n_iter:
                self._estimate(objects)
        return self

    def _object(self, obj: ShapeObject) -> list[MergedPolygon]:
        workers, q, total = worker_weights(self.quality_, obj)
        out = []
        for label, shapes in _by_label(obj.answers).items():
            order = sorted(range(len(workers)), key=lambda i: (-q[i], i))
            for cluster in match_clusters(shapes, _sim, self.iou_threshold, order):
                if (kept := cluster_support(cluster, q, total, self.min_support)) is None:
                    continue
                who, support = kept
                members = [shapes[w][j] for w, j in cluster]
                iou = polygon_iou_matrix(members, members)
                wt = q[who]
                score = (iou * wt[None]).sum(axis=1) - wt  # weighted IoU with the other members
                best = int(np.argmax(score)) if len(members) > 1 else 0
                fit = float(iou[best].mean())
                out.append(MergedPolygon(label, members[best], confidence(support, fit, len(workers))))
        return sorted(out, key=lambda p: (_bbox(p.vertices)[1], _bbox(p.vertices)[0], p.label))

    def _estimate(self, objects: Sequence[ShapeObject]) -> None:
        self.quality_ = label_f1(objects, lambda key: [(t.label, t.vertices) for t in self.polygons_[key]],
                                 polygon_iou_matrix, self.smoothing)


POLYGON_ALGORITHMS: dict[str, type[PolygonConsensus]] = {"polygon-consensus": PolygonConsensus}


def polygon_consolidator(name: str) -> PolygonConsensus:
    """A new polygon estimator by its job / API name (``polygon-consensus``)."""
    return POLYGON_ALGORITHMS[name]()


@dataclass(frozen=True, slots=True)
class MergedMask:
    label: str
    mask: np.ndarray  # boolean, the image's size
    confidence: float


def mask_iou_matrix(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> np.ndarray:
    """IoU of every boolean mask of ``a`` with every one of ``b`` (all of one image's size)."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    x = np.stack([m.ravel() for m in a]).astype(np.float32)
    y = np.stack([m.ravel() for m in b]).astype(np.float32)
    inter = x @ y.T
    union = x.sum(axis=1)[:, None] + y.sum(axis=1)[None] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


class MaskInstanceConsensus:
    """Instance masks (``crowd-instance-segmentation``), as :class:`PolygonConsensus` but on the masks themselves:
    matched one-to-one across workers by mask IoU (Hungarian, per label), a cluster kept with ``min_support`` of
    the workers' weight (smoothed F1 at IoU >= 0.5), its mask the pixels that members with at least half of the
    cluster's weight painted. Confidence = support x the mean IoU of the members with the result, at most 0.95;
    0 with one worker. An object's answers are ``(worker, ((label, boolean mask), ...))``."""

    def __init__(self, iou_threshold: float = 0.4, min_support: float = 0.5, n_iter: int = 2, smoothing: float = 1.0):
        self.iou_threshold, self.min_support, self.n_iter, self.smoothing = iou_threshold, min_support, n_iter, smoothing

    def fit(self, objects: Sequence[ShapeObject]) -> Self:
        self.quality_: dict[str, float] = defaultdict(lambda: 1.0)
        for round_ in range(self.n_iter + 1):
            self.masks_ = {obj.key: self._object(obj) for obj in objects}
            if round_ < self.n_iter:
                self._estimate(objects)
        return self

    def _object(self, obj: ShapeObject) -> list[MergedMask]:
        workers, q, total = worker_weights(self.quality_, obj)
        shapes: dict[str, list[list[np.ndarray]]] = {}
        for w, (_worker, instances) in enumerate(obj.answers):
            for label, mask in instances:
                shapes.setdefault(label, [[] for _ in workers])[w].append(mask)
        out = []
        for label, per_worker in shapes.items():
            order = sorted(range(len(workers)), key=lambda i: (-q[i], i))
            for cluster in match_clusters(per_worker, mask_iou_matrix, self.iou_threshold, order):
                if (kept := cluster_support(cluster, q, total, self.min_support)) is None:
                    continue
                who, support = kept
                members = [per_worker[w][j] for w, j in cluster]
                wt = q[who]
                votes = np.tensordot(wt, np.stack(members).astype(np.float32), axes=1)
                merged = votes >= 0.5 * float(wt.sum()) - 1e-9
                if not merged.any():
                    continue
                fit = float(mask_iou_matrix(members, [merged]).mean())
                out.append(MergedMask(label, merged, confidence(support, fit, len(workers))))
        return out

    def _estimate(self, objects: Sequence[ShapeObject]) -> None:
        self.quality_ = label_f1(objects, lambda key: [(t.label, t.mask) for t in self.masks_[key]], mask_iou_matrix,
                                 self.smoothing)


INSTANCE_ALGORITHMS: dict[str, type[MaskInstanceConsensus]] = {"instance-consensus": MaskInstanceConsensus}
