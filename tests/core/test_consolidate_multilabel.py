"""Multi-label consolidation: one binary estimator per class."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelloop.core.consolidation import Answers, DawidSkene, MultiLabel

# item 0: workers chose {0, 2}, {0}, {0}; item 1: {}, {1}, {}
ROWS = [
    (0, 0, {0, 2}), (0, 1, {0}), (0, 2, frozenset({0})),
    (1, 0, set()), (1, 1, [1]), (1, 2, ()),
]


def test_majority_vote_golden():
    ml = MultiLabel("majority-vote").fit(ROWS, n_items=2, n_workers=3, n_classes=3)
    assert ml.labels_ == [[0, 2], [1]]
    assert ml.confidence_ == [{0: 1.0, 2: 0.33}, {1: 0.33}]
    np.testing.assert_allclose(ml.chosen_posteriors_, [[1, 0, 1 / 3], [0, 1 / 3, 0]])


def test_dawid_skene_is_a_binary_ds_per_class():
    ml = MultiLabel("dawid-skene", max_epochs=7).fit(ROWS, n_items=2, n_workers=3, n_classes=3)
    assert ml.labels_ == [[0, 2], [1]]
    assert len(ml.estimators_) == 3
    for c in range(3):
        chosen = [int(c in set(classes)) for _, _, classes in ROWS]
        binary = Answers(np.array([0, 0, 0, 1, 1, 1]), np.array([0, 1, 2, 0, 1, 2]), np.array(chosen), 2, 3, 2)
        expected = DawidSkene(max_epochs=7).fit(binary).posteriors_[:, 1]
        np.testing.assert_allclose(ml.chosen_posteriors_[:, c], expected)
    assert ml.confidence_[0] == {0: round(float(ml.chosen_posteriors_[0, 0]), 2),
                                 2: round(float(ml.chosen_posteriors_[0, 2]), 2)}
    assert ml.confidence_[0][0] > 0.5 > ml.confidence_[0][2]


def test_unknown_algorithm_and_bad_params_fail_early():
    with pytest.raises(ValueError, match="unknown algorithm"):
        MultiLabel("wisdom")
    with pytest.raises(TypeError):
        MultiLabel("majority-vote", prior_accuracy=0.7)


def test_class_index_out_of_range():
    with pytest.raises(ValueError, match="class index 3"):
        MultiLabel().fit([(0, 0, {3})], n_items=1, n_workers=1, n_classes=3)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4).flatmap(lambda k: st.tuples(
    st.just(k),
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.frozensets(st.integers(0, k - 1))),
             min_size=1, max_size=25, unique_by=lambda r: (r[0], r[1])),
)), st.sampled_from(["dawid-skene", "majority-vote"]))
def test_labels_are_the_classes_anyone_chose(data, algorithm):
    k, rows = data
    ml = MultiLabel(algorithm).fit(rows, n_items=6, n_workers=4, n_classes=k)
    for i in range(6):
        expected = sorted(set().union(*[c for item, _, c in rows if item == i]))
        assert ml.labels_[i] == expected
        assert set(ml.confidence_[i]) == set(expected)
        assert all(0.0 <= v <= 1.0 for v in ml.confidence_[i].values())
