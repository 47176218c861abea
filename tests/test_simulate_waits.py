"""`labelloop simulate` waits for objects leased to other workers (a browser) instead of stopping short, says so,
and stops at --wait-s; on a finished job it says there is nothing to label."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import datetime

from typer.testing import CliRunner

from labelloop import sim
from labelloop.cli.main import app as cli
from labelloop.services.background import run_background_once
from labelloop.services.jobs import JobSpec, create_job, describe_job
from tests.servers import uvicorn_thread
from tests.waiting import GUARD_S, wait_until

AT = datetime(2026, 1, 5, 10, 42, 13)


def test_waiting_message_names_holders_and_their_lease_ends():
    leases = [sim.HeldLease("worker1", AT), sim.HeldLease("worker1", datetime(2026, 1, 5, 10, 40)),
              sim.HeldLease("worker2", datetime(2026, 1, 5, 10, 41))]
    assert sim.waiting_message(leases, now=datetime(2026, 1, 5, 10, 30)) == (
        "3 objects are leased to other workers (worker2 until 10:41:00Z, worker1 until 10:42:13Z); "
        "waiting for them to be answered or to expire")
    assert sim.waiting_message(leases[:1], now=datetime(2026, 1, 5, 11)).startswith(
        "1 object is leased to other workers (worker1 expired at 10:42:13Z)")


class FakeJob:
    """The server's side, as the waiting loop sees it: a round of the simulated workers, and the leases others
    hold, which the test ends (answered, expired) after chosen rounds."""

    def __init__(self, held: list[list[sim.HeldLease]]):
        self.held = held  # what leases_held_by_others returns after each round
        self.rounds = 0
        self.now = 0.0
        self.sleeps: list[float] = []

    def run_round(self) -> None:
        self.rounds += 1

    def leases(self) -> list[sim.HeldLease]:
        return self.held[min(self.rounds, len(self.held)) - 1]

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def test_keeps_asking_while_others_hold_leases_and_says_so_once_per_change():
    a, b = sim.HeldLease("worker1", AT), sim.HeldLease("worker2", AT)
    job = FakeJob([[a, b], [a, b], [a], []])
    told: list[list[sim.HeldLease]] = []
    left = sim.label_until_done(job.run_round, job.leases, on_wait=told.append, sleep=job.sleep,
                                monotonic=lambda: job.now, poll_s=2)
    assert left == [] and job.rounds == 4  # a last round after the last lease came back: its object is taken
    assert told == [[a, b], [a]] and job.sleeps == [2, 2, 2]


def test_adaptive_consensus_keeps_rounds_going_while_objects_may_be_reopened():
    job = FakeJob([[]])
    reopen = iter([True, True, False])  # consolidation re-opens objects twice, then labels them all
    left = sim.label_until_done(job.run_round, job.leases, sleep=job.sleep, monotonic=lambda: job.now,
                                poll_s=1, more_may_come=lambda: next(reopen))
    assert left == [] and job.rounds == 3 and job.sleeps == [1, 1]


def test_nothing_held_by_others_ends_after_one_round():
    job = FakeJob([[]])
    assert sim.label_until_done(job.run_round, job.leases, sleep=job.sleep, monotonic=lambda: job.now) == []
    assert job.rounds == 1 and job.sleeps == []


def test_wait_s_bounds_the_wait_and_returns_what_is_still_held():
    a = sim.HeldLease("worker1", AT)
    job = FakeJob([[a]])
    left = sim.label_until_done(job.run_round, job.leases, wait_s=5, poll_s=2, sleep=job.sleep,
                                monotonic=lambda: job.now)
    assert left == [a] and job.sleeps == [2, 2, 1] and job.rounds == 4


def _texts_job(ctx, people, tmp_path, n=3):
    from tests.conftest import write_labels, write_manifest

    manifest = write_manifest(tmp_path / "t.manifest", [{"source": f"text {i}"} for i in range(n)])
    labels = write_labels(tmp_path / "labels.json", ["a", "b"])
    return create_job(ctx, people["req"], JobSpec(
        name="texts", task_type="text-classification", label_attribute_name="l", input_manifest_uri=str(manifest),
        label_config_uri=str(labels), output_uri=str(tmp_path / "out"), team="crew", workers_per_object=1))


def test_simulate_waits_for_a_lease_held_by_another_worker_then_finishes(app, ctx, people, tmp_path, api):
    _texts_job(ctx, people, tmp_path)
    held = api("w4").post("/api/v1/worker/jobs/texts/next-task").json()  # a labeler in the browser
    with uvicorn_thread(app) as base:
        env = {**os.environ, "LABELLOOP_DATABASE_URL": ctx.settings.database_url, "COLUMNS": "200",
               "LABELLOOP_STORAGE_ALLOW": str(tmp_path)}
        proc = subprocess.Popen([sys.executable, "-m", "labelloop.cli.main", "simulate", "texts", "--url", base,
                                 "--workers", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
        reader.start()
        try:
            wait_until(lambda: any("leased to other workers (w4 " in x for x in lines) or proc.poll() is not None,
                       message=lambda: "simulate never said it waits: " + "".join(lines))
            assert proc.poll() is None, "".join(lines)
            message = next(x for x in lines if "leased to other workers" in x)
            assert message.startswith("1 object is leased to other workers (w4 ")
            assert "waiting for them to be answered or to expire" in message
            # the browser gives the task back: the simulated workers take it and the job is done
            assert api("w4").post(f"/api/v1/worker/tasks/{held['task_id']}/release").status_code == 200
            stdout, _ = proc.communicate(timeout=GUARD_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        reader.join(GUARD_S)
    assert proc.returncode == 0, "".join(lines)
    assert "3 answers submitted by 2 simulated workers (0 rejected)" in " ".join(stdout.split())
    run_background_once(ctx)
    assert describe_job(ctx, people["req"], "texts").status == "Completed"


def test_simulate_stops_at_wait_s_and_says_what_is_still_leased(app, ctx, people, tmp_path, api):
    _texts_job(ctx, people, tmp_path, n=2)
    api("w4").post("/api/v1/worker/jobs/texts/next-task")
    with uvicorn_thread(app) as base:
        env = {**os.environ, "LABELLOOP_DATABASE_URL": ctx.settings.database_url, "COLUMNS": "200"}
        done = subprocess.run([sys.executable, "-m", "labelloop.cli.main", "simulate", "texts", "--url", base,
                               "--workers", "1", "--wait-s", "0"], env=env, capture_output=True, text=True,
                              timeout=GUARD_S)
    assert done.returncode == 1, done.stderr
    assert "1 answers submitted" in done.stdout
    assert "stopped waiting after 0 s: 1 object is leased to other workers (w4 " in " ".join(done.stderr.split())


def test_simulate_on_a_finished_job_says_it_is_completed(ctx, people, tmp_path, api):
    _texts_job(ctx, people, tmp_path, n=1)
    client = api("w1")
    task = client.post("/api/v1/worker/jobs/texts/next-task").json()
    client.post(f"/api/v1/worker/tasks/{task['task_id']}/submit", json={"answer": {"label": "a"}})
    run_background_once(ctx)
    result = CliRunner().invoke(cli, ["simulate", "texts", "--database-url", ctx.settings.database_url])
    assert result.exit_code == 0, result.output
    assert "job 'texts' is Completed: nothing to label" in result.output
