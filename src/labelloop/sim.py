"""Simulated workers that label through the real worker HTTP API (``labelloop simulate``, benchmarks, tests)."""

from __future__ import annotations

import csv
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx


@dataclass
class Oracle:
    """Chooses an answer: the truth with probability ``accuracy``, else another label at random."""

    truth: dict[str, str] = field(default_factory=dict)
    accuracy: float = 1.0
    seed: int = 0

    @classmethod
    def from_csv(cls, path: Path, accuracy: float = 1.0, seed: int = 0) -> Oracle:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        if not rows or [c.strip() for c in rows[0][:2]] != ["question", "truth"]:
            raise ValueError(f"{path}: the first line must be the header 'question,truth'")
        truth = {}
        for n, row in enumerate(rows[1:], start=2):
            if len(row) < 2:
                raise ValueError(f"{path}: line {n} needs two columns")
            truth[row[0]] = row[1]
        return cls(truth, accuracy, seed)

    def true_label(self, task: dict) -> str | None:
        data = task["data"]
        for key in (str(task["dataset_object_id"]), data.get("source-ref"), data.get("source")):
            if key is not None and key in self.truth:
                return self.truth[key]
            if key and "/" in key and key.rsplit("/", 1)[1] in self.truth:
                return self.truth[key.rsplit("/", 1)[1]]
        return None

    def answer(self, task: dict, rng: random.Random) -> dict:
        labels = task["labels"]
        truth = self.true_label(task)
        if task["task_type"].endswith("multilabel"):
            chosen = set((truth or "").split("|")) if truth is not None else {rng.choice(labels)}
            picked = [x for x in labels if (x in chosen) != (rng.random() > self.accuracy)]
            return {"labels": picked}
        if truth is None:
            return {"label": rng.choice(labels)}
        if rng.random() < self.accuracy or len(labels) == 1:
            return {"label": truth}
        return {"label": rng.choice([x for x in labels if x != truth])}


@dataclass
class Stats:
    submitted: int = 0
    errors: int = 0
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"next-task": [], "submit": []})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: str, seconds: float) -> None:
        with self.lock:
            self.latencies[call].append(seconds)


def sign_in(base_url: str, username: str, password: str) -> str:
    r = httpx.post(f"{base_url}/api/v1/auth/token", json={"username": username, "password": password}, timeout=30)
    r.raise_for_status()
    return r.json()["token"]


RETRIES = 5  # attempts of a request whose connection the server dropped


def work(
    base_url: str, token: str, job: str, oracle: Oracle, *, stats: Stats, seed: int = 0, max_tasks: int | None = None,
    on_submit: Callable[[], None] | None = None,
) -> None:
    """One worker: take a task, answer it and get the next in the same call, until none is left."""
    rng = random.Random(seed)
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:

        def post(path: str, **kw) -> httpx.Response:
            """POST, retrying a connection the server dropped (a keep-alive race under load)."""
            for attempt in range(RETRIES):
                try:
                    return client.post(path, **kw)
                except httpx.TransportError:
                    if attempt == RETRIES - 1:
                        raise
                    time.sleep(0.05 * (attempt + 1))
            raise AssertionError("unreachable")

        def claim() -> dict | None:
            t0 = time.perf_counter()
            r = post(f"/api/v1/worker/jobs/{job}/next-task")
            stats.add("next-task", time.perf_counter() - t0)
            r.raise_for_status()
            return r.json() if r.status_code == 200 else None

        def submitted_already(task_id: int) -> bool:
            r = client.get(f"/api/v1/worker/tasks/{task_id}")
            return r.status_code == 200 and r.json()["status"] == "submitted"

        task, done = claim(), 0
        while task is not None and (max_tasks is None or done < max_tasks):
            more = max_tasks is None or done + 1 < max_tasks
            t0 = time.perf_counter()
            try:
                r = client.post(f"/api/v1/worker/tasks/{task['task_id']}/submit",
                                json={"answer": oracle.answer(task, rng), "next": more})
            except httpx.TransportError:
                # the answer may or may not have been stored: ask before answering again
                r = None
            stats.add("submit", time.perf_counter() - t0)
            if r is None and submitted_already(task["task_id"]):
                next_task = None
            elif r is None:
                continue  # not stored: submit again
            elif r.status_code != 200:
                with stats.lock:
                    stats.errors += 1
                task = claim()
                continue
            else:
                next_task = r.json().get("next_task")
            done += 1
            with stats.lock:
                stats.submitted += 1
            if on_submit:
                on_submit()
            task = next_task if next_task is not None or not more else claim()


def run_workers(base_url: str, job: str, credentials: list[tuple[str, str]], oracle: Oracle, *,
                max_tasks: int | None = None, on_submit: Callable[[], None] | None = None) -> Stats:
    """Run one thread per worker until the job has no task left for any of them."""
    stats = Stats()
    tokens = [sign_in(base_url, u, p) for u, p in credentials]
    threads = [
        threading.Thread(target=work, args=(base_url, tok, job, oracle),
                         kwargs={"stats": stats, "seed": oracle.seed * 1000 + i, "max_tasks": max_tasks,
                                 "on_submit": on_submit}, daemon=True)
        for i, tok in enumerate(tokens)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stats
