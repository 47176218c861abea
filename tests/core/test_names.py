"""Name rules: job/team names, label attribute names (spec §2.2), task keywords (spec §5.2)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelloop.core.errors import ValidationError
from labelloop.core.names import (
    validate_job_name,
    validate_keywords,
    validate_label_attribute_name,
    validate_team_name,
)

JOB_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


@pytest.mark.parametrize("name", ["a", "A1", "yard-boxes", "a--b", "9", "x" * 63, "a-" * 31 + "b"])
@pytest.mark.parametrize("validate", [validate_job_name, validate_team_name])
def test_good_job_and_team_names(validate, name):
    assert validate(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "LabelingJobName must not be empty"),
        ("x" * 64, "LabelingJobName is 64 characters; the limit is 63"),
        ("my_job", "LabelingJobName 'my_job' may contain only letters, digits and hyphens"),
        ("my.job", "LabelingJobName 'my.job' may contain only letters, digits and hyphens"),
        ("my job", "LabelingJobName 'my job' may contain only letters, digits and hyphens"),
        ("jöb", "LabelingJobName 'jöb' may contain only letters, digits and hyphens"),
        ("-job", "LabelingJobName '-job' must start and end with a letter or digit"),
        ("job-", "LabelingJobName 'job-' must start and end with a letter or digit"),
        ("-", "LabelingJobName '-' must start and end with a letter or digit"),
        (None, "LabelingJobName must be a string"),
        (12, "LabelingJobName must be a string"),
    ],
)
def test_bad_job_names(name, reason):
    with pytest.raises(ValidationError) as info:
        validate_job_name(name)
    assert info.value.message == reason
    assert info.value.field == "LabelingJobName"


def test_team_name_errors_name_the_team_field():
    with pytest.raises(ValidationError) as info:
        validate_team_name("a_b")
    assert info.value.field == "WorkteamName"
    assert info.value.message == "WorkteamName 'a_b' may contain only letters, digits and hyphens"


@given(st.text(alphabet="ab-_.Z9 ", max_size=70))
def test_job_name_agrees_with_the_pattern(name):
    expected = JOB_PATTERN.fullmatch(name) is not None
    try:
        validate_job_name(name)
        ok = True
    except ValidationError:
        ok = False
    assert ok == expected


@pytest.mark.parametrize(
    ("lan", "must_end_with_ref"),
    [
        ("pet", False),
        ("my-label", False),
        ("Vehicles2", False),
        ("x" * 127, False),
        ("masks-ref", True),
        ("refs", False),
        ("metadata", False),
        ("source-refs", False),
        ("sources", False),
    ],
)
def test_good_label_attribute_names(lan, must_end_with_ref):
    assert validate_label_attribute_name(lan, must_end_with_ref=must_end_with_ref) == lan


@pytest.mark.parametrize(
    ("lan", "must_end_with_ref", "reason"),
    [
        ("", False, "LabelAttributeName must not be empty"),
        ("x" * 128, False, "LabelAttributeName is 128 characters; the limit is 127"),
        ("my_label", False,
         "LabelAttributeName 'my_label' may contain only letters, digits and hyphens"),
        ("my.label", False,
         "LabelAttributeName 'my.label' may contain only letters, digits and hyphens"),
        ("$label", False, "LabelAttributeName '$label' may contain only letters, digits and hyphens"),
        ("label-", False, "LabelAttributeName 'label-' must start and end with a letter or digit"),
        ("source", False, "LabelAttributeName 'source' is reserved for the input data"),
        ("source-ref", True, "LabelAttributeName 'source-ref' is reserved for the input data"),
        ("pet-metadata", False, "LabelAttributeName 'pet-metadata' may not end with '-metadata'"),
        ("masks", True, "LabelAttributeName 'masks' must end with '-ref' for this task type"),
        ("pet-ref", False, "LabelAttributeName 'pet-ref' must not end with '-ref' for this task type"),
    ],
)
def test_bad_label_attribute_names(lan, must_end_with_ref, reason):
    with pytest.raises(ValidationError) as info:
        validate_label_attribute_name(lan, must_end_with_ref=must_end_with_ref)
    assert info.value.message == reason
    assert info.value.field == "LabelAttributeName"


def test_label_attribute_name_field_can_be_renamed():
    with pytest.raises(ValidationError) as info:
        validate_label_attribute_name("a_b", must_end_with_ref=False, field="auditLabelAttributeName")
    assert info.value.field == "auditLabelAttributeName"


@pytest.mark.parametrize(
    "keywords",
    [["Images"], ["Images", "Bounding Box"], ["a", "b", "c", "d", "e"], ["x" * 30], ["A1 b2 C3"]],
)
def test_good_keywords(keywords):
    assert validate_keywords(keywords) == keywords


@pytest.mark.parametrize("keywords", [[], None])
def test_no_keywords_is_allowed(keywords):
    assert validate_keywords(keywords) == []


@pytest.mark.parametrize(
    ("keywords", "reason"),
    [
        (["a", "b", "c", "d", "e", "f"], "TaskKeywords has 6 keywords; the limit is 5"),
        ([""], "TaskKeywords: a keyword must not be empty"),
        (["x" * 31], f"TaskKeywords: keyword {'x' * 31!r} is 31 characters; the limit is 30"),
        (["two  spaces"], "TaskKeywords: keyword 'two  spaces' may contain only letters and "
                          "digits, with single spaces between words"),
        ([" lead"], "TaskKeywords: keyword ' lead' may contain only letters and digits, "
                    "with single spaces between words"),
        (["bounding-box"], "TaskKeywords: keyword 'bounding-box' may contain only letters and "
                           "digits, with single spaces between words"),
        ([3], "TaskKeywords: keyword 3 must be a string"),
        ("Images", "TaskKeywords must be a list of strings"),
    ],
)
def test_bad_keywords(keywords, reason):
    with pytest.raises(ValidationError) as info:
        validate_keywords(keywords)
    assert info.value.message == reason
    assert info.value.field == "TaskKeywords"
