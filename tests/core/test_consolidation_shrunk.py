"""Shrunk Dawid-Skene (the default) and Ground Truth's literal variant: references, hand-made cases, properties."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelloop.core.consolidation import (
    CONSOLIDATORS,
    Answers,
    DawidSkene,
    GroundTruthDawidSkene,
    MajorityVote,
    ShrunkDawidSkene,
    consolidate_incremental,
    consolidator,
    shrunk,
)
from labelloop.core.tasktypes.base import ObjectAnswers
from labelloop.core.tasktypes.classification import IMAGE_CLASSIFICATION, TEXT_CLASSIFICATION


def answers_of(rows, n_classes, n_items=None):
    items, workers, labels = (np.array(col, dtype=np.int64) for col in zip(*rows))
    n_items = int(items.max()) + 1 if n_items is None else n_items
    return Answers(items, workers, labels, n_items, int(workers.max()) + 1, n_classes,
                   worker_keys=tuple(f"w{j}" for j in range(int(workers.max()) + 1)))


def reference(rows, n_classes, kind, strength=None, epochs=50):
    """The ladder's EM as plain loops over dicts (probability space), temperature 1.

    kind: "one-coin" (uniform prior), "one-coin+prior", "worker-coin", "confusion" (with ``strength``).
    """
    k_range = range(n_classes)
    items = sorted({i for i, _, _ in rows})
    by_item = {i: [(w, label) for ii, w, label in rows if ii == i] for i in items}
    workers = sorted({w for _, w, _ in rows})

    def coin(a):
        return [[a if r == c else (1 - a) / max(n_classes - 1, 1) for c in k_range] for r in k_range]

    post = {}
    for i in items:
        votes = [sum(label == c for _, label in by_item[i]) + 1e-3 for c in k_range]
        post[i] = [v / sum(votes) for v in votes]
    for _ in range(epochs):
        counts = {w: [[0.0] * n_classes for _ in k_range] for w in workers}
        for i in items:
            for w, label in by_item[i]:
                for c in k_range:
                    counts[w][c][label] += post[i][c]
        total_trace = sum(counts[w][c][c] for w in workers for c in k_range)
        acc = (total_trace + 0.7 * 4) / (len(rows) + 4)
        if kind == "one-coin":
            prior = [1 / n_classes] * n_classes
        else:
            mass = [sum(post[i][c] for i in items) for c in k_range]
            prior = [(m + 30.0) / (sum(mass) + 30.0 * n_classes) for m in mass]
        conf = {}
        for w in workers:
            n_w = sum(1 for _, ww, _ in rows if ww == w)
            a_w = (sum(counts[w][c][c] for c in k_range) + 8 * acc) / (n_w + 8)
            if kind.startswith("one-coin"):
                conf[w] = coin(acc)
            elif kind == "worker-coin":
                conf[w] = coin(a_w)
            else:
                base = coin(a_w)
                conf[w] = [[(counts[w][r][c] + strength * base[r][c]) /
                            (sum(counts[w][r]) + strength) for c in k_range] for r in k_range]
        new = {}
        for i in items:
            score = [prior[c] * math.prod(conf[w][c][label] for w, label in by_item[i]) for c in k_range]
            new[i] = [s / sum(score) for s in score]
        change = max(abs(new[i][c] - post[i][c]) for i in items for c in k_range)
        post = new
        if change <= 1e-5:
            break
    return np.array([post[i] for i in items])


SMALL = [(0, 0, 0), (0, 1, 0), (0, 2, 1), (1, 0, 1), (1, 1, 1), (1, 2, 1), (2, 0, 2), (2, 1, 0), (2, 3, 0),
         (3, 2, 1), (3, 3, 1), (4, 4, 2)]  # worker 4 answers once; item 4 has one answer


@pytest.mark.parametrize(("level", "kind", "strength"), [
    ("one-coin", "one-coin", None), ("one-coin+prior", "one-coin+prior", None),
    ("worker-coin", "worker-coin", None), ("confusion-2", "confusion", 2.0), ("confusion-8", "confusion", 8.0),
])
def test_each_level_matches_the_loop_reference(level, kind, strength):
    model = ShrunkDawidSkene(levels=[level], temperatures=(1.0,)).fit(answers_of(SMALL, 3))
    np.testing.assert_allclose(model.posteriors_, reference(SMALL, 3, kind, strength), atol=1e-4)
    assert model.level_ == level and model.temperature_ == 1.0


def test_one_coin_ranks_like_majority_vote_and_ties_break_like_it():
    rows = [(0, 0, 0), (0, 1, 0), (0, 2, 1), (1, 0, 1), (1, 1, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]
    keys = ["a", "b", "c"]
    answers = answers_of(rows, 3)
    model = ShrunkDawidSkene(levels=["one-coin"]).fit(answers, keys)
    mv = MajorityVote().fit(answers, keys)
    assert model.labels_.tolist() == mv.labels_.tolist()
    # the three-way split and the 1-1 split are exact ties; no confidence of 1.0 anywhere
    assert np.allclose(model.posteriors_[1], 1 / 3) and model.posteriors_[2, 2] < model.posteriors_[2, 0]
    assert model.posteriors_[2, 0] == pytest.approx(model.posteriors_[2, 1])
    assert model.confidence_.max() < 1.0


def test_a_label_no_one_chose_is_never_the_label():
    rows = [(i, w, (i + (w == 2)) % 2) for i in range(6) for w in range(3)]  # classes 0, 1 used of 3
    model = ShrunkDawidSkene().fit(answers_of(rows, 3), list(range(6)))
    assert set(model.labels_.tolist()) <= {0, 1}
    assert model.posteriors_[:, 2].max() < 0.05


def test_a_worker_with_one_answer_and_an_item_with_one_answer():
    model = ShrunkDawidSkene().fit(answers_of(SMALL, 3), list(range(5)))
    assert model.labels_[4] == 2  # the lone answer decides its item
    assert 0.34 < model.posteriors_[4, 2] < 0.99
    assert not math.isnan(model.worker_accuracy_[4])


def test_getting_started_and_demo_jobs_keep_the_majority():
    """negative, negative, positive is negative (it came out "positive 0.99" under Dawid-Skene)."""
    def obj(i, *votes):
        return ObjectAnswers(i, tuple((w, {"crowd-classifier": {"label": v}}) for w, v in votes))

    history = [obj(0, ("sim-1", "positive"), ("sim-2", "positive"), ("sim-3", "positive")),
               obj(1, ("sim-4", "negative"), ("sim-5", "negative"), ("sim-1", "positive")),
               obj(2, ("sim-2", "neutral"), ("sim-3", "neutral"), ("sim-4", "neutral")),
               obj(3, ("sim-5", "positive"), ("sim-1", "positive"), ("sim-3", "positive"))]
    labels = ["positive", "negative", "neutral"]
    for task_type in (TEXT_CLASSIFICATION, IMAGE_CLASSIFICATION):
        assert task_type.algorithms[0] == "shrunk-dawid-skene"
        out = {lab.dataset_object_id: lab for lab in task_type.consolidate(
            history, {0, 1, 2, 3}, labels, algorithm=task_type.algorithms[0], workers_per_object=3)}
        assert [out[i].metadata["class-name"] for i in range(4)] == ["positive", "negative", "neutral", "positive"]
        assert 0.5 < out[1].metadata["confidence"] < 0.95
        assert out[1].metadata["confidence"] == round(out[1].metadata["confidence"], 4)
    demo = [obj(i, ("alice", "negative"), ("bob", "negative"), ("carol", "positive")) for i in range(3)]
    demo += [obj(i, ("alice", "positive"), ("bob", "positive"), ("carol", "positive")) for i in range(3, 8)]
    out = TEXT_CLASSIFICATION.consolidate(demo, set(range(8)), ["positive", "negative"],
                                          algorithm="shrunk-dawid-skene", workers_per_object=3)
    assert [lab.metadata["class-name"] for lab in out[:3]] == ["negative"] * 3


def _job(rng, n_items, n_workers, k, per_item=3):
    truth = rng.integers(0, k, n_items)
    accuracy = rng.uniform(0.55, 0.95, n_workers)
    rows = []
    for i in range(n_items):
        for w in rng.choice(n_workers, per_item, replace=False):
            right = rng.random() < accuracy[w]
            wrong = (truth[i] + 1 + rng.integers(0, k - 1)) % k
            rows.append((i, int(w), int(truth[i] if right else wrong)))
    return answers_of(rows, k, n_items), truth


def _expected_accuracy(posteriors, truth):
    top = posteriors >= posteriors.max(axis=1, keepdims=True) - 1e-9
    return float(np.mean(top[np.arange(len(truth)), truth] / top.sum(axis=1)))


def test_small_jobs_are_not_overruled_with_near_certain_confidence():
    rng = np.random.default_rng(7)
    for _ in range(10):
        answers, _truth = _job(rng, 20, 6, 2)
        model = ShrunkDawidSkene().fit(answers, list(range(20)))
        votes = np.bincount(answers.items * 2 + answers.labels, minlength=40).reshape(20, 2)
        overruled = votes[np.arange(20), model.labels_] < votes.max(axis=1)
        assert np.all(model.posteriors_.max(axis=1)[overruled] < 0.9)
        split = (votes.min(axis=1) > 0)
        assert np.all(model.posteriors_.max(axis=1)[split] < 0.999)


@settings(max_examples=8, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 4), n_items=st.integers(10, 40),
       n_workers=st.integers(3, 12))
def test_never_worse_than_majority_vote_on_average(seed, k, n_items, n_workers):
    rng = np.random.default_rng(seed)
    ours, mv = [], []
    for _ in range(8):
        answers, truth = _job(rng, n_items, n_workers, k)
        ours.append(_expected_accuracy(ShrunkDawidSkene().fit(answers, list(range(n_items))).posteriors_, truth))
        mv.append(_expected_accuracy(MajorityVote().fit(answers).posteriors_, truth))
    assert np.mean(ours) >= np.mean(mv) - 0.01


def test_calibrated_when_the_model_holds():
    rng = np.random.default_rng(11)
    answers, truth = _job(rng, 3000, 40, 3)
    model = ShrunkDawidSkene().fit(answers, list(range(3000)))
    conf = model.posteriors_.max(axis=1)
    right = model.labels_ == truth
    bins = np.minimum((conf * 10).astype(int), 9)
    ece = sum(abs(conf[bins == b].mean() - right[bins == b].mean()) * (bins == b).sum()
              for b in range(10) if (bins == b).any()) / len(conf)
    assert ece < 0.03
    assert model.level_ != "one-coin"  # 40 workers of uneven accuracy on 3000 objects: worth learning


def test_warm_start_round_trip_and_incremental():
    rng = np.random.default_rng(5)
    answers, _ = _job(rng, 300, 10, 3)
    keys = list(range(300))
    first = ShrunkDawidSkene().fit(answers, keys)
    state = json.loads(json.dumps(first.state_()))
    assert state["algorithm"] == "shrunk-dawid-skene" and state["params"]["level"] == first.level_
    more, _ = _job(rng, 50, 10, 3)
    warm = ShrunkDawidSkene().fit(more, list(range(300, 350)), warm_start=state)
    assert warm.warm_started_ and warm.level_ == first.level_ and warm.temperature_ == first.temperature_
    after = warm.state_()
    assert after["n_items"] == 350 and after["n_answers"] == len(answers) + len(more)
    with pytest.raises(ValueError, match="not a Dawid-Skene state"):
        ShrunkDawidSkene().fit(more, warm_start=DawidSkene().fit(answers).state_())
    result = consolidate_incremental(more, list(range(300, 350)), state, algorithm="shrunk-dawid-skene")
    assert not result.full_refit and len(result.model.labels_) == 50


def test_registry_and_ground_truth_variant():
    assert {"shrunk-dawid-skene", "dawid-skene", "ground-truth", "majority-vote"} <= set(CONSOLIDATORS)
    rng = np.random.default_rng(2)
    answers, _ = _job(rng, 60, 5, 3)
    gt = consolidator("ground-truth").fit(answers)
    literal = DawidSkene(prior_strength=1.0).fit(answers)
    assert isinstance(gt, GroundTruthDawidSkene)
    np.testing.assert_allclose(gt.posteriors_, literal.posteriors_)
    assert gt.state_()["algorithm"] == "ground-truth"
    with pytest.raises(ValueError):
        ShrunkDawidSkene(levels=["no-such-level"])


def _hard_objects_job(rng, n_items=400, n_workers=30, k=2):
    """Answers with errors shared within objects (30% of the objects fool half the workers), 2 to 9 per object."""
    truth = rng.integers(0, k, n_items)
    hard = rng.random(n_items) < 0.3
    rows = []
    for i in range(n_items):
        for w in rng.choice(n_workers, int(rng.integers(2, 10)), replace=False):
            right = rng.random() < (0.45 if hard[i] else 0.9)
            rows.append((i, int(w), int(truth[i] if right else (truth[i] + 1) % k)))
    return answers_of(rows, k, n_items), truth


def test_the_design_effect_is_each_objects_own():
    """Correlated errors: each object's log scores are tempered by 1 + (m_i - 1) rho for its own m_i answers,
    so an object with two answers is discounted less than one with nine; a warm step applies the same rule."""
    answers, _ = _hard_objects_job(np.random.default_rng(3))
    model = ShrunkDawidSkene().fit(answers, list(range(answers.n_items)))
    rho = model.error_correlation_
    assert rho > 0.03
    m = np.bincount(answers.items, minlength=answers.n_items)
    scores = model._state[1].scores
    expected = shrunk._softmax(scores * (model.heldout_temperature_ / (1 + (m - 1) * rho))[:, None])
    np.testing.assert_allclose(model.posteriors_, expected, atol=1e-12)
    state = json.loads(json.dumps(model.state_()))
    assert state["params"]["error_correlation"] == rho
    more, _ = _hard_objects_job(np.random.default_rng(4), n_items=60)
    warm = ShrunkDawidSkene().fit(more, list(range(60)), warm_start=state)
    assert warm.error_correlation_ == rho and warm.heldout_temperature_ == model.heldout_temperature_
    old_format = {**state, "params": {"level": model.level_, "temperature": model.temperature_}}
    uniform = ShrunkDawidSkene().fit(more, list(range(60)), warm_start=old_format)  # one temperature for all
    assert uniform.error_correlation_ == 0.0 and (uniform.labels_ == warm.labels_).all()
    mean_answers = 1 + (model.heldout_temperature_ / model.temperature_ - 1) / rho  # the first fit's
    many = np.bincount(more.items, minlength=60) > mean_answers + 1e-9  # discounted more than at the mean
    few = np.bincount(more.items, minlength=60) < mean_answers - 1e-9
    assert many.any() and few.any()
    ours, theirs = warm.posteriors_.max(axis=1), uniform.posteriors_.max(axis=1)
    split = np.isclose(ours, 0.5)  # an even split stays 0.5 at any temperature
    assert np.all(ours[many & ~split] < theirs[many & ~split]) and np.all(ours[few & ~split] > theirs[few & ~split])


@pytest.mark.parametrize("seed", range(6))
def test_the_temperature_walk_finds_the_grid_optimum(seed):
    """The held-out likelihood is walked from T = 1 down until it falls: it must find the full grid's best."""
    rng = np.random.default_rng(seed)
    answers, _ = _hard_objects_job(rng, n_items=200) if seed % 2 else _job(rng, 200, 12, 3)
    base = shrunk._Stats.empty(answers.n_workers, answers.n_classes)
    for name in shrunk.DEFAULT_LEVELS:
        fit = shrunk._em(answers, shrunk._BY_NAME[name], base, shrunk._vote_shares(answers), 50, 1e-5)
        heldout = shrunk._HeldOut.of(answers, fit)
        assert shrunk._best_temperature(heldout, shrunk.TEMPERATURES) == max(
            (heldout.score(t), t) for t in shrunk.TEMPERATURES)
