"""Bounding boxes from several workers: match, weigh workers, average, keep what enough workers drew.

A box is ``(label, left, top, width, height)`` in pixels, origin top-left (Ground Truth's ``boundingBoxes``).
Two estimators, one protocol (``fit(objects)`` returns ``self``, results in ``boxes_``):

* :class:`BoxConsensus` (``"box-consensus"``, the default). Per object and per label, the workers' boxes are
  matched one-to-one across workers (Hungarian assignment, ``scipy.optimize.linear_sum_assignment``, on the mean
  IoU of a box to a cluster's members; the best workers first; pairs under ``iou_threshold`` stay apart), so one
  worker's two boxes never fall in one cluster. A cluster is kept when its workers carry at least
  ``min_support`` of the detection weight of the workers who answered the object (a worker who drew nothing
  counts against every cluster). Its box is the average of its members' coordinates, each weighted by its
  worker's localisation precision: the inverse of their mean squared edge error (relative to the box's size)
  against the consensus, so a careless worker's box counts about a quarter. Workers' detection weights are their
  smoothed F1 against the consensus (IoU >= 0.5). Both are re-estimated over ``n_iter`` rounds on the whole job.
  Confidence per box = support x the mean IoU of its members with the result, at most 0.95 (Ground Truth's
  ceiling); 0 with one worker.
* :class:`CvatMerge` (``"cvat-merge"``): CVAT's consensus merge, the baseline of ``bench/spatial.py``: every
  pair of workers is matched one-to-one at IoU >= 0.5 whatever the label, matches are joined into clusters,
  a cluster needs a quorum (half of the object's workers), its label is the vote, its box the member nearest
  the others (the highest sum of IoU). Confidence = the share of workers in the cluster.

``match_clusters`` is the matcher both this module and polygons / keypoints use; ``worker_weights``,
``cluster_support``, ``confidence`` and ``Tally`` (the workers' smoothed F1) are the rest of what they share.

>>> objs = [ShapeObject(0, (("a", (("dog", 10, 10, 50, 50),)), ("b", (("dog", 12, 10, 50, 50),)), ("c", ())))]
>>> [(b.label, b.left, b.confidence) for b in BoxConsensus().fit(objs).boxes_[0]]
[('dog', 11.0, 0.79)]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["BOX_ALGORITHMS", "CONFIDENCE_CEILING", "Box", "BoxConsensus", "CvatMerge", "MergedBox", "ShapeObject",
           "Tally", "box_consolidator", "cluster_support", "confidence", "iou_matrix", "match_clusters",
           "matched_count", "worker_weights"]

Box = tuple[str, float, float, float, float]  # (label, left, top, width, height)
CONFIDENCE_CEILING = 0.95
Member = tuple[int, int]  # (worker index in the object's answers, shape index in that worker's answer)


@dataclass(frozen=True, slots=True)
class ShapeObject:
    """One data object: each worker's shapes (an empty tuple: the worker drew nothing)."""

    key: Hashable
    answers: tuple[tuple[str, tuple[Any, ...]], ...]


@dataclass(frozen=True, slots=True)
class MergedBox:
    label: str
    left: float
    top: float
    width: float
    height: float
    confidence: float


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (n x 4: left, top, width, height) with every box of ``b`` (m x 4)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, 0][:, None], b[:, 0][None]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, 1][:, None], b[:, 1][None]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match_clusters(shapes: Sequence[Sequence[Any]], similarity: Callable[[Sequence[Any], Sequence[Any]], np.ndarray],
                   threshold: float, order: Sequence[int] | None = None) -> list[list[Member]]:
    """Clusters of shapes of different workers: ``shapes[w]`` is worker ``w``'s list; workers join in ``order``
    (best first), each of their shapes assigned (Hungarian) to at most one existing cluster, on its mean
    ``similarity`` to the cluster's members, when that is at least ``threshold``; else it starts a cluster."""
    clusters: list[list[Member]] = []
    seen: list[Any] = []  # every shape placed so far, in the order of ``owner``
    owner: list[int] = []  # the cluster of each seen shape
    for w in order if order is not None else range(len(shapes)):
        mine = list(shapes[w])
        if not mine:
            continue
        if clusters:
            sim = similarity(seen, mine)  # len(seen) x len(mine)
            member = np.zeros((len(clusters), len(seen)))
            member[np.asarray(owner), np.arange(len(seen))] = 1.0
            score = (member @ sim) / member.sum(axis=1, keepdims=True)
            rows, cols = linear_sum_assignment(-score)
            taken = {int(c): int(r) for r, c in zip(rows, cols) if score[r, c] >= threshold}
        else:
            taken = {}
        for j, shape in enumerate(mine):
            c = taken.get(j)
            if c is None:
                c = len(clusters)
                clusters.append([])
            clusters[c].append((w, j))
            seen.append(shape)
            owner.append(c)
    return clusters


def worker_weights(quality: dict[str, float], obj: ShapeObject) -> tuple[list[str], np.ndarray, float]:
    """``(workers, their weights, the weights' sum)`` of an object's answers."""
    workers = [w for w, _ in obj.answers]
    q = np.array([quality[w] for w in workers])
    return workers, q, float(q.sum())


def cluster_support(cluster: Sequence[Member], q: np.ndarray, total: float, min_support: float
                    ) -> tuple[np.ndarray, float] | None:
    """``(the cluster's worker indices, its share of the object's workers' weight)``; None under ``min_support``."""
    who = np.array([w for w, _ in cluster])
    support = float(q[who].sum()) / total if total else 0.0
    if support < min_support - 1e-9:
        return None
    return who, support


def confidence(support: float, fit: float, n_workers: int) -> float:
    """support x fit, at most ``CONFIDENCE_CEILING``; 0 with one worker."""
    return 0.0 if n_workers <= 1 else min(CONFIDENCE_CEILING, round(support * fit, 2))


def matched_count(sim: np.ndarray, threshold: float = 0.5) -> int:
    """How many of a worker's shapes match the consensus one-to-one (Hungarian) at ``sim`` >= ``threshold``."""
    rows, cols = linear_sum_assignment(-sim)
    return int((sim[rows, cols] >= threshold).sum())


class Tally:
    """True / false positives and misses of each worker against the consensus, and the smoothed F1 from them."""

    def __init__(self) -> None:
        self.tp: dict[str, float] = defaultdict(float)
        self.fp: dict[str, float] = defaultdict(float)
        self.fn: dict[str, float] = defaultdict(float)

    def add(self, worker: str, mine: int, ref: int, matched: int) -> None:
        self.tp[worker] += matched
        self.fp[worker] += mine - matched
        self.fn[worker] += ref - matched

    def quality(self, smoothing: float) -> dict[str, float]:
        """Each worker's smoothed F1 ``(2 tp + a) / (2 tp + fp + fn + 2 a)``; 1 for a worker never counted."""
        tp, fp, fn, a = self.tp, self.fp, self.fn, smoothing
        return defaultdict(lambda: 1.0, {w: (2 * tp[w] + a) / (2 * tp[w] + fp[w] + fn[w] + 2 * a) for w in tp})


def _boxes_by_label(answers: Sequence[tuple[str, Sequence[Box]]]) -> dict[str, list[list[tuple[float, ...]]]]:
    out: dict[str, list[list[tuple[float, ...]]]] = {}
    for w, (_worker, boxes) in enumerate(answers):
        for label, *coords in boxes:
            out.setdefault(label, [[] for _ in answers])[w].append(tuple(float(c) for c in coords))
    return out


def _sim(a: Sequence[Any], b: Sequence[Any]) -> np.ndarray:
    return iou_matrix(np.asarray(a), np.asarray(b))


class BoxConsensus:
    """Hungarian matching per label with quality-weighted averaging (see the module docstring)."""

    def __init__(self, iou_threshold: float = 0.4, min_support: float = 0.5, n_iter: int = 3, smoothing: float = 1.0):
        self.iou_threshold, self.min_support, self.n_iter, self.smoothing = iou_threshold, min_support, n_iter, smoothing

    def fit(self, objects: Sequence[ShapeObject]) -> Self:
        self.quality_: dict[str, float] = defaultdict(lambda: 1.0)  # detection weight (smoothed F1)
        self.precision_: dict[str, float] = defaultdict(lambda: 1.0)  # localisation weight (1 / squared error)
        for round_ in range(self.n_iter + 1):
            self.boxes_ = {obj.key: self._object(obj) for obj in objects}
            if round_ < self.n_iter:
                self._estimate(objects)
        return self

    def fit_predict(self, objects: Sequence[ShapeObject]) -> dict[Hashable, list[MergedBox]]:
        return self.fit(objects).boxes_

    def _object(self, obj: ShapeObject) -> list[MergedBox]:
        workers, q, total = worker_weights(self.quality_, obj)
        p = np.array([self.precision_[w] for w in workers])
        out = []
        for label, shapes in _boxes_by_label(obj.answers).items():
            order = sorted(range(len(workers)), key=lambda i: (-q[i] * p[i], i))
            for cluster in match_clusters(shapes, _sim, self.iou_threshold, order):
                if (kept := cluster_support(cluster, q, total, self.min_support)) is None:
                    continue
                who, support = kept
                coords = np.array([shapes[w][j] for w, j in cluster])
                weights = p[who]
                box = (weights[:, None] * coords).sum(axis=0) / weights.sum()
                fit = float(iou_matrix(coords, box[None]).mean())
                left, top, width, height = (round(float(x), 1) for x in box)
                out.append(MergedBox(label, left, top, width, height, confidence(support, fit, len(workers))))
        return sorted(out, key=lambda b: (b.top, b.left, b.label))

    def _estimate(self, objects: Sequence[ShapeObject]) -> None:
        tally = Tally()
        err: dict[str, list[float]] = defaultdict(list)
        for obj in objects:
            if len(obj.answers) < 2:
                continue
            truth = self.boxes_[obj.key]
            for worker, boxes in obj.answers:
                for label in {b[0] for b in boxes} | {t.label for t in truth}:
                    mine = np.array([b[1:] for b in boxes if b[0] == label], dtype=np.float64).reshape(-1, 4)
                    ref = np.array([(t.left, t.top, t.width, t.height) for t in truth if t.label == label],
                                   dtype=np.float64).reshape(-1, 4)
                    matched = 0
                    if len(mine) and len(ref):
                        iou = iou_matrix(mine, ref)
                        rows, cols = linear_sum_assignment(-iou)
                        good = iou[rows, cols] >= 0.5
                        matched = int(good.sum())
                        for r, c in zip(rows[good], cols[good]):
                            size = np.maximum(ref[c, 2:], 1.0)
                            e = (mine[r] - ref[c]) / np.concatenate([size, size])
                            err[worker].append(float((e ** 2).mean()))
                    tally.add(worker, len(mine), len(ref), matched)
        self.quality_ = tally.quality(self.smoothing)
        errors = {w: float(np.mean(v)) for w, v in err.items() if v}
        if errors:
            typical = float(np.median(list(errors.values())))
            # shrunk towards the typical error, so a worker with few boxes is not trusted blindly
            self.precision_ = defaultdict(lambda: 1.0, {
                w: (typical + 1e-6) / ((e * len(err[w]) + typical * 3) / (len(err[w]) + 3) + 1e-6)
                for w, e in errors.items()})


class CvatMerge:
    """CVAT's consensus merge (see the module docstring): the baseline of ``bench/spatial.py``."""

    def __init__(self, iou_threshold: float = 0.5, quorum: float = 0.5):
        self.iou_threshold, self.quorum = iou_threshold, quorum

    def fit(self, objects: Sequence[ShapeObject]) -> Self:
        self.boxes_: dict[Hashable, list[MergedBox]] = {obj.key: self._object(obj) for obj in objects}
        return self

    def fit_predict(self, objects: Sequence[ShapeObject]) -> dict[Hashable, list[MergedBox]]:
        return self.fit(objects).boxes_

    def _object(self, obj: ShapeObject) -> list[MergedBox]:
        items = [(w, b) for w, (_, boxes) in enumerate(obj.answers) for b in boxes]
        n = len(obj.answers)
        if not items:
            return []
        coords = np.array([b[1:] for _, b in items], dtype=np.float64)
        iou = iou_matrix(coords, coords)
        parent = list(range(len(items)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        index = [[i for i, (w, _) in enumerate(items) if w == k] for k in range(n)]
        for x in range(n):
            for y in range(x + 1, n):
                if not index[x] or not index[y]:
                    continue
                sub = iou[np.ix_(index[x], index[y])]
                rows, cols = linear_sum_assignment(-sub)
                for r, c in zip(rows, cols):
                    if sub[r, c] >= self.iou_threshold:
                        parent[find(index[y][c])] = find(index[x][r])
        groups: dict[int, list[int]] = defaultdict(list)
        for i in range(len(items)):
            groups[find(i)].append(i)
        out = []
        for members in groups.values():
            workers = {items[i][0] for i in members}
            if len(workers) < max(1, self.quorum * n - 1e-9):
                continue
            votes: dict[str, int] = defaultdict(int)
            for i in members:
                votes[items[i][1][0]] += 1
            label = max(votes, key=lambda k: (votes[k], k))
            best = max(members, key=lambda i: (float(iou[i, members].sum()), -i))
            conf = 0.0 if n <= 1 else min(CONFIDENCE_CEILING, round(len(workers) / n, 2))
            left, top, width, height = (float(c) for c in coords[best])
            out.append(MergedBox(label, left, top, width, height, conf))
        return sorted(out, key=lambda b: (b.top, b.left, b.label))


BOX_ALGORITHMS: dict[str, type[BoxConsensus] | type[CvatMerge]] = {
    "box-consensus": BoxConsensus,
    "cvat-merge": CvatMerge,
}


def box_consolidator(name: str) -> BoxConsensus | CvatMerge:
    """A new box estimator by its job / API name (``box-consensus`` or ``cvat-merge``)."""
    return BOX_ALGORITHMS[name]()
