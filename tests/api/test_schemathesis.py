"""schemathesis against the app's own OpenAPI description, as a requester and as a worker, with all of
schemathesis's checks (no 5xx, responses match their schemas and declared status codes, content types,
headers, rejection of invalid input, ...). Bounded: a few examples per operation, SQLite only (the
authorization matrix covers PostgreSQL), well under a minute.

``LABELLOOP_SCHEMATHESIS_EXAMPLES`` raises the number of examples for a longer local run."""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from labelloop.services import users
from labelloop.services.jobs import JobSpec, create_job

EXAMPLES = int(os.environ.get("LABELLOOP_SCHEMATHESIS_EXAMPLES", "25"))
COUNTS: dict[str, int] = {}
# Every check but one: "a schema-valid request is accepted" cannot hold while the server validates more
# than a JSON Schema says (name rules, label configurations, manifests, who may use which team), and
# answers those with the documented 400.
EXCLUDED = [schemathesis.checks.positive_data_acceptance]


@pytest.fixture(params=["sqlite"])
def database_url(request, tmp_path, _sqlite_template):  # schemathesis runs on SQLite only (see above)
    import shutil

    shutil.copyfile(_sqlite_template, tmp_path / "test.db")
    yield f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def api_schema(app, ctx, people, tmp_path, text_job_spec):
    """The schema of a world with a job in progress on 'crew' (w1 is on it) with a file per object."""
    lines = []
    for i in range(20):
        f = tmp_path / f"obj-{i}.txt"
        f.write_text(f"review {i}")
        lines.append(json.dumps({"source-ref": str(f)}))
    (tmp_path / "files.manifest").write_text("\n".join(lines) + "\n")
    create_job(ctx, people["req"], JobSpec(**text_job_spec(name="reviews", input_manifest_uri=str(tmp_path / "files.manifest"))))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture
def tokens(ctx, people):
    return {u: users.issue_token(ctx, people[u]) for u in ("req", "w1")}


BOUNDED = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
                   database=None)


def _run_all(schema, token: str, username: str) -> dict[str, str]:
    """Every operation of the description, EXAMPLES cases each; the failures by operation."""
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @BOUNDED
        def check(case):
            response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                                              excluded_checks=EXCLUDED)
            key = f"{username} {response.status_code}"
            COUNTS[key] = COUNTS.get(key, 0) + 1

        try:
            check()
        except Exception as exc:  # a schemathesis check failed (or the server broke): report them all
            failures[operation.label] = str(exc)[:3000]
    return failures


@pytest.mark.parametrize("username", ["req", "w1"])
def test_the_api_matches_its_description(api_schema, tokens, username):
    failures = _run_all(api_schema, tokens[username], username)
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())


def test_zz_report_counts():
    """Prints what the runs above sent (pytest -s); the closing note quotes it."""
    if COUNTS:
        print("\nschemathesis calls by user and status:", dict(sorted(COUNTS.items())),
              "total", sum(COUNTS.values()))
