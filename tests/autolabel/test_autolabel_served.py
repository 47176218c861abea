"""A whole automated-labeling job end to end: ``labelloop serve`` (its background process runs the rounds),
the v1 API to create the job and turn automated labeling on, ``labelloop simulate``'s workers answering over
HTTP, on SQLite and PostgreSQL; the output manifest, the events, the API's rounds and ``jobs describe``."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from labelloop import sim
from labelloop.cli.main import app
from tests.autolabel.helpers import LABELS, digits_job, job_spec
from tests.servers import labelloop_serve
from tests.waiting import wait_until

pytest.importorskip("sklearn")
pytest.importorskip("PIL")

N = 500  # the smallest job automated labeling takes


def test_a_digits_job_is_labeled_by_people_and_the_model_through_the_api(ctx, people, database_url, tmp_path,
                                                                        monkeypatch):
    manifest, labels, truth = digits_job(tmp_path, N)
    monkeypatch.setenv("LABELLOOP_CONSOLIDATION_INTERVAL_S", "0")
    monkeypatch.setenv("LABELLOOP_OUTPUT_INTERVAL_S", "0")
    oracle = sim.Oracle(truth)
    with labelloop_serve(database_url, tmp_path) as server:
        url = server.url
        req = {"Authorization": f"Bearer {sim.sign_in(url, 'req', 'req-password')}"}
        r = httpx.post(f"{url}/api/v1/jobs", headers=req, json=job_spec(manifest, labels, tmp_path), timeout=60)
        assert r.status_code == 201, r.text
        r = httpx.post(f"{url}/api/v1/jobs/digits/autolabel", headers=req,
                       json={"target_accuracy": 0.95, "model": "builtin:pixels"}, timeout=60)
        assert r.status_code == 201, r.text
        assert r.json()["state"] == "labeling" and r.json()["rounds"] == []
        tokens = [sim.sign_in(url, w, "worker-password") for w in ("w1", "w2")]

        def finished():
            sim.run_workers(url, "digits", [], oracle, tokens=tokens)
            job = httpx.get(f"{url}/api/v1/jobs/digits", headers=req, timeout=30).json()
            return job if job["status"] != "InProgress" else None

        job = wait_until(finished, timeout_s=300, interval_s=0.2, message="the job never finished")
        auto = httpx.get(f"{url}/api/v1/jobs/digits/autolabel", headers=req, timeout=30).json()
        events = httpx.get(f"{url}/api/v1/events", headers=req, timeout=30,
                           params={"job": "digits", "kind": "object.auto_labeled", "limit": 1000}).json()["events"]
        round_events = httpx.get(f"{url}/api/v1/events", headers=req, timeout=30,
                                 params={"job": "digits", "kind": "autolabel.round"}).json()["events"]
        output = wait_until(lambda: _manifest(tmp_path, job["label_counters"]["TotalLabeled"]),
                            message="the output manifest was never complete")
    counters = job["label_counters"]
    assert job["status"] == "Completed" and counters["TotalLabeled"] == N and counters["Unlabeled"] == 0
    assert counters["MachineLabeled"] > N / 4 and counters["HumanLabeled"] + counters["MachineLabeled"] == N
    assert auto["state"] == "done" and auto["final_model_arn"].startswith("arn:aws:sagemaker:")
    rounds = auto["rounds"]
    assert len(rounds) == len(round_events) and sum(r["machine_labeled"] for r in rounds) == counters["MachineLabeled"]
    assert all(r["certified_accuracy"] is None or r["certified_accuracy"] >= 0.95 for r in rounds)
    assert rounds[-1]["human_labeled_total"] == counters["HumanLabeled"]
    assert len(events) == counters["MachineLabeled"]
    machine = [x for x in output if x["digit-metadata"]["human-annotated"] == "no"]
    assert len(machine) == counters["MachineLabeled"]
    right = sum(LABELS[x["digit"]] == truth[x["source-ref"].rsplit("/", 1)[1]] for x in machine)
    assert right / len(machine) >= 0.95
    meta = machine[0]["digit-metadata"]
    assert meta["type"] == "groundtruth/image-classification" and meta["job-name"] == "labeling-job/digits"
    assert 0 < meta["confidence"] <= 1 and meta["class-name"] == LABELS[machine[0]["digit"]]
    described = CliRunner().invoke(app, ["jobs", "describe", "digits", "--database-url", database_url])
    assert described.exit_code == 0, described.output
    assert json.loads(described.output)["automated_labeling"]["rounds"] == rounds
    table = CliRunner().invoke(app, ["jobs", "rounds", "digits", "--database-url", database_url])
    assert table.exit_code == 0 and "certified accuracy" in table.output


def _manifest(tmp_path, labeled):
    path = tmp_path / "out" / "digits" / "manifests" / "output" / "output.manifest"
    if not path.exists():
        return None
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    return lines if sum("digit" in x for x in lines) == labeled else None
