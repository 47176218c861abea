"""Manifest -> job (CLI) -> `labelloop simulate` against a real server -> output manifest, key by key (spec §2)."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from labelloop.cli.main import app
from tests.conftest import write_labels, write_manifest
from tests.servers import labelloop_serve
from tests.waiting import wait_until


def test_cli_job_simulated_workers_output_manifest(tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'e2e.db'}"
    monkeypatch.setenv("LABELLOOP_DATABASE_URL", db)
    monkeypatch.setenv("LABELLOOP_PASSWORD", "admin-password")
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    run("db", "upgrade")
    run("users", "create", "boss", "--role", "admin")
    run("storage", "allow", str(tmp_path))  # the manifest, labels and output live here, beside no data folder
    run("storage", "allow", "s3://bucket/img")  # the objects the manifest names
    run("teams", "create", "crew")
    images = [f"s3://bucket/img/{i}.png" for i in range(12)]
    manifest = write_manifest(tmp_path / "in.manifest", [{"source-ref": u, "id": i} for i, u in enumerate(images)])
    labels = write_labels(tmp_path / "labels.json", ["cat", "dog", "bird"])
    truth = tmp_path / "truth.csv"
    truth.write_text("question,truth\n" + "".join(f"{i},{['cat', 'dog', 'bird'][i % 3]}\n" for i in range(12)))
    out = run("jobs", "create", "--name", "pets", "--manifest", str(manifest), "--labels", str(labels),
              "--task-type", "image-classification", "--label-attribute-name", "pet", "--team", "crew",
              "--output", str(tmp_path / "out"), "--workers-per-object", "3")
    assert "12 data objects" in out

    bad = write_manifest(tmp_path / "bad.manifest", [{"source-ref": "s3://b/1.png"}, "not json"])
    result = runner.invoke(app, ["jobs", "create", "--name", "broken", "--manifest", str(bad), "--labels", str(labels),
                                 "--task-type", "image-classification", "--label-attribute-name", "pet",
                                 "--team", "crew"])
    assert result.exit_code == 2
    assert "line 2" in result.output

    with labelloop_serve(db, tmp_path) as server:
        out = run("simulate", "pets", "--url", server.url, "--workers", "4", "--truth", str(truth))
        assert "36 answers submitted" in out

        def completed():
            described = json.loads(run("jobs", "describe", "pets"))
            return described if described["status"] == "Completed" else None

        described = wait_until(completed, message="job 'pets' never completed")
    assert described["status"] == "Completed"
    assert described["label_counters"]["HumanLabeled"] == 12
    lines = [json.loads(x) for x in (tmp_path / "out/pets/manifests/output/output.manifest").read_text().splitlines()]
    assert len(lines) == 12
    for i, line in enumerate(lines):
        assert set(line) == {"source-ref", "id", "pet", "pet-metadata"}
        assert line["source-ref"] == images[i] and line["id"] == i
        assert line["pet"] == i % 3 and isinstance(line["pet"], int)
        meta = line["pet-metadata"]
        assert set(meta) == {"class-name", "confidence", "type", "job-name", "human-annotated", "creation-date"}
        assert meta["class-name"] == ["cat", "dog", "bird"][i % 3]
        assert meta["type"] == "groundtruth/image-classification"
        assert meta["job-name"] == "labeling-job/pets"
        assert meta["human-annotated"] == "yes"
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$", meta["creation-date"])
        assert isinstance(meta["confidence"], float) and 0.5 <= meta["confidence"] <= 1
    events = run("events", "--job", "pets", "--kind", "object.consolidated", "--json", "--limit", "100")
    assert len(events.splitlines()) == 12
