"""Quality control end to end, over HTTP against a real ``labelloop serve`` (its background process consolidating):
a job with gold objects and a consensus range, honest workers and a spammer who is blocked by the job's rule,
easy objects stopping at the minimum, the output manifest without the gold, the figures in the API and CLI."""

from __future__ import annotations

import json

import httpx
from typer.testing import CliRunner

from labelloop.cli.main import app
from labelloop.services.users import add_members, check_password, create_user
from tests.conftest import write_labels, write_manifest
from tests.servers import labelloop_serve
from tests.waiting import wait_until

N = 12
TRUTH = {f"review {i}": ("positive", "negative")[i % 2] for i in range(N)}
GOLD = {f"known {i}": ("positive", "negative")[i % 2] for i in range(6)}


def _token(url: str, user: str, password: str) -> dict[str, str]:
    r = httpx.post(f"{url}/api/v1/auth/token", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _work(url: str, headers: dict[str, str], spammer: bool) -> int:
    """Take and answer tasks until none is left for now; how many were answered."""
    done = 0
    r = httpx.post(f"{url}/api/v1/worker/jobs/reviews/next-task", headers=headers)
    task = r.json() if r.status_code == 200 else None
    while task:
        truth = {**TRUTH, **GOLD}[task["data"]["source"]]
        label = ({"positive": "negative", "negative": "positive"}[truth]) if spammer else truth
        r = httpx.post(f"{url}/api/v1/worker/tasks/{task['task_id']}/submit", headers=headers,
                       json={"answer": {"crowd-classifier": {"label": label}}, "next": True})
        assert r.status_code == 200, r.text
        done += 1
        task = r.json()["next_task"]
    return done


def test_gold_blocking_and_adaptive_consensus_end_to_end(ctx, people, database_url, tmp_path, monkeypatch):
    admin = check_password(ctx, "admin", "admin-password")
    for name in ("w5", "w6"):
        create_user(ctx, name, "worker-password", "worker")
    add_members(ctx, admin, "crew", ["w5", "w6"])
    manifest = write_manifest(tmp_path / "in.manifest", [{"source": s} for s in TRUTH])
    gold = write_manifest(tmp_path / "gold.manifest", [{"source": s, "labelloop-gold": g} for s, g in GOLD.items()])
    labels = write_labels(tmp_path / "labels.json", ["positive", "negative"])
    monkeypatch.setenv("LABELLOOP_CONSOLIDATION_INTERVAL_S", "0")
    monkeypatch.setenv("LABELLOOP_OUTPUT_INTERVAL_S", "0")
    with labelloop_serve(database_url, tmp_path) as server:
        url = server.url
        req = _token(url, "req", "req-password")
        r = httpx.post(f"{url}/api/v1/jobs", headers=req, json={
            "name": "reviews", "task_type": "text-classification", "label_attribute_name": "sentiment",
            "input_manifest_uri": str(manifest), "label_config_uri": str(labels), "gold_manifest_uri": str(gold),
            "output_uri": str(tmp_path / "out"), "team": "crew", "workers_per_object": 3,
            "min_workers_per_object": 2, "confidence_target": 0.9, "consolidation_algorithm": "majority-vote",
            "gold_rate": 0.3, "block_below_accuracy": 0.6})
        assert r.status_code == 201, r.text
        workers = [("w4", True)] + [(w, False) for w in ("w1", "w2", "w3", "w5", "w6")]  # the spammer first
        tokens = {w: _token(url, w, "worker-password") for w, _ in workers}

        def completed():
            for w, spammer in workers:
                _work(url, tokens[w], spammer)
            job = httpx.get(f"{url}/api/v1/jobs/reviews", headers=req).json()
            return job if job["status"] == "Completed" else None

        job = wait_until(completed, interval_s=0.2, message="the job never completed")
        quality = httpx.get(f"{url}/api/v1/jobs/reviews/quality", headers=req).json()
        blocks = httpx.get(f"{url}/api/v1/events", headers=req, params={"kind": "worker.blocked"}).json()["events"]
    assert job["label_counters"]["TotalLabeled"] == N and job["label_counters"]["HumanLabeled"] == N
    by = {w["worker"]: w for w in quality["workers"]}
    assert by["w4"]["blocked"] and by["w4"]["gold_answers"] == 3 and by["w4"]["gold_correct"] == 0
    assert not any(by[w]["blocked"] for w in by if w != "w4")
    assert [b["worker_id"] for b in blocks] == [people["w4"].id] and blocks[0]["detail"]["discarded_answers"] > 0
    assert quality["answers_per_object"] == 2.0  # honest workers agree: every object stops at the minimum
    lines = [json.loads(x) for x in (tmp_path / "out/reviews/manifests/output/output.manifest").read_text().splitlines()]
    assert [x["source"] for x in lines] == list(TRUTH)  # no gold object in the output
    assert [x["sentiment-metadata"]["class-name"] for x in lines] == list(TRUTH.values())

    monkeypatch.setenv("LABELLOOP_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["jobs", "quality", "reviews"])
    assert result.exit_code == 0, result.output
    assert "w4" in result.output and "blocked" in result.output and "Krippendorff" in result.output
