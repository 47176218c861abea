"""Semantic segmentation masks from several workers: a per-pixel vote weighted by worker quality, smoothed.

Each worker's answer is a label map: an ``H x W`` integer array of class indices (0 = background, ``k`` = the
job's ``k``-th label). Two estimators, one protocol (``fit(objects)`` returns ``self``; ``masks_`` and
``confidence_`` per object key; ``quality_`` per worker):

* :class:`MaskVote` (``"mask-vote"``, the default): a per-pixel vote weighted by worker quality, each
  worker's vote smoothed over the pixel's neighbourhood: instead of 1 or 0 for "painted this class here", a
  worker votes the signed distance from the pixel to the edge of the region they painted (positive inside,
  clamped to ``radius`` = 6 px). Each pixel takes the class whose weighted mean distance is the largest
  positive one, else background. The vote of edges becomes their weighted *mean* (workers who paint 2 px too
  wide and 2 px too narrow cancel out) where a plain vote keeps their *median*, and a thin part one worker
  eroded away is outvoted by the depth the others give it. Only pixels where workers differ are computed
  (tiles of 64 px with a ``radius`` margin; ``scipy.ndimage``'s chamfer distance transform, taxicab metric): where all agree, the
  answer is theirs. A vote at the clamp (no edge of that worker's within ``radius``: they painted nothing
  there, or all of it) counts a tenth (``saturated``), so one worker who missed an object or painted the whole
  image moves the others' edges by a fraction of a pixel. A worker's weight is ``1 / (1 - q + 0.05)``, ``q``
  their mean IoU (over the classes either painted) with the consensus across the job, shrunk towards the
  typical worker's by ``prior`` = 3 images and re-estimated over ``n_iter`` rounds: a careless worker counts
  less than a careful one. A label map whose size differs from the first worker's is left out.
* :class:`PixelMajority` (``"majority-vote"``): each pixel takes the class most workers painted (ties: the
  lower class index); the baseline of ``bench/spatial.py``.

Confidence per image (Ground Truth writes one, the same for every class): the mean share of the weight agreeing
with the result over the pixels any worker painted (1.0 when nobody painted anything), at most 0.95; 0 with
one worker.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
from scipy import ndimage

__all__ = ["CONFIDENCE_CEILING", "MASK_ALGORITHMS", "MaskObject", "MaskVote", "PixelMajority", "mask_consolidator",
           "mean_iou"]

CONFIDENCE_CEILING = 0.95


@dataclass(frozen=True, slots=True)
class MaskObject:
    """One data object: each worker's label map (``H x W`` class indices, uint8 or wider)."""

    key: Hashable
    answers: tuple[tuple[str, np.ndarray], ...]


def mean_iou(a: np.ndarray, b: np.ndarray, classes: Sequence[int] | None = None) -> float:
    """The mean over classes (default: the foreground classes in either map) of the IoU of ``a`` and ``b``;
    1.0 when neither has any."""
    if classes is None:
        classes = [int(c) for c in np.union1d(np.unique(a), np.unique(b)) if c != 0]
    if not classes:
        return 1.0
    scores = []
    for c in classes:
        x, y = a == c, b == c
        union = np.count_nonzero(x | y)
        scores.append(np.count_nonzero(x & y) / union if union else 1.0)
    return float(np.mean(scores))


def _usable(obj: MaskObject) -> list[tuple[str, np.ndarray]]:
    if not obj.answers:
        return []
    shape = obj.answers[0][1].shape
    return [(w, m) for w, m in obj.answers if m.shape == shape]


class MaskVote:
    """Quality-weighted vote of clamped signed distances (see the module docstring)."""

    def __init__(self, radius: int = 6, n_iter: int = 2, tile: int = 64, saturated: float = 0.1, prior: float = 3.0,
                 metric: str = "taxicab"):
        self.radius, self.n_iter, self.tile, self.saturated, self.prior = radius, n_iter, tile, saturated, prior
        self.metric = metric  # of the distances: "taxicab" or "chessboard" (chamfer, fast) or "euclidean"

    def fit(self, objects: Sequence[MaskObject]) -> Self:
        self.quality_: dict[str, float] = defaultdict(lambda: 1.0)
        for round_ in range(self.n_iter + 1):
            self.masks_: dict[Hashable, np.ndarray] = {}
            self.confidence_: dict[Hashable, float] = {}
            for obj in objects:
                self.masks_[obj.key], self.confidence_[obj.key] = self._object(obj)
            if round_ < self.n_iter:
                self._estimate(objects)
        return self

    def _weights(self, answers: Sequence[tuple[str, np.ndarray]]) -> np.ndarray:
        return np.array([1.0 / (1.0 - min(self.quality_[w], 1.0) + 0.05) for w, _ in answers], dtype=np.float32)

    def _object(self, obj: MaskObject) -> tuple[np.ndarray, float]:
        answers = _usable(obj)
        if not answers:
            return np.zeros((0, 0), dtype=np.uint8), 0.0
        stack = np.stack([m.astype(np.uint8, copy=False) for _, m in answers])
        weights = self._weights(answers)
        out = stack[0].copy()
        differ = (stack[1:] != stack[0]).any(axis=0) if len(stack) > 1 else np.zeros(out.shape, dtype=bool)
        if differ.any():
            self._resolve(stack, weights, differ, out)
        painted = (stack != 0).any(axis=0)
        if len(answers) < 2:
            return out, 0.0
        if not painted.any():
            return out, CONFIDENCE_CEILING
        agree = np.tensordot(weights, (stack[:, painted] == out[painted]).astype(np.float32), axes=1)
        return out, min(CONFIDENCE_CEILING, round(float(agree.mean() / weights.sum()), 2))

    def _resolve(self, stack: np.ndarray, weights: np.ndarray, differ: np.ndarray, out: np.ndarray) -> None:
        """Label the pixels where workers differ: each class's weighted mean of the workers' signed distances to
        its edge (clamped to ``radius``); the class with the largest positive mean wins, background where none
        is positive. Where all workers agree every mean says the same, so only the tiles with a difference are
        computed: all of them at once, cut out with a ``radius`` margin and laid side by side in one image for
        one distance transform per class (a tile's own pixels are never nearer than ``radius`` to another's)."""
        t, r = self.tile, self.radius
        _n, h, w = stack.shape
        ny, nx = -(-h // t), -(-w // t)
        padded = np.zeros((ny * t, nx * t), dtype=bool)
        padded[:h, :w] = differ
        tiles = np.argwhere(padded.reshape(ny, t, nx, t).any(axis=(1, 3)))
        big = np.pad(stack, ((0, 0), (r, r + ny * t - h), (r, r + nx * t - w)), mode="edge")
        side = t + 2 * r
        crops = np.stack([big[:, y * t:y * t + side, x * t:x * t + side] for y, x in tiles])  # N x n x side x side
        best = np.zeros((len(tiles), t, t), dtype=np.float32)
        label = np.zeros((len(tiles), t, t), dtype=np.uint8)
        wt = weights[None, :, None, None]
        for c in np.unique(crops):
            if c == 0:
                continue
            has = (crops == c).any(axis=(1, 2, 3))
            region = crops[has] == c
            sdf = self._signed_distance(region)[:, :, r:r + t, r:r + t]
            # a vote at the clamp (no edge of this worker's within ``radius``) counts ``saturated``: a worker
            # who painted nothing here, or everything, moves the others' edges by a fraction of a pixel
            trust = np.where(np.abs(sdf) >= r, np.float32(self.saturated), np.float32(1.0)) * wt
            mean = (sdf * trust).sum(axis=1) / trust.sum(axis=1)
            sub_best, sub_label = best[has], label[has]
            win = mean > sub_best
            sub_label[win] = c
            best[has], label[has] = np.maximum(sub_best, mean), sub_label
        for (y, x), tile_label in zip(tiles, label):
            y0, x0 = int(y) * t, int(x) * t
            y1, x1 = min(h, y0 + t), min(w, x0 + t)
            here = differ[y0:y1, x0:x1]
            out[y0:y1, x0:x1][here] = tile_label[:y1 - y0, :x1 - x0][here]

    def _signed_distance(self, region: np.ndarray) -> np.ndarray:
        """Of each 2-D slice of ``region`` (any leading axes): the distance of each pixel to the edge of the
        region, positive inside, negative outside, half a pixel at the edge, clamped to ``radius``. The slices
        are stacked into one tall image for one transform (a slice's margin keeps them apart)."""
        shape = region.shape
        flat = region.reshape(-1, shape[-1])
        if self.metric == "euclidean":
            inside = ndimage.distance_transform_edt(flat)
            outside = ndimage.distance_transform_edt(~flat)
        else:
            inside = ndimage.distance_transform_cdt(flat, metric=self.metric)
            outside = ndimage.distance_transform_cdt(~flat, metric=self.metric)
        sdf: np.ndarray = np.where(flat, inside - 0.5, 0.5 - outside).astype(np.float32)
        out: np.ndarray = np.clip(sdf, -self.radius, self.radius).reshape(shape)
        return out

    def _estimate(self, objects: Sequence[MaskObject]) -> None:
        scores: dict[str, list[float]] = defaultdict(list)
        for obj in objects:
            answers = _usable(obj)
            if len(answers) < 2:
                continue
            ref = self.masks_[obj.key]
            for w, m in answers:
                scores[w].append(mean_iou(m, ref))
        if not scores:
            return
        typical = float(np.mean([x for v in scores.values() for x in v]))
        # shrunk towards the typical score by ``prior`` images: one image says little about a worker
        self.quality_ = defaultdict(lambda: typical, {
            w: (float(np.sum(v)) + self.prior * typical) / (len(v) + self.prior) for w, v in scores.items()})


class PixelMajority:
    """Each pixel: the class most workers painted, ties to the lower index (see the module docstring)."""

    def fit(self, objects: Sequence[MaskObject]) -> Self:
        self.masks_: dict[Hashable, np.ndarray] = {}
        self.confidence_: dict[Hashable, float] = {}
        self.quality_: dict[str, float] = {}
        for obj in objects:
            answers = _usable(obj)
            if not answers:
                self.masks_[obj.key], self.confidence_[obj.key] = np.zeros((0, 0), dtype=np.uint8), 0.0
                continue
            shape = answers[0][1].shape
            classes = sorted({int(c) for _, m in answers for c in np.unique(m)})
            best = np.full(shape, -1, dtype=np.int32)
            out = np.zeros(shape, dtype=np.uint8)
            for c in classes:
                count = np.zeros(shape, dtype=np.int32)
                for _, m in answers:
                    count += m == c
                better = count > best
                out[better], best = c, np.maximum(best, count)
            painted = np.zeros(shape, dtype=bool)
            for _, m in answers:
                painted |= m != 0
            share = float(best[painted].mean() / len(answers)) if painted.any() else 1.0
            self.masks_[obj.key] = out
            self.confidence_[obj.key] = 0.0 if len(answers) < 2 else min(CONFIDENCE_CEILING, round(share, 2))
        return self


MASK_ALGORITHMS: dict[str, type[MaskVote] | type[PixelMajority]] = {
    "mask-vote": MaskVote,
    "majority-vote": PixelMajority,
}


def mask_consolidator(name: str) -> MaskVote | PixelMajority:
    """A new mask estimator by its job / API name (``mask-vote`` or ``majority-vote``)."""
    return MASK_ALGORITHMS[name]()
