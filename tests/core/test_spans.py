"""Span consolidation: golden hard cases, invariants, and the NER task type's answers and output (spec §2.4)."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelloop.core.consolidation.spans import Entity, ExactMajority, SpanConsensus, SpanObject
from labelloop.core.errors import ValidationError
from labelloop.core.tasktypes import ObjectAnswers, get_task_type

LABELS = ["PER", "ORG", "LOC"]


def obj(key, **workers):
    return SpanObject(key, tuple((w, tuple(spans)) for w, spans in workers.items()))


def spans(result):
    return [(e.start, e.end, e.label) for e in result]


GOLDEN = [
    # (case, object, expected (start, end, label) list)
    ("unanimous", obj(0, a=[(0, 3, "PER")], b=[(0, 3, "PER")], c=[(0, 3, "PER")]), [(0, 3, "PER")]),
    ("two entities share a boundary stay two",
     obj(0, a=[(0, 4, "PER"), (4, 9, "LOC")], b=[(0, 4, "PER"), (4, 9, "LOC")], c=[(0, 4, "PER"), (4, 9, "LOC")]),
     [(0, 4, "PER"), (4, 9, "LOC")]),
    ("nested spans of every worker stay apart",
     obj(0, a=[(0, 15, "ORG"), (8, 15, "LOC")], b=[(0, 15, "ORG"), (8, 15, "LOC")], c=[(0, 15, "ORG")]),
     [(0, 15, "ORG"), (8, 15, "LOC")]),
    ("crossing overlaps kept where workers overlap",
     obj(0, a=[(0, 6, "PER"), (4, 10, "ORG")], b=[(0, 6, "PER"), (4, 10, "ORG")], c=[]),
     [(0, 6, "PER"), (4, 10, "ORG")]),
    ("boundaries: the most supported start and end",
     obj(0, a=[(0, 12, "PER")], b=[(0, 12, "PER")], c=[(0, 16, "PER")]), [(0, 12, "PER")]),
    ("boundaries voted separately", obj(0, a=[(2, 12, "PER")], b=[(0, 9, "PER")], c=[(0, 12, "PER")]),
     [(0, 12, "PER")]),
    ("a worker who tags nothing lowers support only",
     obj(0, a=[(0, 3, "PER")], b=[(0, 3, "PER")], c=[]), [(0, 3, "PER")]),
    ("a span one worker of three tags is dropped",
     obj(0, a=[(0, 3, "PER")], b=[], c=[]), []),
    ("label by vote", obj(0, a=[(0, 3, "ORG")], b=[(0, 3, "PER")], c=[(0, 3, "ORG")]), [(0, 3, "ORG")]),
    ("no worker overlaps: the output does not either",
     obj(0, a=[(0, 5, "PER")], b=[(3, 9, "ORG")], c=[(0, 5, "PER"), (6, 9, "ORG")]), [(0, 5, "PER"), (6, 9, "ORG")]),
]


@pytest.mark.parametrize(("case", "o", "expected"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_cases(case, o, expected):
    assert spans(SpanConsensus().fit([o], LABELS).entities_[0]) == expected


def test_confidence_is_support_times_label_share_capped_and_zero_for_one_worker():
    out = SpanConsensus(n_iter=0).fit([obj(0, a=[(0, 3, "PER")], b=[(0, 3, "PER")], c=[])], LABELS).entities_[0]
    assert out == [Entity(0, 3, "PER", 0.67)]
    full = SpanConsensus().fit([obj(0, a=[(0, 3, "PER")], b=[(0, 3, "PER")])], LABELS).entities_[0]
    assert full[0].confidence == 0.95
    one = SpanConsensus().fit([obj(0, a=[(0, 3, "PER")])], LABELS).entities_[0]
    assert one == [Entity(0, 3, "PER", 0.0)]


def test_label_vote_weighs_workers_by_their_estimated_quality():
    """``c`` mislabels everywhere; on an object only ``a`` and ``c`` answered, ``a``'s label wins (a plain
    tie would go to ORG, listed before LOC)."""
    history = [obj(i, a=[(0, 3, "LOC")], b=[(0, 3, "LOC")], c=[(0, 3, "ORG")]) for i in range(10)]
    tie = obj("t", a=[(0, 3, "LOC")], c=[(0, 3, "ORG")])
    assert spans(SpanConsensus().fit([*history, tie], LABELS).entities_["t"]) == [(0, 3, "LOC")]
    assert spans(SpanConsensus(n_iter=0).fit([tie], LABELS).entities_["t"]) == [(0, 3, "ORG")]


def test_renaming_workers_or_shuffling_objects_changes_nothing():
    rng = random.Random(3)
    objects = [obj(i, a=[(0, 3 + i % 2, "PER"), (5, 9, "LOC")], b=[(0, 3, "PER")], c=[(5, 9, "ORG"), (0, 4, "PER")])
               for i in range(8)]
    base = SpanConsensus().fit(objects, LABELS).entities_
    renamed = [SpanObject(o.key, tuple((w.upper() + "x", s) for w, s in reversed(o.answers))) for o in objects]
    shuffled = renamed[:]
    rng.shuffle(shuffled)
    assert SpanConsensus().fit(shuffled, LABELS).entities_ == base


def test_exact_majority_keeps_only_spans_more_than_half_tagged_exactly():
    o = obj(0, a=[(0, 12, "PER"), (20, 25, "LOC")], b=[(0, 12, "PER"), (20, 24, "LOC")], c=[(0, 11, "PER")])
    assert spans(ExactMajority().fit([o]).entities_[0]) == [(0, 12, "PER")]


# ---- the task type -------------------------------------------------------------------------------------------

NER = get_task_type("named-entity-recognition")


def test_offsets_are_code_points_with_combining_characters_and_emoji():
    """Ground Truth's offsets are Unicode code points: the emoji (one code point, two UTF-16 units) counts one,
    the combining acute accent (U+0301) counts one of its own."""
    text = "Zoe\u0301 \U0001F600 met Jose\u0301 in Paris."
    start = text.index("Jose")
    end = start + len("Jose\u0301")
    assert (start, end) == (11, 16)  # UTF-16 would give 12..17
    answer = {"crowd-entity-annotation": {"entities": [{"label": "PER", "startOffset": start, "endOffset": end}]}}
    content = NER.validate_answer(answer, LABELS)
    (label,) = NER.consolidate([ObjectAnswers(0, (("w1", content), ("w2", content)))], {0}, LABELS,
                               algorithm="span-consensus", workers_per_object=2)
    (ent,) = label.value["annotations"]["entities"]
    assert text[ent["startOffset"]:ent["endOffset"]] == "Jose\u0301"


@pytest.mark.parametrize(("answer", "field"), [
    ([], "answer"),
    ({"crowd-entity-annotation": {"entities": "x"}}, "answer.crowd-entity-annotation.entities"),
    ({"crowd-entity-annotation": {"entities": [{"label": "PER", "startOffset": 3, "endOffset": 3}]}},
     "answer.crowd-entity-annotation.entities[0]"),
    ({"crowd-entity-annotation": {"entities": [{"label": "PER", "startOffset": "0", "endOffset": 3}]}},
     "answer.crowd-entity-annotation.entities[0]"),
    ({"crowd-entity-annotation": {"entities": [{"label": "DATE", "startOffset": 0, "endOffset": 3}]}},
     "answer.crowd-entity-annotation.entities[0]"),
    ({"crowd-entity-annotation": {"entities": [], "initialValueModified": "yes"}},
     "answer.crowd-entity-annotation.initialValueModified"),
])
def test_bad_answers_name_the_field(answer, field):
    with pytest.raises(ValidationError) as err:
        NER.validate_answer(answer, LABELS)
    assert err.value.field == field


def test_output_has_ground_truths_text_span_shape():
    ents = [{"label": "PER", "startOffset": 0, "endOffset": 12}, {"label": "LOC", "startOffset": 44, "endOffset": 50}]
    content = NER.validate_answer({"entities": ents}, LABELS)
    assert content == {"crowd-entity-annotation": {"entities": ents}}
    (label,) = NER.consolidate([ObjectAnswers(7, (("w", content),))], {7}, LABELS, algorithm="span-consensus",
                               workers_per_object=1)
    assert label.value == {"annotations": {"labels": [{"label": x} for x in LABELS], "entities": ents}}
    assert label.metadata == {"entities": [{"confidence": 0.0}, {"confidence": 0.0}]}
    assert NER.gt_type == "groundtruth/text-span"


def test_pre_annotations_reach_the_element_and_are_checked_per_line():
    config = {"labels": [{"label": "PER", "shortDisplayName": "P"}, {"label": "LOC"}]}
    line = {"source": "Ada in Paris", "initial-value": [{"label": "LOC", "startOffset": 7, "endOffset": 12}]}
    ti = NER.task_input(line, config, "", "")
    assert ti["initialValue"] == line["initial-value"]
    assert ti["labels"] == [{"label": "PER", "shortDisplayName": "P"}, {"label": "LOC"}]
    check = NER.line_checker(config, "ents")
    assert check(line) is None
    assert "ends after the text" in check({**line, "initial-value": [{"label": "LOC", "startOffset": 7, "endOffset": 13}]})
    assert "not a label" in check({**line, "initial-value": [{"label": "X", "startOffset": 0, "endOffset": 3}]})


def test_adjustment_status_records_whether_a_worker_changed_the_pre_annotations():
    kept = NER.validate_answer({"entities": [], "initialValueModified": False}, LABELS)
    changed = NER.validate_answer({"entities": [], "initialValueModified": True}, LABELS)
    (a,) = NER.consolidate([ObjectAnswers(0, (("w1", kept), ("w2", kept)))], {0}, LABELS,
                           algorithm="span-consensus", workers_per_object=2)
    (b,) = NER.consolidate([ObjectAnswers(0, (("w1", kept), ("w2", changed)))], {0}, LABELS,
                           algorithm="span-consensus", workers_per_object=2)
    assert (a.metadata["adjustment-status"], b.metadata["adjustment-status"]) == ("unadjusted", "adjusted")


PRIOR = {"annotations": {"labels": [{"label": "PER"}], "entities": [{"label": "PER", "startOffset": 0, "endOffset": 3}]}}


def test_chained_adjustment_starts_from_the_earlier_label():
    adj = get_task_type("named-entity-recognition-adjustment")
    config = {"labels": [{"label": "PER"}], "auditLabelAttributeName": "ents"}
    line = {"source": "Ada <b>", "ents": PRIOR}
    assert adj.task_input(line, config, "", "")["initialValue"] == PRIOR["annotations"]["entities"]
    check = adj.line_checker(config, "ents-fixed")
    assert check(line) is None and "no earlier label 'ents'" in check({"source": "x"})
    with pytest.raises(ValidationError) as err:
        adj.line_checker(config, "ents")
    assert err.value.field == "label_attribute_name"
    with pytest.raises(ValidationError):
        adj.line_checker({"labels": [{"label": "PER"}]}, "x")
    assert adj.gt_type == "groundtruth/text-span"


def test_chained_verification_shows_the_earlier_label_escaped_and_consolidates_a_verdict():
    ver = get_task_type("named-entity-recognition-verification")
    config = {"labels": [{"label": "correct"}, {"label": "needs work"}], "auditLabelAttributeName": "ents"}
    ti = ver.task_input({"source": "Ada <b>", "ents": PRIOR}, config, "", "")
    assert ti["preview"] == '<mark title="PER">Ada<sup>PER</sup></mark> &lt;b&gt;'
    answers = [ObjectAnswers(0, ((w, ver.validate_answer({"label": "correct"}, ["correct", "needs work"])),))
               for w in ("w1",)]
    (label,) = ver.consolidate(answers, {0}, ["correct", "needs work"], algorithm="majority-vote",
                               workers_per_object=1)
    assert (label.value, label.metadata["class-name"]) == (0, "correct")
    assert ver.gt_type == "groundtruth/label-verification"


def test_the_built_in_templates_render_the_element_and_the_verification_preview():
    from labelloop.render.builtin import builtin_template
    from labelloop.render.liquid import render_task_template

    config = {"labels": [{"label": "PER", "shortDisplayName": "P"}], "allowOverlap": True}
    line = {"source": 'Ada "<b>"', "initial-value": [{"label": "PER", "startOffset": 0, "endOffset": 3}]}
    html = render_task_template(builtin_template(NER.template), task_input=NER.task_input(line, config, "", ""),
                                grant=lambda u: u)
    assert '<crowd-entity-annotation' in html and "allow-overlap" in html and "<b>" not in html
    assert "&#34;startOffset&#34;:0,&#34;endOffset&#34;:3" in html  # the pre-annotations, escaped JSON
    ver = get_task_type("named-entity-recognition-verification")
    vconfig = {"labels": [{"label": "correct"}, {"label": "needs work"}], "auditLabelAttributeName": "ents"}
    html = render_task_template(builtin_template(ver.template),
                                task_input=ver.task_input({"source": "Ada <i>", "ents": PRIOR}, vconfig, "", ""),
                                grant=lambda u: u)
    assert '<mark title="PER">Ada<sup>PER</sup></mark> &lt;i&gt;' in html and "<crowd-classifier" in html


_span = st.tuples(st.integers(0, 30), st.integers(1, 8), st.sampled_from(LABELS)).map(
    lambda t: (t[0], t[0] + t[1], t[2]))
_answers = st.lists(st.lists(_span, max_size=5), min_size=1, max_size=4)


@settings(max_examples=100, deadline=None)
@given(_answers)
def test_entities_come_from_workers_boundaries_and_labels(answers):
    o = SpanObject(0, tuple((f"w{i}", tuple(sorted(set(a)))) for i, a in enumerate(answers)))
    (ents,) = SpanConsensus().fit([o], LABELS).entities_.values()
    starts = {s for a in answers for s, _, _ in a}
    ends = {e for a in answers for _, e, _ in a}
    for e in ents:
        assert e.start in starts and e.end in ends and e.start < e.end
        assert 0 <= e.confidence <= 0.95 and (len(answers) > 1 or e.confidence == 0)
    overlapping = any(b[0] < a[1] for spans in answers for a, b in pairwise(sorted(set(spans))))
    if not overlapping:
        assert all(b.start >= a.end for a, b in pairwise(ents))
