"""CoNLL-2003: ``word POS chunk NER`` columns (``_`` for the two we do not know), IOB2 tags, one blank line
after each sentence, and the line ``-DOCSTART- -X- O O`` before each text, the document separator that
``spacy convert`` (and the original data) expects. Tokens are runs of word characters (with their combining marks) and single
other non-space characters (an emoji with its modifiers is one); an entity boundary inside a token widens the entity to the whole token. CoNLL cannot
hold overlapping entities: they are flattened (``base.flatten``) and the caller warns."""

from __future__ import annotations

import re
from bisect import bisect_right

from labelloop.core.exports.base import TextSpans, flatten

DOCSTART = "-DOCSTART- -X- O O"
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f"
# a word with its combining marks; or one other character with its marks, skin tones and ZWJ sequences
_TOKEN = re.compile(f"(?:\\w[{_MARKS}]*)+|[^\\w\\s][{_MARKS}\U0001F3FB-\U0001F3FF]*(?:\u200d[^\\s][{_MARKS}]*)*")
_SENTENCE_END = {".", "!", "?", "。", "！", "？"}


def tokenize(text: str) -> list[tuple[int, int]]:
    """Token ``(start, end)`` code-point offsets."""
    return [m.span() for m in _TOKEN.finditer(text)]


def conll_document(rec: TextSpans) -> tuple[str, int]:
    """One text as a CoNLL-2003 document (with its ``-DOCSTART-`` line); and how many overlapping entities
    were dropped."""
    spans, dropped = flatten(rec.spans, rec.confidences)
    tokens = tokenize(rec.text)
    tags = ["O"] * len(tokens)
    ends = [b for _, b in tokens]
    for s, e, label in spans:
        first = last = bisect_right(ends, s)  # the first token ending after s
        while last < len(tokens) and tokens[last][0] < e:
            last += 1
        inside = range(first, last)
        if any(tags[i] != "O" for i in inside):
            dropped += 1  # two entities widened into the same token
            continue
        for n, i in enumerate(inside):
            tags[i] = ("B-" if n == 0 else "I-") + label.replace(" ", "_")
    out = [DOCSTART, ""]
    sentence: list[str] = []
    for (a, b), tag in zip(tokens, tags, strict=True):
        word = rec.text[a:b]
        sentence.append(f"{word} _ _ {tag}")
        if word in _SENTENCE_END and tag == "O":
            out += [*sentence, ""]
            sentence = []
    if sentence:
        out += [*sentence, ""]
    return "\n".join(out) + "\n", dropped
