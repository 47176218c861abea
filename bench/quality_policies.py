#!/usr/bin/env python
"""Quality policies on real and simulated answers: adaptive consensus replayed, gold and blocking simulated.

Both parts run in-process on the pure rules of ``labelloop.core.quality.policy`` and the default
consolidation estimator (the classification types' default, ``shrunk-dawid-skene``; ``--algorithm NAME`` for
another), the same ones the job's services apply.

* **Adaptive consensus** (``../shared/data/crowd``, answers in their recorded order): each object starts
  with ``min`` answers; after each consolidation round an object whose posterior is below the target (and
  that has fewer than ``max``) has its next recorded answer revealed, until no object asks for more. Prints
  accuracy against answers per object for several targets and checks the issue's goals: d_jn-product within
  0.005 of the all-answers accuracy with at most 2.2 answers/object; s4_Dog within 0.01 with at most 6.
* **Gold and blocking** (simulated): 4 classes, 50 workers (10 uniform spammers, 40 honest at accuracy
  0.8-0.95), one gold object in ten turns, 20 seeds. Checks: >= 95% of spammers blocked by their 10th gold
  answer, <= 2% of honest workers ever blocked, final accuracy within 0.01 of the same job without spammers.

    .venv/bin/python bench/quality_policies.py [DATA_DIR] [--algorithm NAME]   # default $LABELLOOP_BENCH_DATA or ../shared/data

``run(data_dir)`` is what ``bench/quality.py`` calls. Exit status 1 on a FAIL.
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from labelloop.core.consolidation import Answers, consolidator, read_answers, read_truth
from labelloop.core.consolidation.registry import DEFAULT
from labelloop.core.quality.policy import BlockRule, Evidence, gold_due, is_blocked, needs_another_answer

ADAPTIVE_GOALS = {"d_jn-product": (1, 3, 0.005, 2.2), "s4_Dog_data": (3, 10, 0.01, 6.0)}  # min, max, tol, budget
ALGORITHM = [DEFAULT]  # the estimator the replay consolidates with (``--algorithm``)
TARGETS = (0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.993, 0.995, 0.998, 0.999)


def _fit(items: list[int], workers: list[int], labels: list[int], n_items: int, n_workers: int,
         n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and raw posteriors (max of the posterior row) of the default estimator."""
    a = Answers(np.asarray(items), np.asarray(workers), np.asarray(labels), n_items, n_workers, n_classes)
    model = consolidator(ALGORITHM[0]).fit(a)
    post = np.asarray(model.posteriors_)
    return np.asarray(model.labels_), post.max(axis=1)


# ------------------------------------------------------------------------------------- adaptive consensus
def _load(folder: Path) -> tuple[list[list[tuple[int, int]]], np.ndarray, int, int]:
    rows = read_answers(folder / "answer.csv")
    truth = read_truth(folder / "truth.csv")
    classes = sorted({a for _q, _w, a in rows} | set(truth.values()))
    cix = {c: i for i, c in enumerate(classes)}
    qix: dict[str, int] = {}
    wix: dict[str, int] = {}
    per_item: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for q, w, a in rows:
        per_item[qix.setdefault(q, len(qix))].append((wix.setdefault(w, len(wix)), cix[a]))
    seq = [per_item[i] for i in range(len(qix))]
    t = np.full(len(qix), -1)
    for q, c in truth.items():
        if q in qix:
            t[qix[q]] = cix[c]
    return seq, t, len(wix), len(classes)


def replay(seq: list[list[tuple[int, int]]], n_workers: int, n_classes: int, *, min_answers: int,
           max_answers: int, target: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Reveal answers as the policy asks for them; the final labels and answers used per object."""
    n = len(seq)
    shown = np.array([min(min_answers, len(s)) for s in seq])
    while True:
        items, workers, labels = [], [], []
        for i, s in enumerate(seq):
            for w, c in s[:shown[i]]:
                items.append(i)
                workers.append(w)
                labels.append(c)
        pred, post = _fit(items, workers, labels, n, n_workers, n_classes)
        more = [i for i in range(n) if shown[i] < len(seq[i]) and needs_another_answer(
            int(shown[i]), float(post[i]), min_answers=min_answers, max_answers=max_answers, target=target)]
        if not more:
            return pred, shown
        shown[more] += 1


def adaptive(data_dir: Path) -> bool:
    ok = True
    print("adaptive consensus (answers revealed in recorded order; accuracy against truth)")
    for name, (lo, hi, tol, budget) in ADAPTIVE_GOALS.items():
        folder = data_dir / "crowd" / name
        if not folder.exists():
            print(f"  {name}: missing ({folder}); skipped")
            continue
        seq, truth, nw, nc = _load(folder)
        known = truth >= 0
        full, _ = replay(seq, nw, nc, min_answers=10**6, max_answers=10**6, target=None)
        base = float((full[known] == truth[known]).mean())
        print(f"  {name}: {len(seq)} objects, all answers ({np.mean([len(s) for s in seq]):.2f}/object): "
              f"accuracy {base:.4f}")
        best: tuple[float, float, float] | None = None
        for target in TARGETS:
            t0 = time.perf_counter()
            pred, used = replay(seq, nw, nc, min_answers=lo, max_answers=hi, target=target)
            acc = float((pred[known] == truth[known]).mean())
            per = float(used.mean())
            hit = acc >= base - tol and per <= budget
            if hit and (best is None or per < best[1]):
                best = (target, per, acc)
            print(f"    target {target:.4g}: accuracy {acc:.4f} ({acc - base:+.4f}) with {per:.2f} answers/object "
                  f"({per / np.mean([len(s) for s in seq]):.0%} of all){'  <- meets the goal' if hit else ''}"
                  f"  [{time.perf_counter() - t0:.1f} s]")
        verdict = "PASS" if best else "FAIL"
        ok &= best is not None
        goal = f"within {tol} of {base:.4f} with <= {budget} answers/object"
        print(f"  {name}: {verdict} ({goal}"
              + (f"; best: target {best[0]}, {best[1]:.2f} answers/object, accuracy {best[2]:.4f})" if best else ")"))
    return ok


# ------------------------------------------------------------------------------------ gold and blocking
N_CLASSES, N_WORKERS, N_SPAMMERS, GOLD_RATE = 4, 50, 10, 0.1
N_OBJECTS, N_GOLD, PER_OBJECT, CONSOLIDATE_EVERY = 1500, 60, 3, 300
RULE = BlockRule()


def simulate(seed: int, *, spammers: bool) -> dict[str, float]:
    """One job: workers take turns at random; every gold answer (and every consolidation round) re-judges
    the worker with ``is_blocked``; a blocked worker's answers are dropped and their objects re-opened."""
    rng = np.random.default_rng(seed)
    acc = rng.uniform(0.8, 0.95, N_WORKERS)
    spam = np.zeros(N_WORKERS, bool)
    spam[:N_SPAMMERS] = True
    active = np.ones(N_WORKERS, bool) if spammers else ~spam
    truth = rng.integers(0, N_CLASSES, N_OBJECTS)
    gold_truth = rng.integers(0, N_CLASSES, N_GOLD)

    def answer(w: int, true: int) -> int:
        if spam[w]:
            return int(rng.integers(0, N_CLASSES))
        if rng.random() < acc[w]:
            return true
        return int((true + rng.integers(1, N_CLASSES)) % N_CLASSES)

    answers: dict[int, dict[int, int]] = defaultdict(dict)  # object -> worker -> class
    done: set[tuple[int, int]] = set()
    turns = np.zeros(N_WORKERS, int)
    gold_n = np.zeros(N_WORKERS, int)
    gold_ok = np.zeros(N_WORKERS, int)
    agreed = np.zeros(N_WORKERS, int)
    compared = np.zeros(N_WORKERS, int)
    blocked_at_gold = np.full(N_WORKERS, -1)
    gold_seen: list[set[int]] = [set() for _ in range(N_WORKERS)]
    pending = list(range(N_OBJECTS))
    since = 0

    def block(w: int) -> None:
        active[w] = False
        blocked_at_gold[w] = gold_n[w]
        for o in list(answers):
            if w in answers[o]:
                del answers[o][w]
                if o not in pending:
                    pending.append(o)

    def consolidate() -> np.ndarray:
        items, workers, labels = [], [], []
        for o, by in answers.items():
            for w, c in by.items():
                items.append(o)
                workers.append(w)
                labels.append(c)
        pred, _ = _fit(items, workers, labels, N_OBJECTS, N_WORKERS, N_CLASSES)
        agreed[:] = 0
        compared[:] = 0
        for o, by in answers.items():
            if len(by) >= PER_OBJECT:
                for w, c in by.items():
                    compared[w] += 1
                    agreed[w] += int(c == pred[o])
        return pred

    def judge(w: int) -> None:
        if active[w] and is_blocked(Evidence(int(gold_ok[w]), int(gold_n[w]), int(agreed[w]), int(compared[w])),
                                    RULE):
            block(w)

    while pending:
        w = int(rng.choice(np.flatnonzero(active)))
        if gold_due(int(gold_n[w]), int(turns[w]), GOLD_RATE) and len(gold_seen[w]) < N_GOLD:
            g = int(rng.choice([x for x in range(N_GOLD) if x not in gold_seen[w]]))
            gold_seen[w].add(g)
            gold_n[w] += 1
            gold_ok[w] += int(answer(w, int(gold_truth[g])) == gold_truth[g])
            turns[w] += 1
            judge(w)
            continue
        o = next((x for x in pending if (x, w) not in done), None)
        if o is None:
            if all((x, v) in done for x in pending for v in np.flatnonzero(active)):
                break
            continue
        done.add((o, w))
        answers[o][w] = answer(w, int(truth[o]))
        turns[w] += 1
        if len(answers[o]) >= PER_OBJECT:
            pending.remove(o)
        since += 1
        if since >= CONSOLIDATE_EVERY:
            since = 0
            consolidate()
            for v in np.flatnonzero(active):
                judge(int(v))
    pred = consolidate()
    honest = ~spam
    caught = (blocked_at_gold[spam] >= 0) & (blocked_at_gold[spam] <= 10)
    return {"accuracy": float((pred == truth).mean()),
            "spammers_caught": float(caught.mean()) if spammers else 1.0,
            "honest_blocked": float((blocked_at_gold[honest] >= 0).mean()),
            "answers_per_object": float(np.mean([len(b) for b in answers.values()]))}


def gold_blocking(seeds: int = 20) -> bool:
    print(f"gold and blocking: {N_CLASSES} classes, {N_WORKERS} workers ({N_SPAMMERS} spammers), gold 1 in "
          f"{round(1 / GOLD_RATE)}, {N_OBJECTS} objects x {PER_OBJECT}, {seeds} seeds; rule {RULE}")
    t0 = time.perf_counter()
    with_s = [simulate(s, spammers=True) for s in range(seeds)]
    without = [simulate(s, spammers=False) for s in range(seeds)]
    caught = np.mean([r["spammers_caught"] for r in with_s])
    honest = np.mean([r["honest_blocked"] for r in with_s] + [r["honest_blocked"] for r in without])
    gap = np.mean([a["accuracy"] - b["accuracy"] for a, b in zip(without, with_s)])
    print(f"  spammers blocked by their 10th gold answer: {caught:.1%} (goal >= 95%)")
    print(f"  honest workers ever blocked: {honest:.2%} (goal <= 2%)")
    print(f"  final accuracy: {np.mean([r['accuracy'] for r in with_s]):.4f} with spammers, "
          f"{np.mean([r['accuracy'] for r in without]):.4f} without (gap {gap:+.4f}, goal <= 0.01)"
          f"  [{time.perf_counter() - t0:.0f} s]")
    ok = bool(caught >= 0.95 and honest <= 0.02 and gap <= 0.01)
    print(f"  gold and blocking: {'PASS' if ok else 'FAIL'}")
    return ok


def check(data_dir: str | Path) -> bool:
    """Both parts; True when every goal is met."""
    data = Path(data_dir)
    a = adaptive(data)
    g = gold_blocking()
    return a and g


def run(data_dir: str | Path) -> None:
    """Both parts, printing their figures and PASS/FAIL (what ``bench/quality.py`` calls)."""
    check(data_dir)


if __name__ == "__main__":
    argv = sys.argv[1:]
    if "--algorithm" in argv:
        i = argv.index("--algorithm")
        ALGORITHM[0] = argv[i + 1]
        del argv[i:i + 2]
    print(f"consolidation: {ALGORITHM[0]}")
    arg = argv[0] if argv else os.environ.get("LABELLOOP_BENCH_DATA", "../shared/data")
    sys.exit(0 if check(arg) else 1)
