"""Spatial consolidation (boxes, masks, polygons, keypoints): golden hard cases and invariants."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest

from labelloop.core.consolidation.boxes import BoxConsensus, CvatMerge, ShapeObject, iou_matrix, match_clusters
from labelloop.core.consolidation.keypoints import COCO_PERSON_SIGMAS, KeypointConsensus, oks, sigma_of
from labelloop.core.consolidation.masks import MaskObject, MaskVote, PixelMajority, mean_iou
from labelloop.core.consolidation.polygons import PolygonConsensus, polygon_iou_matrix

W, H = 640, 480


def boxes(obj_key, **workers):
    return ShapeObject(obj_key, tuple((w, tuple(b)) for w, b in workers.items()))


def got(result):
    return [(b.label, round(b.left), round(b.top), round(b.width), round(b.height)) for b in result]


def test_iou_matrix():
    a = np.array([[0, 0, 10, 10], [5, 5, 10, 10]])
    m = iou_matrix(a, a)
    assert m[0, 0] == 1.0 and m[0, 1] == pytest.approx(25 / 175)
    assert iou_matrix(a, np.array([[100, 100, 1, 1]])).tolist() == [[0.0], [0.0]]


def test_match_clusters_never_puts_two_shapes_of_one_worker_together():
    shapes = [[(0, 0, 10, 10), (1, 1, 10, 10)], [(0, 0, 10, 10)]]
    clusters = match_clusters(shapes, lambda a, b: iou_matrix(np.array(a), np.array(b)), 0.3)
    assert sorted(len(c) for c in clusters) == [1, 2]
    assert all(len({w for w, _ in c}) == len(c) for c in clusters)


GOLDEN = [
    ("unanimous", boxes(0, a=[("dog", 10, 10, 100, 80)], b=[("dog", 10, 10, 100, 80)], c=[("dog", 10, 10, 100, 80)]),
     [("dog", 10, 10, 100, 80)]),
    ("one worker draws nothing: the two who agree carry it",
     boxes(0, a=[("dog", 10, 10, 100, 80)], b=[("dog", 12, 10, 100, 80)], c=[]), [("dog", 11, 10, 100, 80)]),
    ("a box only one of three drew is dropped",
     boxes(0, a=[("dog", 10, 10, 100, 80), ("cat", 300, 300, 50, 50)], b=[("dog", 10, 10, 100, 80)],
           c=[("dog", 10, 10, 100, 80)]), [("dog", 10, 10, 100, 80)]),
    ("boxes of different labels overlap: both kept, never merged",
     boxes(0, a=[("dog", 10, 10, 100, 80), ("ball", 20, 20, 90, 70)], b=[("dog", 10, 10, 100, 80), ("ball", 20, 20, 90, 70)],
           c=[("dog", 10, 10, 100, 80), ("ball", 20, 20, 90, 70)]),
     [("dog", 10, 10, 100, 80), ("ball", 20, 20, 90, 70)]),
    ("a worker draws the whole image: ignored, the others' boxes kept",
     boxes(0, a=[("dog", 0, 0, W, H)], b=[("dog", 10, 10, 100, 80), ("dog", 300, 200, 60, 60)],
           c=[("dog", 10, 10, 100, 80), ("dog", 300, 200, 60, 60)]),
     [("dog", 10, 10, 100, 80), ("dog", 300, 200, 60, 60)]),
    ("a label disagreement: the majority's label",
     boxes(0, a=[("dog", 10, 10, 100, 80)], b=[("dog", 10, 10, 100, 80)], c=[("cat", 10, 10, 100, 80)]),
     [("dog", 10, 10, 100, 80)]),
    ("nobody drew anything", boxes(0, a=[], b=[], c=[]), []),
]


@pytest.mark.parametrize("case,obj,expected", GOLDEN, ids=[g[0] for g in GOLDEN])
def test_box_consensus_golden(case, obj, expected):
    assert got(BoxConsensus().fit([obj]).boxes_[0]) == expected


@pytest.mark.parametrize("case,obj,expected", GOLDEN, ids=[g[0] for g in GOLDEN])
def test_cvat_merge_golden(case, obj, expected):
    result = got(CvatMerge().fit([obj]).boxes_[0])
    if case.startswith("one worker draws nothing"):
        assert result == [("dog", 10, 10, 100, 80)]  # a member (the first of the tie), never an average
    else:
        assert result == expected


def test_box_confidence_is_zero_with_one_worker_and_capped():
    one = BoxConsensus().fit([boxes(0, a=[("dog", 1, 1, 10, 10)])]).boxes_[0]
    assert [b.confidence for b in one] == [0.0]
    many = BoxConsensus().fit([boxes(0, **{w: [("dog", 1, 1, 10, 10)] for w in "abcde"})]).boxes_[0]
    assert [b.confidence for b in many] == [0.95]


def _crowd_boxes(n_images, workers, rng):
    truth, objects = {}, []
    careless = {w for w in workers if rng.random() < 0.2}
    for i in range(n_images):
        t = [("dog", rng.uniform(0, 400), rng.uniform(0, 300), rng.uniform(40, 200), rng.uniform(40, 150))
             for _ in range(rng.randint(1, 4))]
        truth[i] = t
        answers = []
        for w in workers:
            s = 0.08 if w in careless else 0.04
            mine = []
            for lb, x, y, bw, bh in t:
                if rng.random() < 0.1:
                    continue
                x0, x1 = x + rng.gauss(0, s * bw), x + bw + rng.gauss(0, s * bw)
                y0, y1 = y + rng.gauss(0, s * bh), y + bh + rng.gauss(0, s * bh)
                mine.append((lb, x0, y0, x1 - x0, y1 - y0))
            answers.append((w, tuple(mine)))
        objects.append(ShapeObject(i, tuple(answers)))
    return truth, objects


def _mean_best_iou(truth, result):
    scores = []
    for key, t in truth.items():
        if not result[key]:
            scores += [0.0] * len(t)
            continue
        m = iou_matrix(np.array([x[1:] for x in t]), np.array([(b.left, b.top, b.width, b.height) for b in result[key]]))
        scores += list(m.max(axis=1))
    return float(np.mean(scores))


def test_box_consensus_beats_cvat_merge_on_noisy_workers():
    rng = random.Random(7)
    truth, objects = _crowd_boxes(60, ["a", "b", "c", "d", "e"], rng)
    ours = _mean_best_iou(truth, BoxConsensus().fit(objects).boxes_)
    cvat = _mean_best_iou(truth, CvatMerge().fit(objects).boxes_)
    assert ours > cvat


# --- masks ---------------------------------------------------------------------------------------------------


def _disk(h, w, cy, cx, r, value=1):
    yy, xx = np.mgrid[:h, :w]
    return np.where((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r, value, 0).astype(np.uint8)


def test_mask_vote_recovers_the_truth_from_biased_workers_better_than_majority():
    truth = _disk(120, 120, 60, 60, 30)
    # radii off by -3, +3, -1 px: the majority keeps the median (-1); smoothing moves towards the mean
    objs = [MaskObject(0, (("a", _disk(120, 120, 60, 60, 27)), ("b", _disk(120, 120, 60, 60, 33)),
                           ("c", _disk(120, 120, 60, 60, 29))))]
    ours = mean_iou(MaskVote().fit(objs).masks_[0], truth)
    majority = mean_iou(PixelMajority().fit(objs).masks_[0], truth)
    assert ours > majority


def test_mask_hard_cases():
    empty = np.zeros((50, 50), dtype=np.uint8)
    full = np.ones((50, 50), dtype=np.uint8)
    blob = _disk(50, 50, 25, 25, 10)
    # one worker painted nothing, one the whole image: the two who agree on the blob carry it
    objs = [MaskObject(0, (("a", blob), ("b", blob.copy()), ("c", empty))),
            MaskObject(1, (("a", blob), ("b", blob.copy()), ("c", full)))]
    model = MaskVote().fit(objs)
    assert mean_iou(model.masks_[0], blob) > 0.9 and mean_iou(model.masks_[1], blob) > 0.9
    assert 0 < model.confidence_[0] <= 0.95
    nothing = MaskVote().fit([MaskObject(0, (("a", empty), ("b", empty)))])
    assert not nothing.masks_[0].any() and nothing.confidence_[0] == 0.95
    one = MaskVote().fit([MaskObject(0, (("a", blob),))])
    assert one.confidence_[0] == 0.0 and (one.masks_[0] == blob).mean() > 0.98


def test_mask_vote_two_classes_touching_stay_apart():
    a = np.zeros((40, 80), dtype=np.uint8)
    a[:, 40:] = 2
    a[10:30, 5:30] = 1
    model = MaskVote().fit([MaskObject(0, (("x", a), ("y", a.copy()), ("z", a.copy())))])
    assert mean_iou(model.masks_[0], a) > 0.95


def test_mask_vote_2048_from_5_workers_under_a_second():
    rng = np.random.default_rng(0)
    base = np.zeros((2048, 2048), dtype=np.uint8)
    for c in range(1, 4):
        y, x = rng.integers(300, 1700, 2)
        base[y - 250:y + 250, x - 250:x + 250] = c
    answers = tuple((f"w{i}", np.roll(base, int(rng.integers(-3, 4)), axis=int(i % 2))) for i in range(5))
    t0 = time.perf_counter()
    MaskVote(n_iter=0).fit([MaskObject(0, answers)])
    assert time.perf_counter() - t0 < 3.0  # < 1 s on a free core (bench/spatial.py); slack for a shared CI runner


# --- polygons ------------------------------------------------------------------------------------------------


SQUARE = ((10.0, 10.0), (110.0, 10.0), (110.0, 110.0), (10.0, 110.0))
TRIANGLE = ((300.0, 300.0), (400.0, 300.0), (350.0, 380.0))


def test_polygon_iou_matrix():
    m = polygon_iou_matrix([SQUARE], [SQUARE, TRIANGLE, tuple((x + 50, y) for x, y in SQUARE)])
    assert m[0, 0] == 1.0 and m[0, 1] == 0.0 and 0.3 < m[0, 2] < 0.36


def test_polygon_consensus_hard_cases():
    shifted = tuple((x + 2, y) for x, y in SQUARE)
    whole = ((0.0, 0.0), (640.0, 0.0), (640.0, 480.0), (0.0, 480.0))
    objs = [ShapeObject(0, (("a", (("dog", SQUARE), ("cat", TRIANGLE))), ("b", (("dog", shifted), ("cat", TRIANGLE))),
                            ("c", ()))),
            ShapeObject(1, (("a", (("dog", SQUARE),)), ("b", (("dog", SQUARE),)), ("c", (("dog", whole),))))]
    model = PolygonConsensus().fit(objs)
    assert sorted(p.label for p in model.polygons_[0]) == ["cat", "dog"]
    assert [p.vertices for p in model.polygons_[1]] == [SQUARE]
    assert all(0 < p.confidence <= 0.95 for p in model.polygons_[0])


# --- keypoints -----------------------------------------------------------------------------------------------


def test_sigmas_coco_for_people_else_default():
    assert sigma_of("nose") == 0.026 and sigma_of("Left Hip") == 0.107 and sigma_of("beak") == 0.1
    assert len(COCO_PERSON_SIGMAS) == 17


def test_oks_is_one_for_the_same_instance_and_falls_with_distance():
    a = {"nose": (100.0, 100.0), "left_eye": (90.0, 90.0), "right_eye": (110.0, 90.0)}
    assert oks(a, a) == pytest.approx(1.0)
    b = {k: (x + 5, y) for k, (x, y) in a.items()}
    assert 0 < oks(a, b) < 1
    assert oks(a, {"nose": (100.0, 100.0)}) == pytest.approx(1 / 3)


def test_keypoint_consensus_two_people_median_and_a_worker_missing_one():
    p1 = {"nose": (100.0, 100.0), "left_eye": (92.0, 92.0), "right_eye": (108.0, 92.0)}
    p2 = {"nose": (400.0, 300.0), "left_eye": (392.0, 292.0), "right_eye": (408.0, 292.0)}
    off = {k: (x + 2, y) for k, (x, y) in p1.items()}
    objs = [ShapeObject(0, (("a", (p1, p2)), ("b", (off, p2)), ("c", ({"nose": (101.0, 100.0)},))))]
    model = KeypointConsensus(labels=["nose", "left_eye", "right_eye"]).fit(objs)
    result = model.instances_[0]
    assert len(result) == 2
    first = dict((k, (x, y)) for k, x, y in result[0].keypoints)
    assert first["nose"] == (101.0, 100.0) and first["left_eye"] == (93.0, 92.0)
    assert [k for k, _, _ in result[0].keypoints] == ["nose", "left_eye", "right_eye"]
    assert result[0].box == (93.0, 92.0, 16.0, 8.0)
    assert all(0 < m.confidence <= 0.95 for m in result)
