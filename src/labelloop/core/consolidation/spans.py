"""Text spans (named entities) from several workers: cluster, vote boundaries and labels, weigh workers.

Offsets are Unicode code points (Python ``str`` indices, spec §2.4); ``end`` is the first code point after
the span. Two estimators, one protocol (``fit(objects)`` returns ``self``, results in ``entities_``):

* :class:`SpanConsensus` (``"span-consensus"``, the default): spans of different workers that overlap are
  clustered (most overlapping pairs first, never two spans of one worker in one cluster, so nested and
  overlapping entities stay apart); a cluster is kept when the workers behind it carry at least
  ``min_support`` of the object's answering weight; its start and its end are the most supported ones
  (weights summed; a tie goes to the smaller start and the larger end); its label is a weighted vote (a tie
  goes to the label listed first). Each worker's weight is their estimated quality: the smoothed F1 of their
  spans against the consensus, refined over ``n_iter`` rounds. Confidence per entity = support x the label's
  share of the cluster's weight x the mean share agreeing with its start and with its end, rounded to 2
  places and at most 0.95 (Ground Truth's ceiling); 0 with one worker.
  Overlapping entities come out only for objects where some worker submitted overlapping spans (the
  element refuses them in a job that does not allow them); elsewhere the weaker of two overlapping
  entities is dropped.
* :class:`ExactMajority` (``"majority-vote"``): a span with its label is kept when more than half of the
  object's workers tagged exactly it; the baseline of ``bench/spans.py``.

>>> objs = [SpanObject(0, (("a", ((0, 3, "PER"),)), ("b", ((0, 3, "PER"),)), ("c", ((0, 4, "ORG"),))))]
>>> SpanConsensus().fit(objs, ["PER", "ORG"]).entities_[0]
[Entity(start=0, end=3, label='PER', confidence=0.8)]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Self

__all__ = ["CONFIDENCE_CEILING", "SPAN_ALGORITHMS", "Entity", "ExactMajority", "Span", "SpanConsensus",
           "SpanObject", "span_consolidator"]

Span = tuple[int, int, str]  # (start, end, label)
CONFIDENCE_CEILING = 0.95


@dataclass(frozen=True, slots=True)
class SpanObject:
    """One data object: each worker's spans (an empty tuple: the worker tagged nothing)."""

    key: Hashable
    answers: tuple[tuple[str, tuple[Span, ...]], ...]


@dataclass(frozen=True, slots=True)
class Entity:
    start: int
    end: int
    label: str
    confidence: float


def _overlap(a: Span, b: Span) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def _jaccard(a: Span, b: Span) -> float:
    inter = _overlap(a, b)
    return inter / (max(a[1], b[1]) - min(a[0], b[0])) if inter else 0.0


def _clusters(answers: Sequence[tuple[str, Sequence[Span]]]) -> list[list[tuple[str, Span]]]:
    """Greedy agglomerative clustering of overlapping spans of different workers, best pairs first."""
    items = [(w, s) for w, spans in answers for s in sorted(set(spans))]
    parent = list(range(len(items)))
    members: list[set[str]] = [{w} for w, _ in items]

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = sorted(range(len(items)), key=lambda i: (items[i][1][0], items[i][1][1]))
    pairs = []
    for x, i in enumerate(order):  # spans sorted by start: stop once a span starts after i ends
        si = items[i][1]
        for j in order[x + 1:]:
            sj = items[j][1]
            if sj[0] >= si[1]:
                break
            if items[i][0] != items[j][0]:
                score = _jaccard(si, sj) + (0.001 if si[2] == sj[2] else 0.0)
                pairs.append((-score, si, sj, i, j))
    for _neg, _si, _sj, i, j in sorted(pairs):
        ri, rj = find(i), find(j)
        if ri != rj and not (members[ri] & members[rj]):
            parent[rj] = ri
            members[ri] |= members[rj]
    groups: dict[int, list[tuple[str, Span]]] = defaultdict(list)
    for i, item in enumerate(items):
        groups[find(i)].append(item)
    return list(groups.values())


def _mode(weights: dict[int, float], prefer_small: bool) -> int:
    return max(weights, key=lambda v: (round(weights[v], 9), -v if prefer_small else v))


def _resolve_overlaps(entities: list[Entity]) -> list[Entity]:
    kept: list[Entity] = []
    for e in sorted(entities, key=lambda e: (-e.confidence, e.start, e.end)):
        if all(_overlap((e.start, e.end, ""), (k.start, k.end, "")) == 0 for k in kept):
            kept.append(e)
    return kept


def _has_overlaps(spans: Sequence[Span]) -> bool:
    s = sorted(spans)
    return any(b[0] < a[1] for a, b in pairwise(s))


class SpanConsensus:
    """Overlap clustering with quality-weighted boundary and label votes (see the module docstring)."""

    def __init__(self, min_support: float = 0.5, n_iter: int = 3, smoothing: float = 1.0):
        self.min_support, self.n_iter, self.smoothing = min_support, n_iter, smoothing

    def fit(self, objects: Sequence[SpanObject], labels: Sequence[str] = ()) -> Self:
        """Consolidate every object; ``labels`` orders ties (first listed wins)."""
        rank = {label: i for i, label in enumerate(labels)}
        self.weights_: dict[str, float] = defaultdict(lambda: 1.0)
        clustered = [(obj, _clusters(obj.answers)) for obj in objects]
        for round_ in range(self.n_iter + 1):
            self.entities_ = {obj.key: self._object(obj, clusters, rank) for obj, clusters in clustered}
            if round_ < self.n_iter:
                self.weights_ = defaultdict(lambda: 1.0, self._qualities(objects))
        return self

    def fit_predict(self, objects: Sequence[SpanObject], labels: Sequence[str] = ()) -> dict[Hashable, list[Entity]]:
        return self.fit(objects, labels).entities_

    def _object(self, obj: SpanObject, clusters: list[list[tuple[str, Span]]], rank: dict[str, int]) -> list[Entity]:
        w = self.weights_
        total = sum(w[worker] for worker, _ in obj.answers)
        single = len(obj.answers) <= 1
        out = []
        for cluster in clusters:
            support = sum(w[worker] for worker, _ in cluster) / total if total else 0.0
            if support < self.min_support - 1e-9:
                continue
            starts: dict[int, float] = defaultdict(float)
            ends: dict[int, float] = defaultdict(float)
            votes: dict[str, float] = defaultdict(float)
            for worker, (s, e, label) in cluster:
                starts[s] += w[worker]
                ends[e] += w[worker]
                votes[label] += w[worker]
            start, end = _mode(starts, True), _mode(ends, False)
            if end <= start:  # boundaries of different spans crossed: take the best supported whole span
                best = max(cluster, key=lambda m: (w[m[0]], m[1][1] - m[1][0]))[1]
                start, end = best[0], best[1]
            label = max(votes, key=lambda x: (round(votes[x], 9), -rank.get(x, len(rank))))
            weight = sum(votes.values())
            agree = (starts[start] + ends[end]) / (2 * weight)
            conf = 0.0 if single else min(CONFIDENCE_CEILING, round(support * votes[label] / weight * agree, 2))
            out.append(Entity(start, end, label, conf))
        if not any(_has_overlaps(spans) for _, spans in obj.answers):
            out = _resolve_overlaps(out)
        return sorted(out, key=lambda e: (e.start, e.end, e.label))

    def _qualities(self, objects: Sequence[SpanObject]) -> dict[str, float]:
        """Each worker's smoothed F1 against the current consensus (exact span and label)."""
        tp: dict[str, float] = defaultdict(float)
        fp: dict[str, float] = defaultdict(float)
        fn: dict[str, float] = defaultdict(float)
        for obj in objects:
            if len(obj.answers) < 2:
                continue
            truth = {(e.start, e.end, e.label) for e in self.entities_[obj.key]}
            for worker, spans in obj.answers:
                mine = set(spans)
                tp[worker] += len(mine & truth)
                fp[worker] += len(mine - truth)
                fn[worker] += len(truth - mine)
        a = self.smoothing
        return {worker: (2 * tp[worker] + a) / (2 * tp[worker] + fp[worker] + fn[worker] + 2 * a) for worker in tp}


class ExactMajority:
    """A span and its label, kept when more than half of the object's workers tagged exactly it."""

    def fit(self, objects: Sequence[SpanObject], labels: Sequence[str] = ()) -> Self:
        self.entities_: dict[Hashable, list[Entity]] = {}
        for obj in objects:
            n = len(obj.answers)
            counts: dict[Span, int] = defaultdict(int)
            for _worker, spans in obj.answers:
                for s in set(spans):
                    counts[s] += 1
            self.entities_[obj.key] = sorted(
                (Entity(s[0], s[1], s[2], 0.0 if n <= 1 else min(CONFIDENCE_CEILING, round(c / n, 2)))
                 for s, c in counts.items() if c * 2 > n),
                key=lambda e: (e.start, e.end, e.label))
        return self

    def fit_predict(self, objects: Sequence[SpanObject], labels: Sequence[str] = ()) -> dict[Hashable, list[Entity]]:
        return self.fit(objects, labels).entities_


SPAN_ALGORITHMS: dict[str, type[SpanConsensus] | type[ExactMajority]] = {
    "span-consensus": SpanConsensus,
    "majority-vote": ExactMajority,
}


def span_consolidator(name: str) -> SpanConsensus | ExactMajority:
    """A new span estimator by its job / API name (``span-consensus`` or ``majority-vote``)."""
    return SPAN_ALGORITHMS[name]()
