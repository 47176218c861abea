"""Label category configuration files (spec §1.2)."""

from __future__ import annotations

import json

import pytest

from labelloop.core.errors import ValidationError
from labelloop.core.labels import LabelConfig, label_config_json, parse_label_config

NER = {
    "document-version": "2018-11-28",
    "labels": [
        {"label": "person", "shortDisplayName": "PER", "key": "p"},
        {"label": "organization", "shortDisplayName": "ORG"},
    ],
    "instructions": {"shortInstruction": "<p>Highlight</p>", "fullInstruction": "<p>Longer</p>"},
}

VIDEO = {
    "documentVersion": "2020-03-01",
    "annotationType": "Polygon",
    "frameAttributes": [{"name": "weather", "type": "string", "enum": ["sunny", "rain"]}],
    "labels": [{"label": "car", "categoryAttributes": [{"name": "color", "type": "string"}]},
               {"label": "bus", "editsAllowed": "none"}],
    "instructions": {"shortInstruction": "Outline every vehicle"},
}


@pytest.mark.parametrize(
    "data",
    [
        NER,
        json.dumps(NER),
        json.dumps(NER).encode(),
        b"\xef\xbb\xbf" + json.dumps(NER).encode(),
    ],
)
def test_parses_ground_truth_format_in_every_input_form(data):
    config = parse_label_config(data, require_instructions=True)
    assert config == LabelConfig(
        labels=("person", "organization"),
        short_display_names=("PER", "ORG"),
        keys=("p", None),
        short_instruction="<p>Highlight</p>",
        full_instruction="<p>Longer</p>",
        raw=NER,
    )


def test_document_version_may_be_missing():
    config = parse_label_config({"labels": [{"label": "cat"}, {"label": "dog"}]})
    assert config.labels == ("cat", "dog")
    assert config.short_instruction is None and config.full_instruction is None


def test_reads_labels_of_the_2020_camel_case_format():
    config = parse_label_config(VIDEO, min_labels=1, max_labels=30)
    assert config.labels == ("car", "bus")
    assert config.short_instruction == "Outline every vehicle"
    assert config.raw["frameAttributes"][0]["name"] == "weather"


def test_label_config_json_round_trips():
    doc = label_config_json(["cat", "dog", "other"])
    assert doc == {"document-version": "2018-11-28",
                   "labels": [{"label": "cat"}, {"label": "dog"}, {"label": "other"}]}
    assert parse_label_config(json.dumps(doc)).labels == ("cat", "dog", "other")


def test_one_label_is_enough_when_min_labels_is_1():
    assert parse_label_config(label_config_json(["box"]), min_labels=1).labels == ("box",)


def test_label_of_256_characters_is_allowed():
    assert parse_label_config(label_config_json(["x" * 256, "y"])).labels[0] == "x" * 256


def _labels(*entries):
    return {"document-version": "2018-11-28", "labels": list(entries)}


@pytest.mark.parametrize(
    ("data", "kwargs", "reason"),
    [
        ("{not json", {}, "is not valid JSON (Expecting property name enclosed in double quotes "
                          "at line 1 column 2)"),
        (b"\xff{}", {}, "is not valid UTF-8"),
        ("[1, 2]", {}, "must be a JSON object, not an array"),
        ('"cat"', {}, "must be a JSON object, not a string"),
        ({"document-version": "2018-11-28"}, {},
         "needs 'labels', a list like [{\"label\": \"cat\"}, {\"label\": \"dog\"}]"),
        ({"labels": {"label": "cat"}}, {}, "'labels' must be a list"),
        ({"document-version": "2020-03-01", "labels": []}, {},
         "document-version must be '2018-11-28'; got '2020-03-01'"),
        ({"documentVersion": "2018-11-28", "labels": []}, {},
         "documentVersion must be '2020-03-01'; got '2018-11-28'"),
        (_labels("cat", "dog"), {}, 'labels[0] must be an object like {"label": "cat"}'),
        (_labels({"label": "cat"}, {"name": "dog"}), {}, "labels[1].label must be a non-empty string"),
        (_labels({"label": ""}, {"label": "dog"}), {}, "labels[0].label must be a non-empty string"),
        (_labels({"label": "  "}, {"label": "dog"}), {}, "labels[0].label must be a non-empty string"),
        (_labels({"label": 7}, {"label": "dog"}), {}, "labels[0].label must be a non-empty string"),
        (_labels({"label": "x" * 257}, {"label": "dog"}), {},
         f"label {'x' * 40!r}... is 257 characters; the limit is 256"),
        (_labels({"label": "cat"}, {"label": "dog"}, {"label": "cat"}), {},
         "label 'cat' appears twice"),
        (_labels({"label": "cat"}), {}, "classification needs at least 2 labels; got 1"),
        (_labels(), {"min_labels": 1, "task": "bounding box"},
         "bounding box needs at least 1 label; got 0"),
        (_labels({"label": "a"}, {"label": "b"}, {"label": "c"}), {"max_labels": 2},
         "classification allows at most 2 labels; got 3"),
        (_labels({"label": "a", "shortDisplayName": 5}, {"label": "b"}), {},
         "shortDisplayName of label 'a' must be a non-empty string"),
        (_labels({"label": "a", "key": "ab"}, {"label": "b"}), {},
         "key of label 'a' must be one printable character, not 'ab'"),
        (_labels({"label": "a", "key": ""}, {"label": "b"}), {},
         "key of label 'a' must be one printable character, not ''"),
        (_labels({"label": "a", "key": " "}, {"label": "b"}), {},
         "key of label 'a' must be one printable character, not ' '"),
        (_labels({"label": "a", "key": 1}, {"label": "b"}), {},
         "key of label 'a' must be one printable character, not 1"),
        (_labels({"label": "a", "key": "x"}, {"label": "b", "key": "x"}), {},
         "key 'x' is used by both 'a' and 'b'"),
        (_labels({"label": "a"}, {"label": "b"}), {"require_instructions": True},
         "needs 'instructions' with 'shortInstruction' or 'fullInstruction'"),
        ({**_labels({"label": "a"}, {"label": "b"}), "instructions": {"shortInstruction": ""}},
         {"require_instructions": True},
         "needs 'instructions' with 'shortInstruction' or 'fullInstruction'"),
        ({**_labels({"label": "a"}, {"label": "b"}), "instructions": "read me"}, {},
         "'instructions' must be an object"),
        ({**_labels({"label": "a"}, {"label": "b"}), "instructions": {"fullInstruction": 3}}, {},
         "instructions.fullInstruction must be a string"),
    ],
)
def test_bad_label_configs(data, kwargs, reason):
    with pytest.raises(ValidationError) as info:
        parse_label_config(data, **kwargs)
    assert info.value.message == f"LabelCategoryConfig: {reason}"
    assert info.value.field == "LabelCategoryConfig"


def test_label_count_has_a_limit_whatever_the_task_type():
    from labelloop.core.labels import MAX_LABELS

    many = {"document-version": "2018-11-28", "labels": [{"label": f"l{i}"} for i in range(MAX_LABELS + 1)]}
    with pytest.raises(ValidationError, match=f"at most {MAX_LABELS} labels"):
        parse_label_config(many, min_labels=1, max_labels=None)
