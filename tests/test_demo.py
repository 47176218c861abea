"""`labelloop demo`: sample data from real packaged digits, users, a team and two jobs; a second run reuses them."""

from __future__ import annotations

import json

from PIL import Image
from typer.testing import CliRunner

from labelloop.cli.main import app


def test_demo_sets_up_once_and_reuses(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    data = tmp_path / "demo-data"
    first = runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(data)])
    assert first.exit_code == 0, first.output
    assert "created admin, requester, worker1, worker2, worker3, digits, reviews" in first.output
    assert "worker1 / worker-password" in first.output

    images = sorted((data / "sample" / "images").glob("*.png"))
    assert len(images) == 300
    with Image.open(images[0]) as img:
        assert img.size[0] >= 8 and img.mode in ("L", "RGB")
    lines = (data / "sample" / "manifests" / "digits.manifest").read_text().splitlines()
    assert len(lines) == 300 and json.loads(lines[0])["source-ref"].endswith(".png")
    truth = (data / "sample" / "manifests" / "digits-truth.csv").read_text().splitlines()
    assert truth[0] == "question,truth" and len(truth) == 301
    # "press the digit's number key": each digit's key is that digit (the defaults 1-9 would make 1 pick "0")
    digit_labels = json.loads((data / "sample" / "manifests" / "digits-labels.json").read_text())["labels"]
    assert [(x["label"], x["key"]) for x in digit_labels] == [(str(d), str(d)) for d in range(10)]

    db = ["--database-url", f"sqlite:///{data / 'labelloop.db'}"]
    listed = runner.invoke(app, ["jobs", "list", *db])
    assert listed.exit_code == 0 and "digits" in listed.output and "reviews" in listed.output
    digits = json.loads(runner.invoke(app, ["jobs", "describe", "digits", *db]).output)
    assert digits["status"] == "InProgress" and digits["label_counters"]["Unlabeled"] == 300
    assert digits["labels"] == [str(d) for d in range(10)]

    again = runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(data)])
    assert again.exit_code == 0, again.output
    assert "reusing earlier setup" in again.output
    assert json.loads(runner.invoke(app, ["jobs", "describe", "digits", *db]).output)["label_counters"]["Unlabeled"] == 300
