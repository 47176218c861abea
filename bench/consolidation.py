"""Consolidation accuracy and speed on real crowd labels.

Runs our Dawid-Skene and majority vote on the truth-inference benchmark sets of Zheng et al.
(PVLDB 2017) and compares the accuracy with the reference figures (crowd-kit 1.4.2) in the data
folder's README. The data folder is not on users' machines: pass it as the first argument or set
LABELLOOP_BENCH_DATA (default ../shared/data); a missing folder is reported, not faked.

    python bench/consolidation.py [DATA_DIR]

Exit status 1 when Dawid-Skene is more than 0.01 below the reference on any set.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from labelloop.core.consolidation import (
    Answers,
    DawidSkene,
    MajorityVote,
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
        for name, estimator, reference in (
            ("dawid-skene", DawidSkene(), ref_ds),
            ("majority-vote", MajorityVote(), ref_mv),
        ):
            start = time.perf_counter()
            if isinstance(estimator, MajorityVote):
                estimator.fit(data, item_keys=questions)
            else:
                estimator.fit(data)
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


def main() -> int:
    raw = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("LABELLOOP_BENCH_DATA", "../shared/data")
    data_dir = Path(raw)
    if not (data_dir / "crowd").is_dir():
        print(f"crowd data not found under {data_dir}/crowd: pass the data folder as the first "
              "argument or set LABELLOOP_BENCH_DATA", file=sys.stderr)
        return 2
    return 0 if run(data_dir) else 1


if __name__ == "__main__":
    sys.exit(main())
