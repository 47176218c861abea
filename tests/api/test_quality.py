"""Quality control through the API: adaptive consensus, gold objects, qualification, blocking, quality figures."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from labelloop.db.models import DataObject, Event, User
from labelloop.services.background import run_background_once
from tests.conftest import write_manifest

POS = {"crowd-classifier": {"label": "positive"}}
NEG = {"crowd-classifier": {"label": "negative"}}


def _job(api, spec):
    r = api("req").post("/api/v1/jobs", json=spec)
    assert r.status_code == 201, r.text
    return r.json()


def _answer_all(client, answer_for, job="reviews"):
    """Take and answer tasks until none is left; the dataset object ids answered, in order."""
    seen = []
    r = client.post(f"/api/v1/worker/jobs/{job}/next-task")
    task = r.json() if r.status_code == 200 else None
    while task:
        seen.append(task["dataset_object_id"])
        r = client.post(f"/api/v1/worker/tasks/{task['task_id']}/submit",
                        json={"answer": answer_for(task), "next": True})
        assert r.status_code == 200, r.text
        task = r.json()["next_task"]
    return seen


def _objects(ctx):
    with ctx.engine.connect() as conn:
        return {r.position: r for r in conn.execute(select(DataObject).order_by(DataObject.position))}


def _events(ctx, kind):
    with ctx.engine.connect() as conn:
        return conn.execute(select(Event).where(Event.kind == kind).order_by(Event.id)).all()


def test_adaptive_consensus_stops_early_on_an_easy_object_and_asks_more_on_a_split(api, ctx, text_job_spec):
    job = _job(api, text_job_spec(n=2, workers_per_object=4, min_workers_per_object=2, confidence_target=0.9,
                                  consolidation_algorithm="majority-vote"))
    assert job["quality"]["min_workers_per_object"] == 2 and job["quality"]["max_workers_per_object"] == 4
    assert _answer_all(api("w1"), lambda t: POS) == [0, 1]
    assert _answer_all(api("w2"), lambda t: POS if t["dataset_object_id"] == 0 else NEG) == [0, 1]
    assert api("w3").post("/api/v1/worker/jobs/reviews/next-task").status_code == 204  # both wait for consolidation
    run_background_once(ctx)
    objects = _objects(ctx)
    assert objects[0].status == "labeled" and objects[0].answer_count == 2  # 2 of 2 agree: stops at the minimum
    assert objects[1].status == "pending" and objects[1].wanted == 3  # a split: one more worker
    assert [e.dataset_object_id for e in _events(ctx, "object.reopened")] == [1]
    assert _answer_all(api("w3"), lambda t: NEG) == [1]  # only the split object is handed out again
    assert api("w4").post("/api/v1/worker/jobs/reviews/next-task").status_code == 204  # not before consolidation
    run_background_once(ctx)
    assert _objects(ctx)[1].wanted == 4  # 2 of 3 is still below the target
    assert _answer_all(api("w4"), lambda t: NEG) == [1]
    run_background_once(ctx)
    objects = _objects(ctx)
    assert objects[1].status == "labeled" and objects[1].answer_count == 4
    assert json.loads(objects[1].label_metadata)["class-name"] == "negative"
    assert api("req").get("/api/v1/jobs/reviews").json()["status"] == "Completed"


def test_adaptive_consensus_never_goes_past_the_maximum(api, ctx, text_job_spec):
    _job(api, text_job_spec(n=1, workers_per_object=3, min_workers_per_object=2, confidence_target=0.99,
                            consolidation_algorithm="majority-vote"))
    for worker, answer in [("w1", POS), ("w2", NEG)]:
        _answer_all(api(worker), lambda t, a=answer: a)
    run_background_once(ctx)
    _answer_all(api("w3"), lambda t: POS)  # 2 of 3 is still below 0.99, but 3 is the maximum
    run_background_once(ctx)
    assert _objects(ctx)[0].status == "labeled" and _objects(ctx)[0].answer_count == 3
    assert api("w4").post("/api/v1/worker/jobs/reviews/next-task").status_code == 204


def test_a_stopped_job_labels_what_it_has_instead_of_asking_for_more(api, ctx, text_job_spec):
    _job(api, text_job_spec(n=1, workers_per_object=4, min_workers_per_object=2, confidence_target=0.9,
                            consolidation_algorithm="majority-vote"))
    for worker, answer in [("w1", POS), ("w2", NEG)]:
        _answer_all(api(worker), lambda t, a=answer: a)
    assert api("req").post("/api/v1/jobs/reviews/stop").status_code == 200
    run_background_once(ctx)
    assert _objects(ctx)[0].status == "labeled" and _objects(ctx)[0].answer_count == 2
    assert api("req").get("/api/v1/jobs/reviews").json()["status"] == "Stopped"
    assert not _events(ctx, "object.reopened")


@pytest.mark.parametrize(("overrides", "field"), [
    ({"min_workers_per_object": 4}, "min_workers_per_object"),
    ({"min_workers_per_object": 1}, "confidence_target"),
    ({"confidence_target": 1.5}, "confidence_target"),
])
def test_bad_quality_settings_are_refused_naming_the_field(api, text_job_spec, overrides, field):
    r = api("req").post("/api/v1/jobs", json=text_job_spec(**overrides))
    assert r.status_code == 400, r.text
    assert field in r.text


def _gold_spec(tmp_path, text_job_spec, n=4, gold=("positive", "negative", "positive"), **kw):
    path = write_manifest(tmp_path / "gold.manifest", [{"source": f"known review {i}", "labelloop-gold": g}
                                                       for i, g in enumerate(gold)])
    return text_job_spec(n=n, gold_manifest_uri=str(path), **kw)


def test_gold_objects_look_like_tasks_are_scored_and_stay_out_of_the_output(api, ctx, tmp_path, text_job_spec):
    job = _job(api, _gold_spec(tmp_path, text_job_spec, workers_per_object=1, gold_rate=0.5))
    assert job["object_count"] == 4 and job["quality"]["gold_objects"] == 3
    tasks = []

    def answer(task):
        tasks.append(task)
        return POS
    _answer_all(api("w1"), answer)
    gold = [t for t in tasks if t["data"]["source"].startswith("known")]
    assert [t["dataset_object_id"] for t in gold] == [4, 5, 6]  # after the input's objects
    assert len(tasks) == 7 and tasks[0] in gold  # at half of the turns, from the first one
    assert all(set(t["data"]) == {"source"} and "gold" not in json.dumps(t) for t in tasks)
    run_background_once(ctx, force_output=True)
    described = api("req").get("/api/v1/jobs/reviews").json()
    assert described["status"] == "Completed"
    assert described["label_counters"]["TotalLabeled"] == 4  # gold objects of a separate file are not counted
    out = (tmp_path / "out" / "reviews" / "manifests" / "output" / "output.manifest").read_text().splitlines()
    assert [json.loads(x)["source"] for x in out] == [f"review number {i}" for i in range(4)]
    q = api("req").get("/api/v1/jobs/reviews/quality").json()
    (w1,) = q["workers"]
    assert (w1["worker"], w1["gold_answers"], w1["gold_correct"], w1["gold_accuracy"]) == ("w1", 3, 2, 0.6667)
    assert w1["accuracy_low"] < 0.6667 < w1["accuracy_high"] and w1["answers"] == 7
    assert q["settings"]["gold_rate"] == 0.5
    objects = _objects(ctx)
    assert [(objects[i].is_gold, objects[i].answer_count, objects[i].active_count) for i in (4, 5, 6)] == [
        (True, 1, 0)] * 3  # a gold object has no slots: any number of workers may hold it at once


def test_a_gold_line_of_the_input_is_part_of_the_job(api, ctx, tmp_path, text_job_spec):
    manifest = write_manifest(tmp_path / "in.manifest", [{"source": "a"}, {"source": "b", "labelloop-gold": "negative"}])
    job = _job(api, text_job_spec(input_manifest_uri=str(manifest), workers_per_object=1))
    assert job["quality"]["gold_objects"] == 1
    _answer_all(api("w1"), lambda t: POS)
    run_background_once(ctx, force_output=True)
    assert api("req").get("/api/v1/jobs/reviews").json()["label_counters"]["TotalLabeled"] == 2
    out = [json.loads(x) for x in (tmp_path / "out" / "reviews" / "manifests" / "output" /
                                   "output.manifest").read_text().splitlines()]
    assert out[1]["source"] == "b" and "labelloop-gold" not in out[1]
    assert out[1]["sentiment-metadata"]["class-name"] == "negative"


@pytest.mark.parametrize(("lines", "where"), [
    ([{"source": "x", "labelloop-gold": "maybe"}], "line 1"),
    ([{"source": "x", "labelloop-gold": "positive"}, {"source": "y"}], "line 2"),
    ([{"source": "x", "labelloop-gold": 3}], "line 1"),
])
def test_a_bad_gold_manifest_is_refused_naming_the_line(api, tmp_path, text_job_spec, lines, where):
    path = write_manifest(tmp_path / "gold.manifest", lines)
    r = api("req").post("/api/v1/jobs", json=text_job_spec(gold_manifest_uri=str(path)))
    assert r.status_code == 400, r.text
    assert "gold_manifest_uri" in r.text and where in r.text


def test_a_worker_who_fails_the_qualification_test_is_blocked(api, ctx, tmp_path, text_job_spec):
    _job(api, _gold_spec(tmp_path, text_job_spec, workers_per_object=1, gold_rate=0.1, qualification_tasks=2,
                         qualification_min_accuracy=1.0, gold=("positive", "positive", "negative")))
    assert _answer_all(api("w4"), lambda t: NEG) == [4, 5]  # only gold until qualified: both wrong
    assert api("w4").post("/api/v1/worker/jobs/reviews/next-task").status_code == 204
    seen = _answer_all(api("w1"), lambda t: POS)
    assert seen[:2] == [4, 5] and sorted(seen[2:]) == [0, 1, 2, 3]  # then gold at 1 in 10: none more yet
    q = {w["worker"]: w for w in api("req").get("/api/v1/jobs/reviews/quality").json()["workers"]}
    assert q["w4"]["blocked"] and "qualification" in q["w4"]["blocked_reason"] and q["w4"]["qualified"] is False
    assert q["w1"]["qualified"] is True and not q["w1"]["blocked"]
    (blocked,) = _events(ctx, "worker.blocked")
    assert blocked.actor == "system" and blocked.worker_id == ctx_user_id(ctx, "w4")


def ctx_user_id(ctx, name):
    with ctx.engine.connect() as conn:
        return conn.execute(select(User.id).where(User.username == name)).scalar()


def test_a_spammer_is_blocked_automatically_and_their_answers_go_to_others(api, ctx, people, tmp_path,
                                                                            text_job_spec):
    _job(api, _gold_spec(tmp_path, text_job_spec, n=6, workers_per_object=2, gold_rate=0.5,
                         block_below_accuracy=0.6, gold=("positive",) * 4))
    answered = _answer_all(api("w4"), lambda t: NEG)  # a spammer: always the same answer
    # three wrong gold answers (and the ordinary answers between them): blocked, no next task
    assert len(answered) == 5 and api("w4").post("/api/v1/worker/jobs/reviews/next-task").status_code == 204
    (event,) = _events(ctx, "worker.blocked")
    detail = json.loads(event.detail)
    assert detail["discarded_answers"] == 2 and "accuracy below 60%" in detail["reason"]
    for w in ("w1", "w2", "w3"):
        _answer_all(api(w), lambda t: POS)
    run_background_once(ctx)
    objects = _objects(ctx)
    assert all(objects[i].status == "labeled" and objects[i].answer_count == 2 for i in range(6))
    assert all(json.loads(objects[i].label_metadata)["class-name"] == "positive" for i in range(6))


def test_block_and_unblock_by_hand(api, ctx, text_job_spec):
    _job(api, text_job_spec(n=3, workers_per_object=2))
    w1 = api("w1")
    first = w1.post("/api/v1/worker/jobs/reviews/next-task").json()
    r = w1.post(f"/api/v1/worker/tasks/{first['task_id']}/submit", json={"answer": NEG, "next": True})
    held = r.json()["next_task"]  # a lease w1 holds when blocked
    assert api("w2").post("/api/v1/jobs/reviews/workers/w1/block").status_code == 403  # not the job's manager
    r = api("req").post("/api/v1/jobs/reviews/workers/w1/block", json={"reason": "copies answers"})
    assert r.status_code == 200, r.text
    assert r.json() == {"job": "reviews", "worker": "w1", "blocked": True, "reason": "copies answers",
                        "released_tasks": 1, "discarded_answers": 1, "reopened_objects": 1}
    assert w1.post(f"/api/v1/worker/tasks/{held['task_id']}/submit", json={"answer": NEG}).status_code == 409
    assert w1.post("/api/v1/worker/jobs/reviews/next-task").status_code == 204
    assert w1.get("/api/v1/worker/jobs").json()["jobs"][0]["available_tasks"] == 0
    assert {e.kind for e in _events(ctx, "task.released")} == {"task.released"}
    assert _objects(ctx)[0].answer_count == 0  # w1's answer no longer counts
    assert api("req").post("/api/v1/jobs/reviews/workers/nobody/block").status_code == 404
    r = api("req").post("/api/v1/jobs/reviews/workers/w1/unblock")
    assert r.status_code == 200 and r.json()["blocked"] is False
    assert w1.post("/api/v1/worker/jobs/reviews/next-task").json()["dataset_object_id"] == 2  # not 0 or 1 again
    kinds = [e.kind for e in _events(ctx, "worker.blocked") + _events(ctx, "worker.unblocked")]
    assert kinds == ["worker.blocked", "worker.unblocked"]


def test_quality_figures_and_who_may_read_them(api, ctx, people, text_job_spec):
    _job(api, text_job_spec(n=4, workers_per_object=3, consolidation_algorithm="majority-vote"))
    _answer_all(api("w1"), lambda t: POS)
    _answer_all(api("w2"), lambda t: POS)
    _answer_all(api("w3"), lambda t: NEG if t["dataset_object_id"] == 0 else POS)
    run_background_once(ctx)
    r = api("req").get("/api/v1/jobs/reviews/quality")
    assert r.status_code == 200, r.text
    q = r.json()
    assert (q["objects_labeled"], q["answers"], q["answers_per_object"]) == (4, 12, 3.0)
    by = {w["worker"]: w for w in q["workers"]}
    assert by["w1"]["agreement"] == 1.0 and by["w3"]["agreement"] == 0.75 and by["w3"]["accuracy"] == 0.75
    assert by["w1"]["median_time_s"] is not None and by["w1"]["gold_answers"] == 0
    labels = {x["label"]: x for x in q["labels"]}
    assert labels["positive"]["objects"] == 4 and labels["positive"]["agreement"] == pytest.approx(11 / 12, abs=1e-4)
    assert labels["negative"]["objects"] == 0 and labels["negative"]["agreement"] is None
    assert -1 <= q["krippendorff_alpha"] < 1
    assert api("admin").get("/api/v1/jobs/reviews/quality").status_code == 200
    assert api("w1").get("/api/v1/jobs/reviews/quality").status_code == 403  # on the team, not its manager
    assert api("outsider").get("/api/v1/jobs/reviews/quality").status_code == 404
