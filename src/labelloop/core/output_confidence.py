"""The confidences Ground Truth writes in an output manifest (spec §2.5): two decimals, never above 0.95,
and 0.00 when one worker answered. The database and the API keep the raw posterior; only the manifest line is changed.

>>> written_metadata({"class-name": "dog", "confidence": 0.999}, answers=3)
{'class-name': 'dog', 'confidence': 0.95}
>>> written_metadata({"confidence": 0.8731}, answers=3)
{'confidence': 0.87}
>>> written_metadata({"confidence-map": {"0": 0.7, "2": 1.0}}, answers=1)
{'confidence-map': {'0': 0.0, '2': 0.0}}
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["CEILING", "written_confidence", "written_metadata", "written_metadata_json"]

CEILING = 0.95  # in 541 real image-classification lines, every unanimous 5-of-5 object carries exactly 0.95


def written_confidence(value: Any, *, answers: int) -> Any:
    """One confidence as written: 0.0 for a single answer, else rounded to two decimals (as every real
    Ground Truth line has it) and at most ``CEILING``; non-numbers as given."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if answers == 1:
        return 0.0
    if isinstance(value, int):
        return value if value <= CEILING else CEILING
    return min(round(value, 2), CEILING)


def _walk(value: Any, answers: int, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, answers, k) for k, v in value.items()}
    if isinstance(value, list):
        if key == "confidence":  # 3D tracking writes a list of confidences
            return [written_confidence(v, answers=answers) for v in value]
        return [_walk(v, answers, key) for v in value]
    if key == "confidence":
        return written_confidence(value, answers=answers)
    return value


def written_metadata(metadata: dict[str, Any], *, answers: int) -> dict[str, Any]:
    """``<LAN>-metadata`` as the output manifest writes it: every ``confidence`` (top level, in ``objects``,
    ``entities``, ``internal-color-map``...) and every value of ``confidence-map`` through
    :func:`written_confidence`. ``answers`` is how many workers answered the object (0: machine-labeled)."""
    out = _walk(metadata, answers)
    cmap = out.get("confidence-map")
    if isinstance(cmap, dict):
        out["confidence-map"] = {k: written_confidence(v, answers=answers) for k, v in cmap.items()}
    return out  # type: ignore[no-any-return]


_NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
_CONFIDENCE = re.compile(r'"confidence":(' + _NUMBER + ")")
_CONFIDENCE_MAP = re.compile(r'"confidence-map":\{([^{}]*)\}')
_MAP_VALUE = re.compile(r'("(?:[^"\\]|\\.)*":)(' + _NUMBER + ")")
_SLOW = ('"confidence": ', '"confidence-map": ', '"confidence":[')


def _number(text: str, answers: int) -> str:
    if answers == 1:
        return "0.0"
    if not any(c in text for c in ".eE"):  # an integer: 0, or 1 (capped)
        return str(CEILING) if int(text) > CEILING else text
    return repr(min(round(float(text), 2), CEILING))


def written_metadata_json(text: str, *, answers: int) -> str:
    """:func:`written_metadata` of compact metadata JSON text, as compact JSON text: numbers after
    ``"confidence":`` and in ``"confidence-map":{...}`` rewritten in place, without parsing the rest (the
    output manifest writes every line of a job this way). Spaced JSON, or a list of confidences, takes the
    parse-and-dump path."""
    if any(s in text for s in _SLOW):
        return json.dumps(written_metadata(json.loads(text), answers=answers), ensure_ascii=False,
                          separators=(",", ":"))
    text = _CONFIDENCE.sub(lambda m: '"confidence":' + _number(m.group(1), answers), text)
    if '"confidence-map":{' in text:
        text = _CONFIDENCE_MAP.sub(lambda m: '"confidence-map":{' + _MAP_VALUE.sub(
            lambda v: v.group(1) + _number(v.group(2), answers), m.group(1)) + "}", text)
    return text
