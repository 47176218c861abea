"""Export writers (pure): JSONL with code-point offsets, CoNLL-2003 with -DOCSTART-, the overlap rule; and the
same records read back by spaCy itself (a blank pipeline: DocBin, ``spacy convert``, ``spacy debug data``)."""

from __future__ import annotations

import json

import pytest

from labelloop.core.errors import ValidationError
from labelloop.core.exports import TextSpans, conll_document, flatten, get_format, jsonl_line, tokenize

TEXT = "Ada Lovelace worked with Charles Babbage in London."
REC = TextSpans(0, TEXT, ((0, 12, "person"), (25, 40, "person"), (44, 50, "place")), (0.9, 0.8, 0.7))
UNICODE = TextSpans(1, "Zoe\u0301 \U0001F600 met Jose\u0301 at Bank of America.",
                    ((0, 4, "person"), (11, 16, "person"), (20, 35, "org"), (28, 35, "place")), (0.9, 0.9, 0.9, 0.5))


def test_jsonl_keeps_code_point_offsets_and_overlaps():
    got = json.loads(jsonl_line(UNICODE))
    assert [UNICODE.text[e["start"]:e["end"]] for e in got["entities"]] == \
        ["Zoe\u0301", "Jose\u0301", "Bank of America", "America"]
    assert got["id"] == 1 and got["entities"][3] == {"start": 28, "end": 35, "label": "place", "confidence": 0.5}


def test_conll_has_docstart_iob2_tags_and_sentence_breaks():
    doc, dropped = conll_document(REC)
    lines = doc.splitlines()
    assert lines[:2] == ["-DOCSTART- -X- O O", ""]
    assert lines[2:6] == ["Ada _ _ B-person", "Lovelace _ _ I-person", "worked _ _ O", "with _ _ O"]
    assert "London _ _ B-place" in lines and lines[-2:] == [". _ _ O", ""]
    assert dropped == 0


def test_conll_flattens_overlaps_and_counts_them():
    doc, dropped = conll_document(UNICODE)
    assert dropped == 1  # "America" inside "Bank of America"
    assert "America _ _ I-org" in doc.splitlines()
    assert "Jose\u0301 _ _ B-person" in doc.splitlines()  # \w covers the combining accent


def test_flatten_prefers_confident_then_longer_spans():
    assert flatten([(0, 10, "a"), (5, 8, "b"), (12, 14, "c")], [0.5, 0.9, 0.1]) == ([(5, 8, "b"), (12, 14, "c")], 1)
    assert flatten([(0, 10, "a"), (5, 8, "b")]) == ([(0, 10, "a")], 1)


def test_tokens_and_formats():
    assert tokenize("New-York, 2024!") == [(0, 3), (3, 4), (4, 8), (8, 9), (10, 14), (14, 15)]
    assert tokenize("Zoe\u0301 \U0001F469\u200d\U0001F4BB!") == [(0, 4), (5, 8), (8, 9)]
    with pytest.raises(ValidationError) as err:
        get_format("coco", ("spacy", "conll", "jsonl"), "named-entity-recognition")
    assert err.value.field == "format"


# ---- spaCy reads what we write -------------------------------------------------------------------------------

spacy = pytest.importorskip("spacy")


def test_docbin_shards_load_in_spacy_with_overlaps_in_doc_spans(tmp_path):
    from spacy.tokens import DocBin

    from labelloop.services.export_spacy import docbin_shards

    flattened = []
    shards = list(docbin_shards(iter([REC, UNICODE, REC]), shard_size=2, on_flattened=flattened.append))
    assert [name for name, _ in shards] == ["part-00000.spacy", "part-00001.spacy"]
    nlp = spacy.blank("xx")
    docs = [d for _, data in shards for d in DocBin().from_bytes(data).get_docs(nlp.vocab)]
    assert [e.text for e in docs[0].ents] == ["Ada Lovelace", "Charles Babbage", "London"]
    assert [(s.text, s.label_) for s in docs[1].spans["sc"]] == [
        ("Zoe\u0301", "person"), ("Jose\u0301", "person"), ("Bank of America", "org"), ("America", "place")]
    assert [e.text for e in docs[1].ents] == ["Zoe\u0301", "Jose\u0301", "Bank of America"]
    assert flattened == [1] and docs[1].user_data["id"] == 1


def test_spacy_convert_reads_our_conll_and_debug_data_accepts_our_docbin(tmp_path, capsys):
    """spaCy's own commands, called in this process (what ``python -m spacy convert`` / ``debug data`` run)."""
    from spacy.cli.convert import convert
    from spacy.cli.debug_data import debug_data
    from spacy.cli.init_config import init_config
    from spacy.tokens import DocBin

    from labelloop.services.export_spacy import docbin_shards

    records = [TextSpans(i, f"{name} met {other} in {place}.", ((0, len(name), "person"),
                                                               (len(name) + 5, len(name) + 5 + len(other), "person")))
               for i, (name, other, place) in enumerate([("Ada", "Charles", "London"), ("Grace", "Alan", "Paris")] * 60)]
    conll = tmp_path / "train.conll"
    conll.write_text("".join(conll_document(r)[0] for r in records), encoding="utf-8")
    convert(conll, tmp_path, file_type="spacy", converter="ner", n_sents=10)
    docs = list(DocBin().from_disk(tmp_path / "train.spacy").get_docs(spacy.blank("xx").vocab))
    assert len(docs) == 120  # one per -DOCSTART- (which turns spaCy's own grouping by -n off)
    assert [e.text for e in docs[1].ents] == ["Grace", "Alan"]

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, data in docbin_shards(iter(records), shard_size=50):
        (corpus / name).write_bytes(data)
    init_config(lang="xx", pipeline=["ner", "spancat"]).to_disk(tmp_path / "ner.cfg")
    capsys.readouterr()
    debug_data(tmp_path / "ner.cfg", config_overrides={"paths.train": str(corpus), "paths.dev": str(corpus)},
               silent=False)  # exits 1 when it finds an error
    out = capsys.readouterr().out
    assert "120 training docs" in out and "spans" in out.lower() and "✘" not in out
