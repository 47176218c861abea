"""Consolidation accuracy and speed on real crowd labels.

Runs our Dawid-Skene and majority vote on the truth-inference benchmark sets of Zheng et al.
(PVLDB 2017) and compares the accuracy with the reference figures (crowd-kit 1.4.2) in the data
folder's README. The data folder is not on users' machines: pass it as the first argument or set
LABELLOOP_BENCH_DATA (default ../shared/data); a missing folder is reported, not faked.

    python bench/consolidation.py [DATA_DIR]
    python bench/consolidation.py --scale [--sizes 10000,100000,1000000] [--algorithm shrunk-dawid-skene]

Exit status 1 when Dawid-Skene is more than 0.01 below the reference on any set.

``--scale`` measures incremental consolidation (``consolidate_incremental``: warm steps plus full
refits at doubling sizes) on synthetic jobs: 3 answers per object from a few hundred workers of
varying accuracy (some with asymmetric confusions), 4 classes, the job's answers arriving in batches
of 1,000 in a random order; after each batch the objects it completed are consolidated with the
job's stored JSON state. It prints the consolidation CPU time per 1,000 answers at each size, the
ratio largest/smallest size (PASS if <= 2.0) and the agreement of the final labels with one fit on
all the answers (PASS if >= 99.8%). Exit status 1 on a FAIL.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from labelloop.core.consolidation import (
    Answers,
    consolidate_incremental,
    consolidator,
    prior_confusion,
    read_answers,
    read_truth,
)

# (folder, reference majority vote, reference Dawid-Skene) from ../shared/data/README.md
SETS = [
    ("s4_Dog_data", 0.812, 0.843),
    ("d_jn-product", 0.897, 0.940),
]
TOLERANCE = 0.01


def _accuracy(questions: list[str], labels: list[str], truth: dict[str, str]) -> float:
    predicted = dict(zip(questions, labels))
    scored = [q for q in truth if q in predicted]
    return sum(predicted[q] == truth[q] for q in scored) / len(scored)


def run(data_dir: Path) -> bool:
    print(f"{'set':<14} {'items':>6} {'workers':>7} {'answers':>7}  {'algorithm':<13} "
          f"{'accuracy':>8} {'reference':>9} {'diff':>6} {'fit ms':>8}")
    ok = True
    for folder, ref_mv, ref_ds in SETS:
        base = data_dir / "crowd" / folder
        triples = read_answers(base / "answer.csv")
        truth = read_truth(base / "truth.csv")
        data, questions, workers, classes = Answers.from_triples(triples)
        for name, reference in (("dawid-skene", ref_ds), ("majority-vote", ref_mv)):
            estimator = consolidator(name)
            start = time.perf_counter()
            estimator.fit(data, questions)
            elapsed_ms = (time.perf_counter() - start) * 1000
            labels = [classes[k] for k in estimator.labels_]
            accuracy = _accuracy(questions, labels, truth)
            diff = accuracy - reference
            print(f"{folder:<14} {len(questions):>6} {len(workers):>7} {len(triples):>7}  {name:<13} "
                  f"{accuracy:>8.3f} {reference:>9.3f} {diff:>+6.3f} {elapsed_ms:>8.1f}")
            if name == "dawid-skene" and diff < -TOLERANCE:
                ok = False
    print(f"\nDawid-Skene within {TOLERANCE} of the reference on every set: {'PASS' if ok else 'FAIL'}")
    return ok


BATCH_ANSWERS = 1000
ANSWERS_PER_OBJECT = 3
N_WORKERS = 300
N_CLASSES = 4
MAX_RATIO = 2.0
MIN_AGREEMENT = 0.998


def synthetic_job(n_objects: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(truth, worker, label, arrival)``: answer ``r`` is for object ``r // 3``; ``arrival`` orders them."""
    truth = rng.choice(N_CLASSES, n_objects, p=[0.4, 0.3, 0.2, 0.1])
    conf = prior_confusion(rng.uniform(0.55, 0.95, N_WORKERS), N_CLASSES)
    for w in np.flatnonzero(rng.random(N_WORKERS) < 0.25):  # asymmetric: true a often answered b
        a, b = rng.choice(N_CLASSES, 2, replace=False)
        conf[w, a] *= 0.6
        conf[w, a, b] += 0.4
    activity = rng.lognormal(0.0, 1.0, N_WORKERS)
    workers = rng.choice(N_WORKERS, (n_objects, ANSWERS_PER_OBJECT), p=activity / activity.sum())
    while True:  # three distinct workers per object
        s = np.sort(workers, axis=1)
        bad = np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1))
        if not bad.size:
            break
        workers[bad] = rng.choice(N_WORKERS, (bad.size, ANSWERS_PER_OBJECT), p=activity / activity.sum())
    workers = workers.ravel()
    true_of_answer = np.repeat(truth, ANSWERS_PER_OBJECT)
    cum = conf.cumsum(axis=2)[workers, true_of_answer]
    labels = np.minimum((rng.random(len(workers))[:, None] > cum).sum(axis=1), N_CLASSES - 1)
    return truth, workers, labels, rng.permutation(len(workers))


def _answers(objects: np.ndarray, workers: np.ndarray, labels: np.ndarray) -> tuple[Answers, np.ndarray]:
    """What the service builds from the answers of ``objects`` (all of each object's answers)."""
    rows = (objects[:, None] * ANSWERS_PER_OBJECT + np.arange(ANSWERS_PER_OBJECT)).ravel()
    worker_ids, w_index = np.unique(workers[rows], return_inverse=True)
    items = np.repeat(np.arange(len(objects)), ANSWERS_PER_OBJECT)
    answers = Answers(items, w_index, labels[rows], len(objects), len(worker_ids), N_CLASSES,
                      worker_keys=tuple(f"worker-{w}" for w in worker_ids))
    return answers, objects


def run_scale_one(n_objects: int, seed: int = 0, algorithm: str = "dawid-skene") -> dict:
    truth, workers, labels, arrival = synthetic_job(n_objects, np.random.default_rng(seed))
    got = np.zeros(n_objects, dtype=np.int64)
    latest = np.full(n_objects, -1)
    first = np.full(n_objects, -1)
    done: list[np.ndarray] = []
    state, cpu, refits, before_final = None, 0.0, 0, latest
    for start in range(0, len(arrival), BATCH_ANSWERS):
        objects = arrival[start:start + BATCH_ANSWERS] // ANSWERS_PER_OBJECT
        np.add.at(got, objects, 1)
        new = np.unique(objects[got[objects] == ANSWERS_PER_OBJECT])
        if not new.size:
            continue
        done.append(new)
        final = start + BATCH_ANSWERS >= len(arrival)
        if final:
            before_final = latest.copy()
            before_final[new] = -2  # not labelled yet before the last batch
        t0 = time.process_time()
        new_answers, new_keys = _answers(new, workers, labels)
        result = consolidate_incremental(
            new_answers, new_keys, state, final=final, algorithm=algorithm,
            history=lambda: _answers(np.concatenate(done), workers, labels))
        state = result.state_json
        keys = np.asarray(result.item_keys)
        latest[keys] = result.model.labels_
        cpu += time.process_time() - t0
        first[new] = latest[new]
        refits += result.full_refit
    assert final and (got == ANSWERS_PER_OBJECT).all()
    labelled = before_final != -2
    everything, keys = _answers(np.arange(n_objects), workers, labels)
    full = consolidator(algorithm).fit(everything, keys).labels_
    return {"objects": n_objects, "answers": len(arrival), "refits": refits, "cpu_s": cpu,
            "ms_per_1000": cpu * 1000 / (len(arrival) / 1000), "state_kb": len(state) / 1024,
            "agreement": float(np.mean(latest == full)), "agreement_first": float(np.mean(first == full)),
            "agreement_before_final": float(np.mean(before_final[labelled] == full[labelled])),
            "accuracy": float(np.mean(latest == truth)), "accuracy_full": float(np.mean(full == truth))}


def run_scale(sizes: list[int], algorithm: str = "dawid-skene") -> bool:
    print(f"incremental {algorithm}, {ANSWERS_PER_OBJECT} answers/object, {N_WORKERS} workers, {N_CLASSES} "
          f"classes, batches of {BATCH_ANSWERS} answers in random order")
    print("agree: final labels = one fit on all answers; pre-final: the labels before the job's last batch "
          "(its final=True full refit); 1st: each object's first label; acc: against the truth")
    print(f"{'objects':>9} {'answers':>9} {'refits':>6} {'CPU s':>7} {'ms/1000 ans':>11} {'state kB':>8} "
          f"{'agree':>7} {'pre-final':>9} {'1st':>7} {'acc':>6} {'acc full':>8}")
    ok, results = True, []
    for n in sizes:
        r = run_scale_one(n, algorithm=algorithm)
        results.append(r)
        print(f"{r['objects']:>9} {r['answers']:>9} {r['refits']:>6} {r['cpu_s']:>7.2f} {r['ms_per_1000']:>11.2f} "
              f"{r['state_kb']:>8.1f} {r['agreement']:>7.4f} {r['agreement_before_final']:>9.4f} "
              f"{r['agreement_first']:>7.4f} {r['accuracy']:>6.3f} "
              f"{r['accuracy_full']:>8.3f}", flush=True)
        passed = r["agreement"] >= MIN_AGREEMENT
        ok &= passed
        print(f"  agreement with one full fit at {n} objects >= {MIN_AGREEMENT:.1%}: {'PASS' if passed else 'FAIL'}")
    if len(results) > 1:
        ratio = results[-1]["ms_per_1000"] / results[0]["ms_per_1000"]
        passed = ratio <= MAX_RATIO
        ok &= passed
        print(f"CPU per 1000 answers, {results[-1]['objects']}/{results[0]['objects']} objects: {ratio:.2f} "
              f"(<= {MAX_RATIO}): {'PASS' if passed else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", nargs="?",
                        default=os.environ.get("LABELLOOP_BENCH_DATA", "../shared/data"))
    parser.add_argument("--scale", action="store_true", help="incremental consolidation on synthetic jobs")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="objects per synthetic job, comma-separated")
    parser.add_argument("--algorithm", default="dawid-skene", help="--scale: the consolidation algorithm to measure")
    args = parser.parse_args()
    if args.scale:
        return 0 if run_scale(sorted(int(x) for x in args.sizes.split(",")), args.algorithm) else 1
    data_dir = Path(args.data_dir)
    if not (data_dir / "crowd").is_dir():
        print(f"crowd data not found under {data_dir}/crowd: pass the data folder as the first "
              "argument or set LABELLOOP_BENCH_DATA", file=sys.stderr)
        return 2
    return 0 if run(data_dir) else 1


if __name__ == "__main__":
    sys.exit(main())
