"""The demo as a worker meets it: on the demo's own digits job, pressing a digit's number key picks that digit."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from labelloop.cli.demo import WORKER_PASSWORD, make_sample_data, setup_demo
from labelloop.db.models import Task
from tests.browser.test_portal import _frame, _next_task, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def test_pressing_7_on_the_demos_digits_job_answers_7(ctx, tmp_path, live_server, page):
    setup_demo(ctx, make_sample_data(tmp_path / "sample", n_images=3))
    _sign_in(page, live_server, "worker1", WORKER_PASSWORD)
    page.goto(live_server + "/portal/jobs/digits")
    task_id = _next_task(page, None)
    keys = json.loads(_frame(page).get_attribute("crowd-image-classifier", "keys"))
    assert keys == [str(d) for d in range(10)]
    page.keyboard.press("7")
    page.keyboard.press("Enter")
    _next_task(page, task_id)
    with ctx.engine.connect() as conn:
        answer = conn.execute(select(Task.answer).where(Task.id == int(task_id))).scalar_one()
    assert json.loads(answer) == {"crowd-image-classifier": {"label": "7"}}
