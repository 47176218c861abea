"""Threshold certification, selection and round planning on synthetic scores (no model, no database)."""

from __future__ import annotations

import numpy as np
import pytest

from labelloop.core.autolabel import (
    MIN_JOB_OBJECTS,
    certify_threshold,
    clopper_pearson,
    decide_round,
    human_budget,
    margin,
    min_validation_correct,
    plan,
    select_batch,
)
from labelloop.core.autolabel.certify import TOLERATE, lower_bound, min_covered


def test_the_fewest_perfect_labels_that_can_certify_a_target():
    assert min_validation_correct(0.95) == 59 and min_validation_correct(0.98) == 149
    assert lower_bound(59, 59) >= 0.95 > lower_bound(58, 58)


def test_min_covered_is_the_fewest_labels_that_survive_that_many_disagreements():
    assert min_covered(0.98, 0) == 149
    for target in (0.9, 0.95, 0.98):
        for errors in (1, 2, 3):
            n = min_covered(target, errors)
            assert lower_bound(n - errors, n) >= target > lower_bound(n - 1 - errors, n - 1)


def test_two_disagreements_among_the_most_confident_do_not_end_the_sequence():
    # 600 validation objects, the two most confident wrong, the least confident 100 wrong: the sequence starts
    # with enough objects above its first threshold that the two early errors still pass at 0.98
    conf = np.linspace(0.999, 0.5, 600)
    correct = np.ones(600, dtype=bool)
    correct[[0, 1]] = False
    correct[500:] = False
    assert TOLERATE >= 2
    cert = certify_threshold(conf, correct, 0.98)
    assert cert.threshold is not None and 400 <= cert.covered <= 500
    assert cert.lower_bound is not None and cert.lower_bound >= 0.98


def test_clopper_pearson_matches_known_values():
    low, high = clopper_pearson(95, 100)
    assert low == pytest.approx(0.8872, abs=1e-3) and high == pytest.approx(0.9836, abs=1e-3)
    assert clopper_pearson(0, 10)[0] == 0.0 and clopper_pearson(10, 10)[1] == 1.0


def test_too_few_validation_labels_certify_nothing_and_say_how_many_are_needed():
    cert = certify_threshold(np.full(40, 0.99), np.ones(40, dtype=bool), 0.95)
    assert cert.threshold is None and "59" in cert.reason


def test_all_confident_and_right_certifies_the_lowest_confidence():
    conf = np.linspace(0.9, 1.0, 300)
    cert = certify_threshold(conf, np.ones(300, dtype=bool), 0.95)
    assert cert.threshold == pytest.approx(0.9) and cert.covered == 300 and cert.lower_bound >= 0.95


def test_none_confident_enough_certifies_nothing():
    rng = np.random.default_rng(1)
    conf = rng.uniform(0.3, 0.6, 500)
    correct = rng.uniform(size=500) < 0.6  # a model right 60% of the time whatever its confidence
    cert = certify_threshold(conf, correct, 0.95)
    assert cert.threshold is None and cert.lower_bound is None


def test_a_target_that_cannot_be_met_certifies_nothing_though_the_point_estimate_would():
    conf = np.linspace(0.5, 1.0, 1000)
    correct = np.ones(1000, dtype=bool)
    correct[::50] = False  # 98% right everywhere
    assert certify_threshold(conf, correct, 0.99).threshold is None
    assert certify_threshold(conf, correct, 0.95).threshold == pytest.approx(0.5)


def test_the_threshold_stops_where_accuracy_falls():
    conf = np.linspace(0.0, 1.0, 1000)
    correct = conf > 0.5  # right above 0.5, wrong below
    cert = certify_threshold(conf, correct, 0.95)
    assert cert.threshold is not None and 0.45 < cert.threshold < 0.6
    assert correct[conf >= cert.threshold].mean() >= 0.95  # a few wrong ones below 0.5 still fit in the 5%
    assert cert.point_threshold is not None and cert.point_threshold <= cert.threshold


def test_doubtful_validation_labels_lower_the_bound():
    conf, correct = np.full(100, 0.99), np.ones(100, dtype=bool)
    sure = certify_threshold(conf, correct, 0.95)
    doubtful = certify_threshold(conf, correct, 0.95, label_error=np.full(100, 0.03))
    assert sure.threshold is not None and doubtful.threshold is None


def test_certification_is_right_at_least_95_percent_of_the_time():
    """Over many validation samples from a model whose accuracy at every confidence is known, the accuracy of
    the labels at or above the certified threshold is below the target in at most 5% of the trials."""
    rng = np.random.default_rng(7)
    misses = trials = 0
    grid = np.linspace(0, 1, 2001)
    for _ in range(200):
        conf = rng.uniform(size=400)
        correct = rng.uniform(size=400) < 0.85 + 0.15 * conf  # accuracy 0.85 + 0.15 c
        cert = certify_threshold(conf, correct, 0.95)
        if cert.threshold is None:
            continue
        trials += 1
        true_acc = np.mean(0.85 + 0.15 * grid[grid >= cert.threshold])
        misses += true_acc < 0.95
    assert trials > 50 and misses / trials <= 0.05


def test_margin_is_small_where_the_model_hesitates():
    m = margin(np.array([[0.5, 0.5, 0.0], [0.9, 0.05, 0.05], [1.0, 0.0, 0.0]]))
    assert m[0] == pytest.approx(0) and m[1] == pytest.approx(0.85) and m[2] == pytest.approx(1)


def test_a_batch_is_uncertain_and_not_all_alike():
    rng = np.random.default_rng(0)
    # 30 most uncertain objects in one tight cluster, 200 slightly less uncertain spread far apart, 600 certain
    cluster = rng.normal(0, 0.01, (30, 2))
    spread = rng.uniform(-10, 10, (200, 2))
    certain = rng.uniform(-10, 10, (600, 2))
    x = np.vstack([cluster, spread, certain])
    p = np.vstack([np.tile([0.5, 0.5], (30, 1)), np.tile([0.6, 0.4], (200, 1)), np.tile([0.99, 0.01], (600, 1))])
    picked = select_batch(p, x, 20, rng=rng)
    assert len(set(picked)) == 20 and all(i < 230 for i in picked)  # none of the certain ones
    assert 1 <= sum(i < 30 for i in picked) <= 2  # the cluster once (or twice), not twenty times


def test_a_batch_larger_than_the_pool_takes_the_pool():
    assert list(select_batch(np.tile([0.5, 0.5], (3, 1)), np.zeros((3, 2)), 10)) == [0, 1, 2]


def test_plan_keeps_the_validation_sample_small():
    p = plan(20000, 0.98)
    assert p.validation <= 0.05 * 20000 and p.validation >= 1.5 * min_covered(0.98, TOLERATE)
    assert p.max_validation == 1000 and p.batch == 100 and p.first_batch == p.validation
    assert plan(MIN_JOB_OBJECTS, 0.95).validation >= min_validation_correct(0.95)


def test_human_budget_takes_the_tighter_stopping_condition():
    assert human_budget(1000, 100, None, None) is None
    assert human_budget(1000, 100, 150, None) == 50
    assert human_budget(1000, 100, 500, 12) == 20
    assert human_budget(1000, 300, 200, None) == 0


def _round(val_p, val_y, pool_p, **kw):
    defaults = {"target": 0.95, "batch": 10, "validation_size": len(val_y), "max_validation": len(val_y),
                "budget": None}
    return decide_round([val_p], val_y, [pool_p], np.asarray(pool_p), **{**defaults, **kw})


def test_a_round_labels_the_confident_pool_and_sends_the_rest_to_people():
    val_p = np.tile([0.99, 0.01], (200, 1))
    pool_p = np.vstack([np.tile([0.995, 0.005], (50, 1)), np.tile([0.55, 0.45], (30, 1))])
    d = _round(val_p, np.zeros(200, dtype=int), pool_p)
    assert set(d.machine) == set(range(50)) and set(d.machine_class) == {0}
    assert len(d.next_train) == 10 and all(i >= 50 for i in d.next_train) and not d.done


def test_a_class_never_seen_in_training_is_never_a_machine_label_it_was_not_certified_for():
    # the model never predicts class 2; validation objects of class 2 count as its errors
    val_y = np.array([0] * 150 + [2] * 50)
    val_p = np.tile([0.9, 0.1, 0.0], (200, 1))
    d = _round(val_p, val_y, np.tile([0.9, 0.1, 0.0], (40, 1)))
    assert d.certificate.threshold is None and len(d.machine) == 0 and len(d.next_train) == 10


def test_a_spent_budget_stops_the_rounds():
    val_p = np.tile([0.6, 0.4], (100, 1))
    d = _round(val_p, np.arange(100) % 2, np.tile([0.6, 0.4], (30, 1)), budget=0)  # a model right half the time
    assert d.stopped and not d.done and len(d.next_train) == 0


def test_the_bound_grows_the_validation_sample_when_it_limits_the_labels():
    val_p = np.tile([0.97, 0.03], (60, 1))
    val_y = np.zeros(60, dtype=int)
    val_y[0] = 1  # 59 of 60: the point estimate passes 0.95, the bound does not
    d = _round(val_p, val_y, np.tile([0.97, 0.03], (500, 1)), max_validation=200)
    assert d.certificate.threshold is None and len(d.next_validation) == 30
    assert not set(d.next_validation) & set(d.next_train)
