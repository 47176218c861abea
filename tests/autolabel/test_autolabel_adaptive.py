"""Automated labeling on a job with adaptive consensus: the objects it sends to people want the job's minimum
of answers first (more only while the posterior is low), not its maximum."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from labelloop.db.models import DataObject
from labelloop.services.autolabel import enable_autolabel
from labelloop.services.jobs import JobSpec, create_job
from tests.autolabel.helpers import digits_job, job_spec

pytest.importorskip("sklearn")
pytest.importorskip("PIL")

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_objects_sent_to_people_want_the_adaptive_minimum(ctx, people, tmp_path):
    manifest, labels, _ = digits_job(tmp_path, 500)
    create_job(ctx, people["req"], JobSpec(**job_spec(manifest, labels, tmp_path, workers_per_object=5,
                                                      min_workers_per_object=3, confidence_target=0.99)))
    enable_autolabel(ctx, people["req"], "digits", model="builtin:hog")
    with ctx.engine.connect() as conn:
        wanted = dict(conn.execute(select(DataObject.wanted, func.count()).group_by(DataObject.wanted)).all())
    assert set(wanted) == {0, 3} and wanted[3] > 0 and wanted[0] > wanted[3], wanted
