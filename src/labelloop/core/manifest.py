"""Input manifests (JSON Lines, spec §1.1): streaming parser and output-line writer.

A manifest line is kept as its original text, so keys we do not know about are carried through to
the output manifest with their values as written (only the whitespace between tokens goes: Ground Truth
writes compact lines); :func:`output_line` appends the label and its metadata.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from labelloop.core.errors import ManifestError

MAX_LINE_CHARS = 100_000
MAX_VALUE_CHARS = 20_000

_JSON_WS = " \t\r\n"
GOLD_KEY = "labelloop-gold"
"""A manifest line with this key is a gold object: the value is its known class (quality control)."""
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_COMMON_SCHEMES = ("s3://", "https://", "http://", "gs://", "file://")
_EDGE_SPACE_OR_CONTROL = re.compile(r"\A\s|\s\Z|[\x00-\x1f\x7f]")
_JSONDecodeError = json.JSONDecodeError


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _BadLine(f"key {key!r} appears more than once")
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    raise _BadLine(f"{name} is not a JSON number (the output would not be valid JSON)")


@dataclass(frozen=True, slots=True)
class ManifestRecord:
    """One data object of an input manifest."""

    line_no: int
    """1-based line number in the file (blank lines count)."""
    text: str
    """The line as given, without the line ending or surrounding whitespace."""
    source: str | None
    source_ref: str | None
    prior_label: bool
    """The line already has the job's label attribute name as a key (chaining)."""
    gold: str | None = None
    """The known answer of a gold object (the line's ``"labelloop-gold"`` key, :data:`GOLD_KEY`)."""


class _BadLine(Exception):
    """Internal: the reason a line is rejected."""


_decode_json = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant).decode


def parse_manifest(
    lines: Iterable[str | bytes],
    *,
    label_attribute_name: str | None = None,
    max_errors: int = 50,
    check_ref: Callable[[str], str | None] | None = None,
) -> Iterator[ManifestRecord]:
    """Stream the data objects of a manifest, one :class:`ManifestRecord` per non-blank line.

    ``lines`` is any iterable of lines (``str`` or UTF-8 ``bytes``, with or without ``\\n`` /
    ``\\r\\n``), such as an open file; a whole ``str``/``bytes`` document is split on ``\\n``.

    Records are yielded as they are read, until the first bad line; after that the rest of the
    input is only checked, so the error can report every bad line. When the input ends, a
    :class:`ManifestError` is raised if any line was bad (``details`` holds the first
    ``max_errors`` as ``{"line": n, "reason": "..."}``) or if there were no data objects at all.
    A caller that writes records in one transaction therefore rolls back on a bad manifest.

    ``check_ref``, when given, is asked about every ``source-ref`` (the storage access policy): the reason it
    returns makes that line bad.
    """
    if isinstance(lines, str):
        lines = lines.split("\n")
    elif isinstance(lines, (bytes, bytearray)):
        lines = bytes(lines).split(b"\n")
    details: list[dict[str, Any]] = []
    first_error = ""
    bad = 0
    good = 0
    for line_no, raw in enumerate(lines, start=1):
        try:
            record = _parse_line(raw, line_no, label_attribute_name)
            if check_ref is not None and record is not None and record.source_ref is not None:
                reason = check_ref(record.source_ref)
                if reason is not None:
                    raise _BadLine(f"'source-ref' refused: {reason}")
        except _BadLine as exc:
            bad += 1
            if bad == 1:
                first_error = f"line {line_no}: {exc}"
            if len(details) < max_errors:
                details.append({"line": line_no, "reason": str(exc)})
            continue
        if record is None:
            continue
        good += 1
        if not bad:
            yield record
    if bad:
        raise ManifestError(
            f"input manifest has {bad:,} bad line(s); first: {first_error}",
            field="input_manifest_uri",
            details=details,
        )
    if not good:
        raise ManifestError(
            "input manifest has no data objects",
            field="input_manifest_uri",
        )


def _parse_line(raw: str | bytes, line_no: int, lan: str | None) -> ManifestRecord | None:
    """Parse one line; ``None`` for a blank line; raise :class:`_BadLine` with the reason."""
    if not isinstance(raw, str):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _BadLine(
                f"not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
            ) from None
    text = raw.strip(_JSON_WS)
    if line_no == 1 and text.startswith("\ufeff"):
        text = text[1:].lstrip(_JSON_WS)
    if not text:
        return None
    size = len(text)
    if size > MAX_LINE_CHARS:
        raise _BadLine(f"line is {size:,} characters; the limit is {MAX_LINE_CHARS:,}")
    try:
        obj = _decode_json(text)
    except _JSONDecodeError as exc:
        raise _BadLine(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise _BadLine("nested too deeply") from None
    except ValueError as exc:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        raise _BadLine(f"has a number with too many digits ({str(exc).split(':')[0]})") from None
    if type(obj) is not dict:
        raise _BadLine(f"must be a JSON object, not {_json_type(obj)}")
    if "$" in text:
        for key in obj:
            if key[:1] == "$":
                raise _BadLine(f"key {key!r} may not start with '$'")
    if size > MAX_VALUE_CHARS:
        _check_value_sizes(obj)
    source_ref = obj.get("source-ref")
    source = obj.get("source")
    if "source-ref" in obj:
        if "source" in obj:
            raise _BadLine("has both 'source' and 'source-ref'")
        _check_source_ref(source_ref)
    elif "source" in obj:
        if type(source) is not str:
            raise _BadLine(f"'source' must be a string, not {_json_type(source)}")
        if not source:
            raise _BadLine("'source' must not be empty")
    else:
        raise _BadLine("needs 'source-ref' or 'source'")
    gold = obj.get(GOLD_KEY)
    if GOLD_KEY in obj and (type(gold) is not str or not gold):
        raise _BadLine(f"'{GOLD_KEY}' must be a label (a non-empty string), not {_json_type(gold)}")
    return ManifestRecord(line_no, text, source, source_ref, lan is not None and lan in obj, gold)


def _check_value_sizes(obj: dict[str, Any]) -> None:
    for key, value in obj.items():
        if type(value) is str and len(value) > MAX_VALUE_CHARS:
            raise _BadLine(
                f"value of {key!r} is {len(value):,} characters; the limit is {MAX_VALUE_CHARS:,}"
            )


def _check_source_ref(value: object) -> None:
    """A non-empty URI with a scheme (``s3://``, ``file://``, ``https://``...) or a path."""
    if type(value) is not str:
        raise _BadLine(f"'source-ref' must be a string, not {_json_type(value)}")
    if value.startswith(_COMMON_SCHEMES) and value.isprintable() and value[-1] != " " and value.partition("://")[2]:
        return  # fast path: the usual s3://bucket/key
    if not value.strip():
        raise _BadLine("'source-ref' must not be empty")
    if _EDGE_SPACE_OR_CONTROL.search(value):
        raise _BadLine(
            f"'source-ref' {value!r} has leading/trailing whitespace or control characters"
        )
    scheme, sep, rest = value.partition("://")
    if sep and (not _SCHEME.fullmatch(scheme) or not rest):
        raise _BadLine(f"'source-ref' {value!r} is not a valid URI")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


_STRING_OR_SPACE = re.compile(r'("(?:[^"\\]|\\.)*")|[ \t\r\n]+')


_NO_SPACE = str.maketrans("", "", _JSON_WS)


def compact_json(text: str) -> str:
    """``text`` (valid JSON) without whitespace outside its strings: Ground Truth's compact form, every key,
    value and number written as given (``1.50`` stays ``1.50``; no re-serialisation)."""
    if " " not in text and "\t" not in text and "\n" not in text and "\r" not in text:
        return text
    if "\\" not in text:  # no escapes: the quotes alone split strings (odd parts) from the rest (even parts)
        parts = text.split('"')
        # one translate over the parts outside strings, joined by NUL (never raw in valid JSON)
        parts[::2] = "\0".join(parts[::2]).translate(_NO_SPACE).split("\0")
        return '"'.join(parts)
    return _STRING_OR_SPACE.sub(lambda m: m.group(1) or "", text)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def output_line(
    record_text: str, label_attribute_name: str, value: Any, metadata: dict[str, Any]
) -> str:
    """Return the input line, compact (Ground Truth writes JSON without spaces), with
    ``"<lan>":value,"<lan>-metadata":metadata`` as its last keys.

    Every other key and value keeps its text (only whitespace between tokens goes): the two keys are
    spliced in before the closing ``}``. If the line already has either key (a re-run or a chained job
    reusing the name), the object is re-serialised with those keys replaced at the end.
    """
    return output_line_json(record_text, label_attribute_name, _dumps(value), _dumps(metadata))


def output_line_json(record_text: str, label_attribute_name: str, value_json: str, metadata_json: str, *,
                     compact: bool = True) -> str:
    """``output_line`` for a value and metadata that are already JSON text (as the database keeps
    them): spliced in as they are (compacted, unless ``compact`` is False: they are compact already), with no
    parsing on the common path."""
    text = record_text.strip(_JSON_WS)
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError("record_text must be a JSON object")
    meta_key = label_attribute_name + "-metadata"
    if "\\u" in value_json or "\\u" in metadata_json:  # stored ASCII-escaped: write the characters
        value_json = _dumps(json.loads(value_json))
        metadata_json = _dumps(json.loads(metadata_json))
    elif compact:
        value_json, metadata_json = compact_json(value_json), compact_json(metadata_json)
    if (
        f'"{label_attribute_name}"' in text or f'"{meta_key}"' in text or "\\u" in text
    ):
        obj = json.loads(text)
        if label_attribute_name in obj or meta_key in obj:
            obj.pop(label_attribute_name, None)
            obj.pop(meta_key, None)
            obj[label_attribute_name] = json.loads(value_json)
            obj[meta_key] = json.loads(metadata_json)
            return _dumps(obj)
    head = compact_json(text[:-1].rstrip(_JSON_WS))
    sep = "" if head == "{" else ","
    return f"{head}{sep}{json.dumps(label_attribute_name)}:{value_json},{json.dumps(meta_key)}:{metadata_json}}}"
