"""Named entity recognition end to end, on each engine: manifest (``source``, ``source-ref`` to a text file,
pre-annotations) -> CLI job -> ``labelloop simulate`` against a real server -> output rows as spec §2.4 ->
``labelloop export`` (CLI and API) read back by spaCy; then a chained adjustment job on the output."""

from __future__ import annotations

import csv
import io
import json
import tarfile

import httpx
import pytest
from typer.testing import CliRunner

from labelloop.cli.main import app
from tests.conftest import write_manifest
from tests.servers import labelloop_serve
from tests.waiting import wait_until

spacy = pytest.importorskip("spacy")

TEXTS = [
    ("Ada Lovelace worked with Charles Babbage in London.", [(0, 12, "person"), (25, 40, "person"), (44, 50, "place")]),
    ("Zoe\u0301 \U0001F600 met Jose\u0301 in Paris.", [(0, 4, "person"), (11, 16, "person"), (20, 25, "place")]),
    ("Nothing to see here.", []),
    ("Grace Hopper joined the Navy in New York.", [(0, 12, "person"), (24, 28, "org"), (32, 40, "place")]),
]
FILE_TEXT = ("Alan Turing was born in London.", [(0, 11, "person"), (24, 30, "place")])
LABELS = {"document-version": "2018-11-28",
          "labels": [{"label": "person", "shortDisplayName": "PER"}, {"label": "place", "shortDisplayName": "LOC"},
                     {"label": "org", "shortDisplayName": "ORG"}],
          "instructions": {"shortInstruction": "<p>Tag people, places and organisations.</p>",
                           "fullInstruction": "<p>Whole names only.</p>"}}


def _ents(spans):
    return [{"label": label, "startOffset": s, "endOffset": e} for s, e, label in spans]


def test_ner_job_simulated_output_exports_and_adjustment(tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("LABELLOOP_DATABASE_URL", database_url)
    monkeypatch.setenv("LABELLOOP_PASSWORD", "admin-password")
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == code, result.output
        return result.output

    run("db", "upgrade")
    run("users", "create", "boss", "--role", "admin")
    run("storage", "allow", tmp_path)
    run("teams", "create", "crew")
    (tmp_path / "turing.txt").write_text(FILE_TEXT[0], encoding="utf-8")
    lines = [{"source": t, "id": i} for i, (t, _) in enumerate(TEXTS)]
    lines[3]["initial-value"] = _ents([(0, 5, "person"), (24, 28, "org")])  # a model's guess to correct
    lines.append({"source-ref": str(tmp_path / "turing.txt"), "id": 4})
    manifest = write_manifest(tmp_path / "in.manifest", lines)
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps(LABELS))
    truth = tmp_path / "truth.csv"
    with open(truth, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["question", "truth"])
        for i, (_, spans) in enumerate([*TEXTS, FILE_TEXT]):
            w.writerow([i, json.dumps(_ents(spans))])

    bad = write_manifest(tmp_path / "bad.manifest", [{"source": "Ada", "initial-value": _ents([(0, 9, "person")])}])
    out = run("jobs", "create", "--name", "broken", "--manifest", bad, "--labels", labels, "--task-type",
              "named-entity-recognition", "--label-attribute-name", "ents", "--team", "crew", code=2)
    assert "line 1" in out and "ends after the text" in out

    run("jobs", "create", "--name", "ents", "--manifest", manifest, "--labels", labels,
        "--task-type", "named-entity-recognition", "--label-attribute-name", "ents", "--team", "crew",
        "--output", tmp_path / "out", "--workers-per-object", "3")
    with labelloop_serve(database_url, tmp_path) as server:
        assert "15 answers submitted" in run("simulate", "ents", "--url", server.url, "--truth", truth)
        wait_until(lambda: json.loads(run("jobs", "describe", "ents"))["status"] == "Completed",
                   message="job 'ents' never completed")
        out_manifest = tmp_path / "out/ents/manifests/output/output.manifest"
        rows = [json.loads(x) for x in out_manifest.read_text(encoding="utf-8").splitlines()]
        assert len(rows) == 5
        for row, (_text, spans) in zip(rows, [*TEXTS, FILE_TEXT], strict=True):
            assert row["ents"]["annotations"]["entities"] == _ents(spans)
            assert row["ents"]["annotations"]["labels"] == [{"label": x} for x in ("person", "place", "org")]
            meta = row["ents-metadata"]
            assert meta["type"] == "groundtruth/text-span" and meta["job-name"] == "labeling-job/ents"
            assert [set(e) for e in meta["entities"]] == [{"confidence"}] * len(spans)
            assert all(0.5 <= e["confidence"] <= 0.95 for e in meta["entities"])
        assert rows[1]["source"][11:16] == "Jose\u0301"  # code points, as Ground Truth's
        assert rows[4]["source-ref"].endswith("turing.txt")

        # exports: JSONL and CoNLL from the CLI, spaCy shards, and the API's stream
        run("export", "ents", "--format", "jsonl", "-o", tmp_path / "ents.jsonl")
        got = [json.loads(x) for x in (tmp_path / "ents.jsonl").read_text(encoding="utf-8").splitlines()]
        assert [g["text"] for g in got] == [t for t, _ in [*TEXTS, FILE_TEXT]]
        run("export", "ents", "--format", "conll", "-o", tmp_path / "ents.conll")
        assert (tmp_path / "ents.conll").read_text(encoding="utf-8").count("-DOCSTART- -X- O O") == 5
        run("export", "ents", "--format", "spacy", "-o", tmp_path / "spacy")
        from spacy.tokens import DocBin

        docs = list(DocBin().from_disk(tmp_path / "spacy/part-00000.spacy").get_docs(spacy.blank("xx").vocab))
        assert [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in docs] == \
            [spans for _, spans in [*TEXTS, FILE_TEXT]]
        assert "exports as spacy, conll, jsonl" in run("export", "ents", "--format", "coco", code=2)

        with httpx.Client(base_url=server.url, timeout=30) as client:
            token = client.post("/api/v1/auth/token", json={"username": "boss", "password": "admin-password"}).json()
            h = {"Authorization": f"Bearer {token['token']}"}
            r = client.get("/api/v1/jobs/ents/export", params={"format": "spacy"}, headers=h)
            assert r.status_code == 200 and r.headers["content-type"] == "application/x-tar"
            with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
                assert tar.getnames() == ["part-00000.spacy"]
            r = client.get("/api/v1/jobs/ents/export", params={"format": "conll"}, headers=h)
            assert r.text == (tmp_path / "ents.conll").read_text(encoding="utf-8")
            bad = client.get("/api/v1/jobs/ents/export", params={"format": "coco"}, headers=h)
            assert bad.status_code == 400 and "format" in bad.text

        # a chained adjustment job of the output: its workers start from the labels above
        chained = tmp_path / "adjust-labels.json"
        chained.write_text(json.dumps({**LABELS, "auditLabelAttributeName": "ents"}))
        run("jobs", "create", "--name", "ents-fix", "--manifest", out_manifest, "--labels", chained,
            "--task-type", "named-entity-recognition-adjustment", "--label-attribute-name", "ents-fixed",
            "--team", "crew", "--output", tmp_path / "out", "--workers-per-object", "1")
        assert "5 answers submitted" in run("simulate", "ents-fix", "--url", server.url, "--truth", truth)
        wait_until(lambda: json.loads(run("jobs", "describe", "ents-fix"))["status"] == "Completed",
                   message="job 'ents-fix' never completed")
    fixed = [json.loads(x) for x in (tmp_path / "out/ents-fix/manifests/output/output.manifest")
             .read_text(encoding="utf-8").splitlines()]
    assert all(set(r) >= {"ents", "ents-metadata", "ents-fixed", "ents-fixed-metadata"} for r in fixed)
    assert fixed[0]["ents-fixed-metadata"]["adjustment-status"] == "unadjusted"
    assert fixed[0]["ents-fixed-metadata"]["type"] == "groundtruth/text-span"
    assert [e["confidence"] for e in fixed[0]["ents-fixed-metadata"]["entities"]] == [0.0, 0.0, 0.0]
