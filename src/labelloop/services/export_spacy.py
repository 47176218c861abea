"""spaCy ``DocBin`` shards of exported texts: the only module that imports spaCy (the ``spacy`` extra), lazily.

A blank pipeline's tokenizer (``spacy.blank(lang)``; no model is downloaded) makes each ``Doc``; every entity
goes to ``doc.spans["sc"]`` (overlaps and nesting kept, spaCy's span categorizer key) and the non-overlapping
ones to ``doc.ents``; an entity boundary inside a token widens it to the token (``alignment_mode="expand"``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from labelloop.core.errors import ValidationError
from labelloop.core.exports import TextSpans

SPANS_KEY = "sc"


def _spacy() -> Any:
    try:
        import spacy
        from spacy.tokens import DocBin
    except ImportError:
        raise ValidationError("the spacy format needs spaCy: pip install 'labelloop[spacy]'", field="format") from None
    return spacy, DocBin


def blank(lang: str) -> Any:
    """spaCy's blank pipeline for ``lang`` (a ValidationError naming ``lang`` when spaCy has none)."""
    spacy, _ = _spacy()
    try:
        return spacy.blank(lang)
    except (ImportError, KeyError, ValueError, OSError) as exc:
        raise ValidationError(f"spaCy has no blank pipeline for language {lang!r}: {exc}", field="lang") from None


def docbin_shards(records: Iterator[TextSpans], *, lang: str = "xx", shard_size: int = 10_000,
                  on_flattened: Callable[[int], None] | None = None) -> Iterator[tuple[str, bytes]]:
    """``("part-00000.spacy", bytes)`` per ``shard_size`` records."""
    _, DocBin = _spacy()
    from spacy.util import filter_spans

    nlp = blank(lang)
    with _encoders_once():
        yield from _shards(records, nlp, DocBin, filter_spans, shard_size, on_flattened)


@contextmanager
def _encoders_once() -> Iterator[None]:
    """srsly looks every msgpack encoder up again (the whole catalogue registry and the packages' entry points)
    for each of the two or three msgpack calls ``DocBin.add`` makes per doc: 3 ms a doc, 50 minutes for 1M.
    They do not change while an export runs: look them up once, and put the lookup back afterwards."""
    import srsly.msgpack as packs

    registry = packs.msgpack_encoders
    found = registry.get_all()
    registry.get_all = lambda: found
    try:
        yield
    finally:
        del registry.get_all


def _shards(records: Iterator[TextSpans], nlp: Any, DocBin: Any, filter_spans: Any, shard_size: int,
            on_flattened: Callable[[int], None] | None) -> Iterator[tuple[str, bytes]]:
    n = 0
    db = DocBin(store_user_data=True)
    for rec in records:
        doc = nlp.make_doc(rec.text)
        spans = [sp for s, e, label in rec.spans
                 if (sp := doc.char_span(s, e, label=label, alignment_mode="expand")) is not None]
        doc.spans[SPANS_KEY] = spans
        ents = filter_spans(spans)
        if on_flattened is not None and len(ents) < len(spans):
            on_flattened(len(spans) - len(ents))
        doc.ents = ents
        doc.user_data["id"] = rec.id
        db.add(doc)
        if len(db) >= shard_size:
            yield f"part-{n:05d}.spacy", db.to_bytes()
            n += 1
            db = DocBin(store_user_data=True)
    if len(db) or n == 0:
        yield f"part-{n:05d}.spacy", db.to_bytes()
