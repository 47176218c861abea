"""Label category configuration (``LabelCategoryConfigS3Uri``, spec §1.2).

Ground Truth's format for built-in image/text and custom tasks::

    {"document-version": "2018-11-28",
     "labels": [{"label": "cat", "shortDisplayName": "C", "key": "c"}, {"label": "dog"}],
     "instructions": {"shortInstruction": "...", "fullInstruction": "..."}}

``key`` (one character: the keyboard shortcut for the label in the worker UI) is a labelloop
extension. Of the video/3D ``2020-03-01`` camelCase format only ``labels`` and ``instructions``
are read here; attributes are left in :attr:`LabelConfig.raw`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from labelloop.core.errors import ValidationError

FIELD = "LabelCategoryConfig"
DOCUMENT_VERSION = "2018-11-28"
DOCUMENT_VERSION_2020 = "2020-03-01"
MAX_LABEL_CHARS = 256
MAX_LABELS = 1000  # whatever the task type allows: a bound on what every task page and answer carries


@dataclass(frozen=True)
class LabelConfig:
    """A parsed label category configuration; tuples are parallel, in file order."""

    labels: tuple[str, ...]
    short_display_names: tuple[str | None, ...]
    keys: tuple[str | None, ...]
    short_instruction: str | None
    full_instruction: str | None
    raw: dict[str, Any] = field(hash=False, repr=False)


def _fail(message: str) -> ValidationError:
    return ValidationError(f"{FIELD}: {message}", field=FIELD)


def parse_label_config(
    data: bytes | str | dict[str, Any],
    *,
    min_labels: int = 2,
    max_labels: int | None = None,
    require_instructions: bool = False,
    task: str = "classification",
) -> LabelConfig:
    """Parse and validate a label category configuration file.

    ``min_labels`` is 2 for classification and 1 for other task types; ``max_labels`` is the
    task type's limit (``None``: no limit); ``require_instructions`` is set for named-entity
    recognition. ``task`` names the task type in count errors. Raises ``ValidationError`` with
    ``field="LabelCategoryConfig"``.
    """
    doc = _load(data)
    _check_version(doc)
    labels = doc.get("labels")
    if labels is None:
        raise _fail("needs 'labels', a list like [{\"label\": \"cat\"}, {\"label\": \"dog\"}]")
    if not isinstance(labels, list):
        raise _fail("'labels' must be a list")
    if len(labels) > MAX_LABELS:
        raise _fail(f"at most {MAX_LABELS} labels; got {len(labels)}")
    names, short_names, keys = _parse_labels(labels)
    if len(names) < min_labels:
        noun = "label" if min_labels == 1 else "labels"
        raise _fail(f"{task} needs at least {min_labels} {noun}; got {len(names)}")
    if max_labels is not None and len(names) > max_labels:
        raise _fail(f"{task} allows at most {max_labels} labels; got {len(names)}")
    short_instruction, full_instruction = _parse_instructions(doc, require_instructions)
    return LabelConfig(
        labels=tuple(names),
        short_display_names=tuple(short_names),
        keys=tuple(keys),
        short_instruction=short_instruction,
        full_instruction=full_instruction,
        raw=doc,
    )


def _load(data: bytes | str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _fail("is not valid UTF-8") from None
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise _fail(
                f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            ) from None
    if not isinstance(data, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(data), "a number"
        )
        raise _fail(f"must be a JSON object, not {kind}")
    return data


def _check_version(doc: dict[str, Any]) -> None:
    if "document-version" in doc and doc["document-version"] != DOCUMENT_VERSION:
        raise _fail(
            f"document-version must be {DOCUMENT_VERSION!r}; got {doc['document-version']!r}"
        )
    if "documentVersion" in doc and doc["documentVersion"] != DOCUMENT_VERSION_2020:
        raise _fail(
            f"documentVersion must be {DOCUMENT_VERSION_2020!r}; got {doc['documentVersion']!r}"
        )


def _parse_labels(
    labels: list[Any],
) -> tuple[list[str], list[str | None], list[str | None]]:
    names: list[str] = []
    short_names: list[str | None] = []
    keys: list[str | None] = []
    seen: set[str] = set()
    key_owner: dict[str, str] = {}
    for i, entry in enumerate(labels):
        if not isinstance(entry, dict):
            raise _fail(f'labels[{i}] must be an object like {{"label": "cat"}}')
        name = entry.get("label")
        if not isinstance(name, str) or not name.strip():
            raise _fail(f"labels[{i}].label must be a non-empty string")
        if len(name) > MAX_LABEL_CHARS:
            raise _fail(
                f"label {name[:40]!r}... is {len(name)} characters; the limit is {MAX_LABEL_CHARS}"
            )
        if name in seen:
            raise _fail(f"label {name!r} appears twice")
        seen.add(name)
        short = entry.get("shortDisplayName")
        if short is not None and (not isinstance(short, str) or not short.strip()):
            raise _fail(f"shortDisplayName of label {name!r} must be a non-empty string")
        key = entry.get("key")
        if key is not None:
            if not isinstance(key, str) or len(key) != 1 or not key.isprintable() or key == " ":
                raise _fail(f"key of label {name!r} must be one printable character, not {key!r}")
            if key in key_owner:
                raise _fail(f"key {key!r} is used by both {key_owner[key]!r} and {name!r}")
            key_owner[key] = name
        names.append(name)
        short_names.append(short)
        keys.append(key)
    return names, short_names, keys


def _parse_instructions(
    doc: dict[str, Any], required: bool
) -> tuple[str | None, str | None]:
    instructions = doc.get("instructions")
    if instructions is None:
        if required:
            raise _fail("needs 'instructions' with 'shortInstruction' or 'fullInstruction'")
        return None, None
    if not isinstance(instructions, dict):
        raise _fail("'instructions' must be an object")
    values: list[str | None] = []
    for name in ("shortInstruction", "fullInstruction"):
        value = instructions.get(name)
        if value is not None and not isinstance(value, str):
            raise _fail(f"instructions.{name} must be a string")
        values.append(value or None)
    if required and not any(values):
        raise _fail("needs 'instructions' with 'shortInstruction' or 'fullInstruction'")
    return values[0], values[1]


def label_config_json(labels: list[str]) -> dict[str, Any]:
    """Build a Ground Truth label category configuration listing ``labels``."""
    return {"document-version": DOCUMENT_VERSION, "labels": [{"label": label} for label in labels]}
