"""Quality metrics (core/quality/metrics.py): textbook values and plain-loop references."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from labelloop.core.quality import (
    agreement_with_labels,
    beta_interval,
    brier_score,
    expected_calibration_error,
    krippendorff_alpha_nominal,
    label_agreement,
    reliability_bins,
    wilson_interval,
    worker_accuracy,
)

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the nominal example: alpha = 0.743.
KRIPPENDORFF = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def _flatten(table):
    items, labels = [], []
    for values in table.values():
        for unit, value in enumerate(values):
            if value is not None:
                items.append(unit)
                labels.append(value - 1)
    return np.array(items), np.array(labels)


def reference_alpha(items, labels):
    """alpha = 1 - D_o / D_e by enumerating ordered pairs of values within each unit."""
    by_unit = {}
    for i, value in zip(items, labels):
        by_unit.setdefault(int(i), []).append(int(value))
    pairable = [v for v in by_unit.values() if len(v) >= 2]
    values = [x for v in pairable for x in v]
    n = len(values)
    observed = sum(sum(a != b for a, b in itertools.permutations(v, 2)) / (len(v) - 1) for v in pairable) / n
    expected = sum(a != b for a, b in itertools.permutations(values, 2)) / (n * (n - 1))
    return 1 - observed / expected


def test_krippendorff_alpha_textbook_value():
    items, labels = _flatten(KRIPPENDORFF)
    assert krippendorff_alpha_nominal(items, labels, 5) == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha_nominal(items, labels, 5) == pytest.approx(reference_alpha(items, labels))


def test_krippendorff_alpha_edges():
    rng = np.random.default_rng(3)
    items = np.repeat(np.arange(40), 3)
    labels = rng.integers(0, 3, len(items))
    assert krippendorff_alpha_nominal(items, labels, 3) == pytest.approx(reference_alpha(items, labels))
    assert krippendorff_alpha_nominal(np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0]), 2) == 1.0
    assert krippendorff_alpha_nominal(np.array([0, 0]), np.array([1, 1]), 3) == 1.0  # no expected disagreement
    assert math.isnan(krippendorff_alpha_nominal(np.array([0, 1]), np.array([0, 1]), 2))  # nothing pairable
    assert math.isnan(krippendorff_alpha_nominal(np.array([], dtype=int), np.array([], dtype=int), 2))


def test_wilson_and_beta_intervals():
    w = wilson_interval(8, 10)
    assert (w.estimate, round(w.low, 4), round(w.high, 4)) == (0.8, 0.4902, 0.9433)
    assert wilson_interval(0, 5).low == 0.0 and wilson_interval(5, 5).high == 1.0
    assert math.isnan(wilson_interval(0, 0).estimate)
    b = beta_interval(8, 10)
    assert b.estimate == pytest.approx(9 / 12) and 0.45 < b.low < b.estimate < b.high < 0.95
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_worker_accuracy_and_agreement():
    workers = np.array([0, 0, 0, 1, 1, 2])
    items = np.array([0, 1, 2, 0, 1, 2])
    labels = np.array([1, 0, 1, 1, 1, 0])
    reference = np.array([1, 0, -1])  # item 2 has no reference
    rows = worker_accuracy(workers, items, labels, reference, n_workers=4)
    assert [(r.scored, r.correct) for r in rows] == [(2, 2), (2, 1), (0, 0), (0, 0)]
    assert rows[1].accuracy.estimate == 0.5 and math.isnan(rows[3].accuracy.estimate)
    agree = agreement_with_labels(workers, items, labels, np.array([1, 0, 1]))
    assert agree.tolist() == [1.0, 0.5, 0.0]
    per_label = label_agreement(items, labels, np.array([1, 0, 1]), 3)
    assert per_label[0] == 0.5 and per_label[1] == 0.75 and math.isnan(per_label[2])


def test_calibration_figures():
    post = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.55, 0.45]])
    truth = np.array([0, 1, 1, 0])
    bins = reliability_bins(post, truth)
    assert bins[5] == (0.55, 1.0, 1) and bins[9] == (0.9, 1.0, 1) and bins[8] == (0.8, 0.0, 1)
    expected = (abs(0.9 - 1) + abs(0.8 - 0) + abs(0.7 - 1) + abs(0.55 - 1)) / 4
    assert expected_calibration_error(post, truth) == pytest.approx(expected)
    brier = np.mean([(0.9 - 1) ** 2 + 0.1 ** 2, 0.8 ** 2 + 0.8 ** 2, 0.3 ** 2 + 0.3 ** 2, 0.45 ** 2 + 0.45 ** 2])
    assert brier_score(post, truth) == pytest.approx(brier)
    assert math.isnan(expected_calibration_error(np.zeros((0, 2)), np.zeros(0)))
