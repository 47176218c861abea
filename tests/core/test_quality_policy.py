"""The pure rules of quality control, table by table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelloop.core.quality.policy import (
    BlockRule,
    Evidence,
    accuracy_interval,
    gold_due,
    is_blocked,
    needs_another_answer,
    passes_qualification,
    wanted_after,
)


@pytest.mark.parametrize(("answers", "posterior", "lo", "hi", "target", "more"), [
    (0, None, 3, 3, None, True),  # fixed N: below N
    (3, 0.4, 3, 3, 0.99, False),  # fixed N: never past it, whatever the posterior
    (1, 0.99, 2, 5, 0.9, True),  # below the minimum
    (2, 0.95, 2, 5, 0.9, False),  # confident at the minimum: stops early
    (2, 0.6, 2, 5, 0.9, True),  # a split: one more
    (4, None, 2, 5, 0.9, True),  # not consolidated yet counts as below
    (5, 0.5, 2, 5, 0.9, False),  # the maximum
    (2, 0.1, 2, 5, None, False),  # a range without a target stops at the minimum
    (2, 0.9, 2, 5, 0.9, False),  # the target itself is enough
])
def test_needs_another_answer(answers, posterior, lo, hi, target, more):
    assert needs_another_answer(answers, posterior, min_answers=lo, max_answers=hi, target=target) is more


@given(st.integers(0, 12), st.one_of(st.none(), st.floats(0, 1)), st.integers(1, 9), st.integers(0, 8),
       st.one_of(st.none(), st.floats(0.01, 0.99)))
def test_wanted_never_leaves_the_range(answers, posterior, lo, extra, target):
    hi = lo + extra
    wanted = wanted_after(answers, posterior, min_answers=lo, max_answers=hi, target=target)
    assert lo <= wanted <= hi


@pytest.mark.parametrize(("rate", "turns"), [(0.1, 100), (0.25, 40), (0.5, 10)])
def test_gold_comes_at_the_rate_from_the_first_task(rate, turns):
    gold = 0
    seen = []
    for turn in range(turns):
        if gold_due(gold, turn, rate):
            gold += 1
            seen.append(turn)
    assert seen[0] == 0 and gold == round(rate * turns)
    assert not gold_due(0, 10, 0.0)


@pytest.mark.parametrize(("correct", "answered", "required", "pass_at", "verdict"), [
    (1, 1, 2, 0.5, None), (2, 2, 2, 1.0, True), (1, 2, 2, 1.0, False), (4, 5, 5, 0.8, True), (3, 5, 5, 0.8, False),
    (0, 0, 0, 0.8, False),
])
def test_qualification(correct, answered, required, pass_at, verdict):
    assert passes_qualification(correct, answered, required=required, min_accuracy=pass_at) is verdict


@pytest.mark.parametrize(("e", "blocked"), [
    (Evidence(0, 2), False),  # too little evidence
    (Evidence(0, 3), True),  # three wrong gold answers
    (Evidence(3, 3), False),
    (Evidence(5, 10), False),  # a coin-flipper on 10 gold answers: not sure enough alone...
    (Evidence(5, 10, 25, 100), True),  # ... but not with 100 answers that mostly disagree
    (Evidence(8, 10, 85, 100), False),  # an honest worker
    (Evidence(0, 0, 2, 40), True),  # no gold at all: agreement alone, once there is enough
    (Evidence(0, 0, 2, 10), False),
])
def test_block_rule(e, blocked):
    assert is_blocked(e, BlockRule(threshold=0.6)) is blocked


def test_accuracy_interval_holds_the_estimate():
    low, high = accuracy_interval(8, 10)
    assert 0 < low < 0.8 < high < 1
    assert accuracy_interval(0, 0) == (0.0, 1.0)
