"""Dawid–Skene warm start and incremental consolidation: a job's state, batch after batch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from labelloop.core.consolidation import (
    Answers,
    DawidSkene,
    MajorityVote,
    consolidate_incremental,
    needs_full_refit,
)

CLASSES = ["a", "b", "c"]


def generated_job(n_items, n_workers=20, per_item=5, seed=0):
    """(item, worker, class) triples: workers of accuracy 0.7..0.95, one of them confusing a for b."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, n_items, p=[0.5, 0.3, 0.2])
    acc = rng.uniform(0.7, 0.95, n_workers)
    triples = []
    for i in range(n_items):
        for w in rng.choice(n_workers, per_item, replace=False):
            if w == 0 and truth[i] == 0:
                answer = 1 if rng.random() < 0.6 else 0
            elif rng.random() < acc[w]:
                answer = truth[i]
            else:
                answer = rng.choice([c for c in range(3) if c != truth[i]])
            triples.append((f"item-{i}", f"worker-{w}", CLASSES[answer]))
    return triples


def split(triples, n_first):
    first_items = {f"item-{i}" for i in range(n_first)}
    return [t for t in triples if t[0] in first_items], [t for t in triples if t[0] not in first_items]


def labels_by_key(model, items):
    return {key: CLASSES[int(label)] for key, label in zip(items, model.labels_)}


@pytest.fixture(scope="module")
def job():
    return generated_job(1500)


def test_state_is_plain_json_keyed_by_worker_keys(job):
    answers, items, workers, _ = Answers.from_triples(job, classes=CLASSES)
    state = DawidSkene().fit(answers, items).state_()
    assert json.loads(json.dumps(state)) == state
    assert set(state["workers"]) == set(workers)
    assert state["n_answers"] == len(job) and state["refit_at"] == 2 * len(job)
    assert len(state["class_counts"]) == 3


def test_a_json_round_trip_of_the_state_changes_nothing(job):
    old, new = split(job, 1000)
    a, items, _, _ = Answers.from_triples(old, classes=CLASSES)
    state = DawidSkene().fit(a, items).state_()
    b, new_items, _, _ = Answers.from_triples(new, classes=CLASSES)
    direct = DawidSkene().fit(b, new_items, warm_start=state)
    via_json = DawidSkene().fit(b, new_items, warm_start=json.loads(json.dumps(state)))
    np.testing.assert_array_equal(direct.posteriors_, via_json.posteriors_)
    assert direct.state_() == via_json.state_()


def test_resuming_on_new_items_agrees_with_a_full_refit(job):
    old, new = split(job, 1000)
    a, items, _, _ = Answers.from_triples(old, classes=CLASSES)
    state = DawidSkene().fit(a, items).state_()
    b, new_items, _, _ = Answers.from_triples(new, classes=CLASSES)
    warm = DawidSkene().fit(b, new_items, warm_start=state)
    assert warm.warm_started_ and warm.n_epochs_ < 20
    everything, all_items, _, _ = Answers.from_triples(job, classes=CLASSES)
    full = labels_by_key(DawidSkene().fit(everything, all_items), all_items)
    got = labels_by_key(warm, new_items)
    assert sum(got[k] == full[k] for k in got) / len(got) >= 0.998
    after = warm.state_()
    assert after["n_items"] == 1500 and after["n_answers"] == len(job)


def test_batch_after_batch_labels_agree_with_a_full_refit_and_equal_it_after_the_final_batch(job):
    everything, all_items, _, _ = Answers.from_triples(job, classes=CLASSES)
    full = labels_by_key(DawidSkene().fit(everything, all_items), all_items)
    state, done, latest, refits = None, [], {}, 0
    for start in range(0, 1500, 100):
        batch = [t for t in job if start <= int(t[0].split("-")[1]) < start + 100]
        done += batch
        answers, items, _, _ = Answers.from_triples(batch, classes=CLASSES)
        final = start + 100 == 1500
        if final:
            stored = json.loads(state)
            assert stored["n_answers"] == len(job) - len(batch) and stored["n_answers_at_refit"] < stored["n_answers"]
            assert sum(latest[k] == full[k] for k in latest) / len(latest) >= 0.99
        result = consolidate_incremental(
            answers, items, state, final=final, history=lambda: Answers.from_triples(done, classes=CLASSES)[:2])  # noqa: B023 - called in this iteration
        state = result.state_json
        refits += result.full_refit
        latest.update(labels_by_key(result.model, result.item_keys))
    assert refits == 5  # 100, 200, 400, 800 items, and the final batch
    assert latest == full


def test_renaming_and_reordering_workers_does_not_change_labels(job):
    old, new = split(job, 1000)
    rename = {f"worker-{w}": f"w{(7 * w) % 20:02d}" for w in range(20)}  # a bijection

    def run(old, new):
        a, items, _, _ = Answers.from_triples(old, classes=CLASSES)
        state = DawidSkene().fit(a, items).state_()
        b, new_items, _, _ = Answers.from_triples(new, classes=CLASSES)
        return labels_by_key(DawidSkene().fit(b, new_items, warm_start=state), new_items)

    renamed_old = [(i, rename[w], c) for i, w, c in reversed(old)]
    renamed_new = sorted((i, rename[w], c) for i, w, c in new)
    assert run(old, new) == run(renamed_old, renamed_new)


def test_a_worker_seen_only_in_the_new_batch():
    a, items, _, _ = Answers.from_triples(
        [("q1", "ann", "a"), ("q1", "bob", "a"), ("q2", "ann", "b"), ("q2", "bob", "b")], classes=CLASSES)
    state = DawidSkene().fit(a, items).state_()
    b, new_items, _, _ = Answers.from_triples(
        [("q3", "zed", "c"), ("q3", "ann", "c"), ("q4", "zed", "a"), ("q4", "bob", "a")], classes=CLASSES)
    warm = DawidSkene().fit(b, new_items, warm_start=state)
    assert labels_by_key(warm, new_items) == {"q3": "c", "q4": "a"}
    after = warm.state_()
    assert after["workers"]["zed"]["answers"] == 2 and after["workers"]["ann"]["answers"] == 3


def test_a_class_no_one_chose_and_a_worker_with_one_answer():
    a, items, _, _ = Answers.from_triples(
        [("q1", "ann", "a"), ("q1", "bob", "a"), ("q2", "ann", "b"), ("q2", "bob", "b"), ("q2", "cy", "b")],
        classes=CLASSES)
    state = json.loads(json.dumps(DawidSkene().fit(a, items).state_()))
    assert state["workers"]["cy"]["answers"] == 1
    b, new_items, _, _ = Answers.from_triples([("q3", "cy", "a"), ("q3", "ann", "a")], classes=CLASSES)
    warm = DawidSkene().fit(b, new_items, warm_start=state)
    assert labels_by_key(warm, new_items) == {"q3": "a"}
    np.testing.assert_allclose(warm.posteriors_.sum(axis=1), 1.0)
    after = warm.state_()
    assert np.all(np.isfinite(after["class_counts"])) and after["class_counts"][2] < 1e-6
    json.dumps(after, allow_nan=False)


def test_full_refits_come_when_the_counted_answers_have_doubled():
    assert needs_full_refit(None, 10)
    a, items, _, _ = Answers.from_triples([("q1", "ann", "a"), ("q1", "bob", "a")], classes=CLASSES)
    state = DawidSkene().fit(a, items).state_()
    assert not needs_full_refit(state, 1) and needs_full_refit(state, 2)
    assert not needs_full_refit(MajorityVote().fit(a, items).state_(), 10**9)


def test_incremental_first_batch_final_batch_and_a_foreign_state():
    first = [("q1", "ann", "a"), ("q1", "bob", "a")]
    second = [("q2", "ann", "b"), ("q2", "bob", "b"), ("q2", "cy", "b")]
    a, items, _, _ = Answers.from_triples(first, classes=CLASSES)
    result = consolidate_incremental(a, items, None)
    assert result.full_refit and result.item_keys == ["q1"]
    b, new_items, _, _ = Answers.from_triples(second, classes=CLASSES)
    history = lambda: Answers.from_triples(first + second, classes=CLASSES)[:2]  # noqa: E731
    final = consolidate_incremental(b, new_items, result.state_json, history=history, final=True)
    assert final.full_refit and final.item_keys == ["q1", "q2"]
    foreign = MajorityVote().fit(b, new_items).state_()
    assert consolidate_incremental(b, new_items, foreign, history=history).full_refit
    mv = consolidate_incremental(b, new_items, foreign, algorithm="majority-vote", history=history)
    assert not mv.full_refit and mv.item_keys == ["q2"]


def test_unusable_warm_starts_are_refused():
    a, items, _, _ = Answers.from_triples([("q1", "ann", "a"), ("q1", "bob", "b")], classes=CLASSES)
    state = DawidSkene().fit(a, items).state_()
    two_classes, _, _, _ = Answers.from_triples([("q2", "ann", "a")], classes=["a", "b"])
    with pytest.raises(ValueError, match="classes"):
        DawidSkene().fit(two_classes, warm_start=state)
    keyless = Answers(np.array([0]), np.array([0]), np.array([0]), 1, 1, 3)
    with pytest.raises(ValueError, match="worker_keys"):
        DawidSkene().fit(keyless, warm_start=state)
    with pytest.raises(ValueError, match="worker_keys"):
        DawidSkene().fit(keyless).state_()
    with pytest.raises(ValueError, match="not a Dawid-Skene state"):
        DawidSkene().fit(a, warm_start=MajorityVote().fit(a).state_())
