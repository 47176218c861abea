"""JSON Lines: one object a line, ``{"id", "text", "entities": [{"start", "end", "label", "confidence"}]}``;
offsets are code points (Python ``str`` indices), as Ground Truth's, with overlaps kept."""

from __future__ import annotations

import json

from labelloop.core.exports.base import TextSpans


def jsonl_line(rec: TextSpans) -> str:
    conf = list(rec.confidences) + [0.0] * (len(rec.spans) - len(rec.confidences))
    ents = [{"start": s, "end": e, "label": label, "confidence": c}
            for (s, e, label), c in zip(rec.spans, conf, strict=False)]
    return json.dumps({"id": rec.id, "text": rec.text, "entities": ents}, ensure_ascii=False) + "\n"
