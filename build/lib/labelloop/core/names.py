"""Name rules shared with Ground Truth: job and team names, label attribute names, task keywords.

Each validator returns the value unchanged when it is good and raises
:class:`~labelloop.core.errors.ValidationError` naming the field and exactly what is wrong.
"""

from __future__ import annotations

import re

from labelloop.core.errors import ValidationError

JOB_NAME_MAX_CHARS = 63
LABEL_ATTRIBUTE_NAME_MAX_CHARS = 127
MAX_KEYWORDS = 5
KEYWORD_MAX_CHARS = 30

_ALLOWED_CHARS = re.compile(r"[a-zA-Z0-9-]+")
_KEYWORD = re.compile(r"[A-Za-z0-9]+( [A-Za-z0-9]+)*")
_RESERVED_LANS = ("source", "source-ref")


def _check_hyphenated(name: object, field: str, max_chars: int) -> str:
    """Check ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,max_chars-1}`` with a precise reason on failure."""
    if not isinstance(name, str):
        raise ValidationError(f"{field} must be a string", field=field)
    if not name:
        raise ValidationError(f"{field} must not be empty", field=field)
    if len(name) > max_chars:
        raise ValidationError(
            f"{field} is {len(name):,} characters; the limit is {max_chars}", field=field
        )
    if not _ALLOWED_CHARS.fullmatch(name):
        raise ValidationError(
            f"{field} {name!r} may contain only letters, digits and hyphens", field=field
        )
    if name[0] == "-" or name[-1] == "-":
        raise ValidationError(
            f"{field} {name!r} must start and end with a letter or digit", field=field
        )
    return name


def validate_job_name(name: str, field: str = "LabelingJobName") -> str:
    """Validate a labeling job name: ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``."""
    return _check_hyphenated(name, field, JOB_NAME_MAX_CHARS)


def validate_team_name(name: str, field: str = "WorkteamName") -> str:
    """Validate a work team name; same rule as job names."""
    return _check_hyphenated(name, field, JOB_NAME_MAX_CHARS)


def validate_label_attribute_name(
    lan: str, *, must_end_with_ref: bool, field: str = "LabelAttributeName"
) -> str:
    """Validate a label attribute name (spec §2.2).

    ``must_end_with_ref`` is True for the task types whose labels are files (semantic segmentation,
    video frame and 3D point cloud detection/tracking and their audits); all others must not end
    with ``-ref``.
    """
    _check_hyphenated(lan, field, LABEL_ATTRIBUTE_NAME_MAX_CHARS)
    if lan in _RESERVED_LANS:
        raise ValidationError(f"{field} {lan!r} is reserved for the input data", field=field)
    if lan.endswith("-metadata"):
        raise ValidationError(f"{field} {lan!r} may not end with '-metadata'", field=field)
    ends_with_ref = lan.endswith("-ref")
    if must_end_with_ref and not ends_with_ref:
        raise ValidationError(
            f"{field} {lan!r} must end with '-ref' for this task type", field=field
        )
    if ends_with_ref and not must_end_with_ref:
        raise ValidationError(
            f"{field} {lan!r} must not end with '-ref' for this task type", field=field
        )
    return lan


def validate_keywords(keywords: list[str] | None, field: str = "TaskKeywords") -> list[str]:
    """Validate task keywords: at most 5, each 1–30 characters of words separated by single spaces.

    No keywords (``None`` or ``[]``) is allowed and returns ``[]``.
    """
    if keywords is None:
        return []
    if isinstance(keywords, str) or not isinstance(keywords, (list, tuple)):
        raise ValidationError(f"{field} must be a list of strings", field=field)
    if len(keywords) > MAX_KEYWORDS:
        raise ValidationError(
            f"{field} has {len(keywords)} keywords; the limit is {MAX_KEYWORDS}", field=field
        )
    for keyword in keywords:
        if not isinstance(keyword, str):
            raise ValidationError(f"{field}: keyword {keyword!r} must be a string", field=field)
        if not keyword:
            raise ValidationError(f"{field}: a keyword must not be empty", field=field)
        if len(keyword) > KEYWORD_MAX_CHARS:
            raise ValidationError(
                f"{field}: keyword {keyword!r} is {len(keyword)} characters; "
                f"the limit is {KEYWORD_MAX_CHARS}",
                field=field,
            )
        if not _KEYWORD.fullmatch(keyword):
            raise ValidationError(
                f"{field}: keyword {keyword!r} may contain only letters and digits, "
                "with single spaces between words",
                field=field,
            )
    return list(keywords)
