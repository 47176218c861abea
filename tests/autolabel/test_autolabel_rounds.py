"""Automated labeling in process (services and the background runner, a worker answering through the task
services): refusals, a restart in the middle of a round, a later job started from a kept model, and the
bring-your-own-model contract with a real HTTP predictor on loopback."""

from __future__ import annotations

import http.server
import json
import threading

import numpy as np
import pytest
from sqlalchemy import func, select

from labelloop.core.errors import NotFound, ValidationError
from labelloop.db.models import AutoLabelRound, DataObject, Event
from labelloop.services.autolabel import MIN_JOB_OBJECTS, describe_autolabel, enable_autolabel, job_rounds
from labelloop.services.background import autolabel as step_module
from labelloop.services.background import run_background_once
from labelloop.services.jobs import JobSpec, create_job, describe_job
from labelloop.services.tasks import claim_next_task
from tests.autolabel.helpers import LABELS, digits_job, job_spec

pytest.importorskip("sklearn")
pytest.importorskip("PIL")

N = 500

# in process, one engine: these are not races (the served test runs both engines)
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def digits(tmp_path):
    return digits_job(tmp_path, N)


def _job(ctx, people, digits, tmp_path, name="digits", n=None):
    manifest, labels, truth = digits if n is None else digits_job(tmp_path / name, n)
    create_job(ctx, people["req"], JobSpec(**job_spec(manifest, labels, tmp_path, name=name)))
    return truth


def _machine_accuracy(ctx, job_id_name, truth):
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(DataObject.source_ref, DataObject.label, DataObject.label_metadata)
                            .where(DataObject.human_annotated.is_(False), DataObject.status == "labeled")).all()
    right = sum(LABELS[int(r.label)] == truth[r.source_ref.rsplit("/", 1)[1]] for r in rows)
    return len(rows), right / max(1, len(rows)), rows


def test_a_job_smaller_than_the_minimum_is_refused_with_the_number(ctx, people, text_job_spec):
    create_job(ctx, people["req"], JobSpec(**text_job_spec(name="small", n=10)))
    with pytest.raises(ValidationError) as e:
        enable_autolabel(ctx, people["req"], "small", model="builtin:hashing")
    assert str(MIN_JOB_OBJECTS) in e.value.message and "has 10" in e.value.message


def test_without_the_ml_extra_the_job_says_it_needs_labelloop_ml(ctx, people, digits, tmp_path, monkeypatch):
    _job(ctx, people, digits, tmp_path)
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real(name, *a))
    with pytest.raises(ValidationError) as e:
        enable_autolabel(ctx, people["req"], "digits", model="builtin:pixels")
    assert "labelloop[ml]" in e.value.message and e.value.field == "model"
    assert describe_autolabel(ctx, people["req"], "digits") is None


def test_bad_settings_name_their_field(ctx, people, digits, tmp_path):
    _job(ctx, people, digits, tmp_path)
    for kwargs, field in [({"target": 1.0}, "target_accuracy"), ({"max_human": 0}, "max_human_labeled"),
                          ({"max_percentage": 101}, "max_percentage_labeled"), ({"model": "builtin:minilm"}, "model"),
                          ({"model": "nonsense"}, "model")]:
        with pytest.raises(ValidationError) as e:
            enable_autolabel(ctx, people["req"], "digits", **kwargs)
        assert e.value.field == field, kwargs
    with pytest.raises(NotFound):
        enable_autolabel(ctx, people["req"], "digits", model="builtin:pixels", initial_model_arn="arn:aws:x")


def test_held_back_objects_are_never_leased(ctx, people, digits, tmp_path):
    _job(ctx, people, digits, tmp_path)
    view = enable_autolabel(ctx, people["req"], "digits", model="builtin:pixels")
    assert view.state == "labeling" and view.round == 0
    leased = []
    while (task := ctx.write(claim_next_task(ctx, people["w1"], "digits"))) is not None:
        leased.append(task.dataset_object_id)
        from labelloop.services.tasks import release_task

        ctx.write(release_task(ctx, people["w1"], task.task_id))
        if len(leased) > N:
            break
    with ctx.engine.connect() as conn:
        picked = conn.execute(select(func.count()).select_from(DataObject).where(DataObject.wanted.is_(None))).scalar()
    assert picked < N / 2  # the validation sample and the first batch only


def test_a_restart_in_the_middle_of_a_round_resumes_and_labels_nothing_twice(ctx, people, digits, tmp_path,
                                                                            monkeypatch):
    truth = _job(ctx, people, digits, tmp_path)
    enable_autolabel(ctx, people["req"], "digits", model="builtin:pixels", target=0.95)
    from labelloop.services.tasks import submit_annotation

    while (task := ctx.write(claim_next_task(ctx, people["w1"], "digits"))) is not None:
        label = truth[task.data["source-ref"].rsplit("/", 1)[1]]
        ctx.write(submit_annotation(ctx, people["w1"], task.task_id, {"crowd-image-classifier": {"label": label}}))
    real = step_module.record

    def crash(conn, kind, **kw):  # the process dies inside the round's transaction, after its labels are written
        if kind == "autolabel.round":
            raise KeyboardInterrupt("killed")
        return real(conn, kind, **kw)

    monkeypatch.setattr(step_module, "record", crash)
    with pytest.raises(KeyboardInterrupt):
        for _ in range(3):
            run_background_once(ctx)
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AutoLabelRound)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(DataObject)
                            .where(DataObject.human_annotated.is_(False))).scalar() == 0
        cached = conn.execute(select(func.count()).select_from(step_module.AutoLabelObject)
                              .where(step_module.AutoLabelObject.vector.is_not(None))).scalar()
    assert cached == N  # the features computed before the crash are kept
    monkeypatch.setattr(step_module, "record", real)
    run_background_once(ctx)  # the restarted runner (its claim expired) runs the round again
    rounds = job_rounds(ctx, people["req"], "digits")
    assert [r.round for r in rounds] == [1] and rounds[0].machine_labeled > 0
    _answer_all(ctx, people["w1"], truth)
    run_background_once(ctx)  # and the next round
    assert [r.round for r in job_rounds(ctx, people["req"], "digits")] == [1, 2]
    with ctx.engine.connect() as conn:
        events = conn.execute(select(Event.dataset_object_id).where(Event.kind == "object.auto_labeled")).scalars().all()
        leased = set(conn.execute(select(Event.dataset_object_id).where(Event.kind == "task.leased")).scalars())
    job = describe_job(ctx, people["req"], "digits")
    assert len(events) == len(set(events)) == job.label_counters.machine_labeled
    assert not set(events) & leased  # no worker ever had a task for an object the model labeled
    n, accuracy, _ = _machine_accuracy(ctx, "digits", truth)
    assert n == job.label_counters.machine_labeled and accuracy >= 0.95


def _answer_all(ctx, worker, truth, job="digits"):
    """The worker answers every task they get with the truth."""
    from labelloop.services.tasks import submit_annotation

    while (task := ctx.write(claim_next_task(ctx, worker, job))):
        label = truth[task.data["source-ref"].rsplit("/", 1)[1]]
        ctx.write(submit_annotation(ctx, worker, task.task_id, {"crowd-image-classifier": {"label": label}}))


def test_a_later_job_starts_from_the_kept_model(ctx, people, digits, tmp_path):
    truth = _job(ctx, people, digits, tmp_path)
    enable_autolabel(ctx, people["req"], "digits", model="builtin:pixels")
    _answer_all(ctx, people["w1"], truth)
    run_background_once(ctx)
    first = describe_autolabel(ctx, people["req"], "digits")
    assert first is not None and first.final_model_arn == first.rounds[-1].model_arn
    second_truth = _job(ctx, people, digits, tmp_path, name="digits-two")  # the same images: a later batch
    with pytest.raises(ValidationError):  # a model reads the features it was trained on
        enable_autolabel(ctx, people["req"], "digits-two", model="builtin:hashing",
                         initial_model_arn=first.final_model_arn)
    view = enable_autolabel(ctx, people["req"], "digits-two", model="builtin:pixels",
                            initial_model_arn=first.final_model_arn)
    assert view.initial_model_arn == first.final_model_arn
    _answer_all(ctx, people["w1"], second_truth, "digits-two")
    run_background_once(ctx)
    rounds = job_rounds(ctx, people["req"], "digits-two")
    assert rounds and rounds[0].machine_labeled > 0


class Predictor:
    """A bring-your-own model on loopback: it 'knows' the digits (the truth) and is sure of four in five."""

    def __init__(self, truth):
        self.calls: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                outer.calls.append(self.path)
                self._send(200, {"status": "ok"}) if self.path == "/health" else self._send(404, {})

            def do_POST(self):
                outer.calls.append(self.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/train":
                    return self._send(501, {"message": "not trainable"})
                out = []
                for inst in body["instances"]:
                    name = inst["source-ref"].rsplit("/", 1)[1]
                    k = LABELS.index(truth[name])
                    p = np.full(10, 0.01)
                    p[k] = 0.91
                    if int(name[1:5]) % 5 == 0:  # unsure: two classes alike
                        p = np.full(10, 0.0)
                        p[k], p[(k + 1) % 10] = 0.5, 0.5
                    out.append({"id": inst["id"], "probabilities": dict(zip(LABELS, p.tolist(), strict=True))})
                self._send(200, {"predictions": out})

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_bring_your_own_model_over_http(ctx, people, digits, tmp_path):
    from labelloop.services.storage_policy import allow

    truth = _job(ctx, people, digits, tmp_path)
    predictor = Predictor(truth)
    try:
        with pytest.raises(Exception) as refused:  # the host policy applies to the predictor's URL
            enable_autolabel(ctx, people["req"], "digits", model=predictor.url)
        assert "refused" in str(refused.value).lower() or "allow" in str(refused.value).lower()
        allow(ctx, people["admin"], predictor.url)
        allow(ctx, people["admin"], "127.0.0.1/32")
        view = enable_autolabel(ctx, people["req"], "digits", model=predictor.url)
        assert view.model == predictor.url and "/health" in predictor.calls
        _answer_all(ctx, people["w1"], truth)
        run_background_once(ctx)
    finally:
        predictor.close()
    assert "/train" in predictor.calls and "/predict" in predictor.calls
    rounds = job_rounds(ctx, people["req"], "digits")
    assert rounds[0].machine_labeled > 0 and rounds[0].model_arn is None  # nothing of ours to keep
    _, accuracy, rows = _machine_accuracy(ctx, "digits", truth)
    assert accuracy == 1.0 and all(json.loads(r.label_metadata)["confidence"] == 0.91 for r in rows)
    assert len(rows) == describe_job(ctx, people["req"], "digits").label_counters.machine_labeled
