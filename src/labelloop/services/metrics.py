"""Prometheus metrics (``GET /metrics``).

Counted in the process where they happen: requests and their latencies by route template, answers submitted
and leases granted (server processes), background step durations (the background process). ``labelloop serve``
gives all its processes one ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary folder, unless the environment
sets one), so that any server process's ``/metrics`` sums every process of that ``serve`` (prometheus_client's
multiprocess mode). Without it (one process, tests) the figures are the process's own. What the database
knows is read at scrape time, so it is the same whichever process answers: consolidation lag (objects that
have their answers but no consolidated label yet), per open job.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

if TYPE_CHECKING:
    from labelloop.services.context import Context

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LOCAL = CollectorRegistry(auto_describe=True)  # this process's own figures

REQUESTS = Histogram(
    "labelloop_http_request_duration_seconds", "HTTP requests and their latency, by route template and status.",
    ["method", "route", "status"], registry=LOCAL,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
ANSWERS = Counter("labelloop_answers_submitted", "Answers workers submitted.", registry=LOCAL)
LEASES = Counter("labelloop_leases_granted", "Tasks leased to workers (next-task, or next with a submit).",
                 registry=LOCAL)
STEPS = Histogram(
    "labelloop_background_step_duration_seconds", "Duration of one background step on one job, by step.",
    ["step"], registry=LOCAL, buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0))


class _Database:
    """Figures read from the database when /metrics is scraped."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        from labelloop.services.health import consolidation_lag

        lag = GaugeMetricFamily("labelloop_consolidation_lag_objects",
                                "Data objects that have all their answers but no consolidated label yet, by job.",
                                labels=["job"])
        for job, n in consolidation_lag(self.ctx).items():
            lag.add_metric([job], n)
        yield lag


def render(ctx: Context) -> tuple[bytes, str]:
    """The exposition text (and its content type) for ``/metrics``."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)
    else:
        registry.register(LOCAL)
    registry.register(_Database(ctx))
    return generate_latest(registry), CONTENT_TYPE_LATEST
