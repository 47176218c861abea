"""Keypoints from several workers, grouped into instances, matched by OKS and merged by the median.

An instance is a mapping ``{keypoint label: (x, y)}`` (pixels, origin top-left): one person's nose, eyes...
A worker's answer is a list of instances. :class:`KeypointConsensus` (``"keypoint-consensus"``): per object,
instances are matched one-to-one across workers (``boxes.match_clusters``: Hungarian assignment, the best
workers first) on their object keypoint similarity, COCO's OKS::

    OKS(a, b) = mean over the keypoint labels of a or b of exp(-d^2 / (2 s^2 k^2))   (0 for a label one lacks)

with ``d`` the distance of the two points, ``s^2`` the area of the box around both instances' points (at least
32 x 32 px) and ``k = 2 sigma`` of the label (``sigmas``: COCO's 17 person keypoint sigmas by their COCO names,
``DEFAULT_SIGMA`` = 0.1 for any other label). Pairs under ``oks_threshold`` stay apart. A cluster is kept when
its workers carry at least ``min_support`` of the object's workers' weight (their smoothed F1 against the
consensus at OKS >= 0.5). Each keypoint is the median of the members' points for that label, kept when members
with at least half the cluster's weight placed it. Confidence = support x the mean OKS of the members with the
result, at most 0.95; 0 with one worker.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from .boxes import ShapeObject, Tally, cluster_support, confidence, match_clusters, matched_count, worker_weights

__all__ = ["COCO_PERSON_SIGMAS", "DEFAULT_SIGMA", "KEYPOINT_ALGORITHMS", "Instance", "KeypointConsensus",
           "MergedInstance", "keypoint_consolidator", "oks", "sigma_of"]

Instance = Mapping[str, tuple[float, float]]
COCO_PERSON_SIGMAS: dict[str, float] = {
    "nose": .026, "left_eye": .025, "right_eye": .025, "left_ear": .035, "right_ear": .035,
    "left_shoulder": .079, "right_shoulder": .079, "left_elbow": .072, "right_elbow": .072,
    "left_wrist": .062, "right_wrist": .062, "left_hip": .107, "right_hip": .107,
    "left_knee": .087, "right_knee": .087, "left_ankle": .089, "right_ankle": .089,
}
DEFAULT_SIGMA = 0.1
MIN_AREA = 32.0 * 32.0


def sigma_of(label: str, sigmas: Mapping[str, float] | None = None) -> float:
    """The OKS sigma of a keypoint label: the job's own, else COCO's for a COCO person keypoint name (``left_eye``,
    also written ``left eye`` or ``Left-Eye``), else ``DEFAULT_SIGMA``."""
    if sigmas and label in sigmas:
        return float(sigmas[label])
    return COCO_PERSON_SIGMAS.get(label.strip().lower().replace(" ", "_").replace("-", "_"), DEFAULT_SIGMA)


@dataclass(frozen=True, slots=True)
class MergedInstance:
    keypoints: tuple[tuple[str, float, float], ...]  # (label, x, y), in the order of the job's labels
    box: tuple[float, float, float, float]  # left, top, width, height around the keypoints
    confidence: float


def oks(a: Instance, b: Instance, sigmas: Mapping[str, float] | None = None) -> float:
    """COCO's object keypoint similarity of two instances (see the module docstring)."""
    labels = set(a) | set(b)
    if not labels:
        return 0.0
    pts = np.array([*a.values(), *b.values()], dtype=np.float64)
    area = max(MIN_AREA, float(np.ptp(pts[:, 0]) * np.ptp(pts[:, 1])))
    total = 0.0
    for label in labels & set(a) & set(b):
        d2 = (a[label][0] - b[label][0]) ** 2 + (a[label][1] - b[label][1]) ** 2
        k = 2 * sigma_of(label, sigmas)
        total += float(np.exp(-d2 / (2 * area * k * k)))
    return total / len(labels)


def box_of(points: Sequence[tuple[float, float]]) -> tuple[float, float, float, float]:
    if not points:
        return (0.0, 0.0, 0.0, 0.0)
    a = np.asarray(points, dtype=np.float64)
    x0, y0 = a.min(axis=0)
    x1, y1 = a.max(axis=0)
    return (round(float(x0), 1), round(float(y0), 1), round(float(x1 - x0), 1), round(float(y1 - y0), 1))


class KeypointConsensus:
    """OKS matching of instances, per-keypoint medians (see the module docstring)."""

    def __init__(self, oks_threshold: float = 0.3, min_support: float = 0.5, n_iter: int = 2, smoothing: float = 1.0,
                 sigmas: Mapping[str, float] | None = None, labels: Sequence[str] = ()):
        self.oks_threshold, self.min_support, self.n_iter, self.smoothing = oks_threshold, min_support, n_iter, smoothing
        self.sigmas, self.labels = dict(sigmas or {}), list(labels)

    def _sim(self, a: Sequence[Any], b: Sequence[Any]) -> np.ndarray:
        return np.array([[oks(x, y, self.sigmas) for y in b] for x in a]).reshape(len(a), len(b))

    def fit(self, objects: Sequence[ShapeObject]) -> Self:
        self.quality_: dict[str, float] = defaultdict(lambda: 1.0)
        for round_ in range(self.n_iter + 1):
            self.instances_ = {obj.key: self._object(obj) for obj in objects}
            if round_ < self.n_iter:
                self._estimate(objects)
        return self

    def _object(self, obj: ShapeObject) -> list[MergedInstance]:
        workers, q, total = worker_weights(self.quality_, obj)
        shapes = [list(instances) for _, instances in obj.answers]
        order = sorted(range(len(workers)), key=lambda i: (-q[i], i))
        rank = {label: i for i, label in enumerate(self.labels)}
        out = []
        for cluster in match_clusters(shapes, self._sim, self.oks_threshold, order):
            if (kept := cluster_support(cluster, q, total, self.min_support)) is None:
                continue
            who, support = kept
            members: list[Instance] = [shapes[w][j] for w, j in cluster]
            weight = q[who]
            merged: dict[str, tuple[float, float]] = {}
            for label in sorted({k for m in members for k in m}, key=lambda x: (rank.get(x, len(rank)), x)):
                have = [i for i, m in enumerate(members) if label in m]
                if weight[have].sum() < 0.5 * weight.sum() - 1e-9:
                    continue
                pts = np.array([members[i][label] for i in have], dtype=np.float64)
                merged[label] = (round(float(np.median(pts[:, 0])), 1), round(float(np.median(pts[:, 1])), 1))
            if not merged:
                continue
            fit = float(np.mean([oks(m, merged, self.sigmas) for m in members]))
            out.append(MergedInstance(tuple((k, x, y) for k, (x, y) in merged.items()), box_of(list(merged.values())),
                                      confidence(support, fit, len(workers))))
        return sorted(out, key=lambda m: (m.box[1], m.box[0]))

    def _estimate(self, objects: Sequence[ShapeObject]) -> None:
        tally = Tally()
        for obj in objects:
            if len(obj.answers) < 2:
                continue
            ref = [{k: (x, y) for k, x, y in m.keypoints} for m in self.instances_[obj.key]]
            for worker, instances in obj.answers:
                mine = list(instances)
                matched = matched_count(self._sim(mine, ref)) if mine and ref else 0
                tally.add(worker, len(mine), len(ref), matched)
        self.quality_ = tally.quality(self.smoothing)


KEYPOINT_ALGORITHMS: dict[str, type[KeypointConsensus]] = {"keypoint-consensus": KeypointConsensus}


def keypoint_consolidator(name: str, **params: Any) -> KeypointConsensus:
    """A new keypoint estimator by its job / API name (``keypoint-consensus``)."""
    return KEYPOINT_ALGORITHMS[name](**params)
