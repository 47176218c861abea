"""One protocol, one registry: every consolidator is built by name and fitted the same way."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from labelloop.core.consolidation import (
    ALGORITHMS,
    CONSOLIDATORS,
    Answers,
    Consolidator,
    consolidator,
    consolidator_names,
)
from labelloop.core.errors import ValidationError

TRIPLES = [("q1", "ann", "cat"), ("q1", "bob", "cat"), ("q1", "cy", "dog"),
           ("q2", "ann", "dog"), ("q2", "bob", "cat"), ("q3", "cy", "bird")]


def test_registry_names_every_algorithm_and_keeps_the_old_name():
    assert consolidator_names() == ["dawid-skene", "ground-truth", "majority-vote", "shrunk-dawid-skene"]
    assert ALGORITHMS is CONSOLIDATORS


@pytest.mark.parametrize("name", sorted(CONSOLIDATORS))
def test_every_consolidator_has_the_one_fit_signature(name):
    for method in ("fit", "fit_predict"):
        params = list(inspect.signature(getattr(CONSOLIDATORS[name], method)).parameters.values())
        assert [p.name for p in params[:4]] == ["self", "answers", "item_keys", "warm_start"]
        assert params[2].default is None
        assert params[3].kind is inspect.Parameter.KEYWORD_ONLY and params[3].default is None
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is None for p in params[4:])


@pytest.mark.parametrize("name", sorted(CONSOLIDATORS))
def test_every_consolidator_fits_returns_self_and_fit_predict_is_labels(name):
    answers, items, _, classes = Answers.from_triples(TRIPLES)
    estimator = consolidator(name)
    assert estimator.fit(answers, items) is estimator
    assert isinstance(estimator, Consolidator)  # the learned attributes exist after fit
    assert estimator.posteriors_.shape == (3, len(classes))
    assert estimator.labels_.shape == estimator.confidence_.shape == (3,)
    np.testing.assert_array_equal(consolidator(name).fit_predict(answers, items), estimator.labels_)
    np.testing.assert_array_equal(consolidator(name).fit(answers, items, warm_start=None).labels_, estimator.labels_)
    assert isinstance(estimator.state_(), dict)


def test_consolidator_passes_hyper_parameters():
    assert consolidator("dawid-skene", max_epochs=3).max_epochs == 3
    assert consolidator("majority-vote", seed=7).seed == 7
    with pytest.raises(TypeError):
        consolidator("majority-vote", prior_accuracy=0.7)


@pytest.mark.parametrize("name", ["wisdom", "", "Dawid-Skene"])
def test_unknown_name_names_the_field_and_the_known_names(name):
    with pytest.raises(ValidationError) as info:
        consolidator(name)
    assert info.value.field == "consolidation_algorithm"
    assert info.value.message == (
        f"unknown consolidation algorithm '{name}'; use one of dawid-skene, ground-truth, majority-vote, "
        "shrunk-dawid-skene")
