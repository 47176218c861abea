"""Export formats of consolidated labels: streaming writers over plain records, one module per format.

A task type lists the formats it supports (``TaskType.export_formats``) and turns one labeled data object into
the record those writers read (``export_record``); ``services/export.py`` streams the job's objects through
them in position order, so memory stays constant however large the job. ``spacy`` needs spaCy itself: the
pure half (which spans go to ``doc.ents``, which to ``doc.spans``) is here, the ``DocBin`` half in
``services/export_spacy.py``.
"""

from labelloop.core.exports.base import FORMATS, ExportFormat, TextSpans, flatten, get_format
from labelloop.core.exports.conll import conll_document, tokenize
from labelloop.core.exports.jsonl import jsonl_line

__all__ = ["FORMATS", "ExportFormat", "TextSpans", "conll_document", "flatten", "get_format", "jsonl_line",
           "tokenize"]
