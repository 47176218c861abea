"""What Ground Truth's output form costs per output-manifest line (issue 16, section 4), in one process.

    .venv/bin/python bench/gt_output.py [--lines 200000]
    git show REV:src/labelloop/core/manifest.py > /tmp/old_manifest.py    # a revision to compare with
    .venv/bin/python bench/gt_output.py --baseline /tmp/old_manifest.py

Times, over the same lines of a typical classification job (a manifest line with a few keys, the label and
its metadata as the database keeps them):
- ``splice``: ``core.manifest.output_line_json`` (compact line, input values as written);
- ``written``: ``services.output.manifest_line`` (the same, plus the confidences Ground Truth writes:
  at most 0.95, 0.00 for one answer), what ``write_manifests`` calls per labeled object;
- ``annotations.json``: the extra line per object of ``annotations/intermediate/1/annotations.json``.

Prints lines per second, the per-line overhead of each added step, and the projected time of the three for a
1M-object job against the 20 s budget of ``bench/manifest_io.py`` (measured there end to end).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from types import SimpleNamespace

from labelloop.core.manifest import output_line_json
from labelloop.services.output import _annotation_line, manifest_line

BUDGET_1M_S = 20.0


def _lines(n: int) -> list[tuple[str, str, str]]:
    out = []
    for i in range(n):
        line = json.dumps({"source-ref": f"s3://acme-raw/pets/p{i}.jpg", "camera": "front", "n": i})
        meta = json.dumps({"confidence": 0.97 + (i % 3) / 100, "job-name": "labeling-job/pets", "class-name": "dog",
                           "human-annotated": "yes", "creation-date": "2026-11-23T15:15:58.599140",
                           "type": "groundtruth/image-classification"}, ensure_ascii=False,
                          separators=(",", ":"))  # as consolidation stores it
        out.append((line, str(i % 3), meta))
    return out


def _time(fn, rows) -> float:
    start = time.perf_counter()
    for row in rows:
        fn(*row)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--baseline", help="a core/manifest.py of another revision: its output_line_json is timed too")
    args = ap.parse_args()
    n = args.lines
    rows = _lines(n)
    baseline = None
    if args.baseline:
        spec = importlib.util.spec_from_file_location("baseline_manifest", args.baseline)
        module = importlib.util.module_from_spec(spec)
        sys.modules["baseline_manifest"] = module
        spec.loader.exec_module(module)
        baseline = min(_time(lambda line, label, meta: module.output_line_json(line, "pet", label, meta), rows)
                       for _ in range(3))
    splice = min(_time(lambda line, label, meta: output_line_json(line, "pet", label, meta), rows) for _ in range(3))
    written = min(_time(lambda line, label, meta: manifest_line(line, "pet", label, meta, 3), rows) for _ in range(3))
    records = [SimpleNamespace(position=i, line=line, source_ref=f"s3://acme-raw/pets/p{i}.jpg")
               for i, (line, _l, _m) in enumerate(rows)]
    start = time.perf_counter()
    for r in records:
        _annotation_line(r)
    annotations = time.perf_counter() - start
    print(f"lines: {n:,}")
    print(f"{'step':<20} {'lines/s':>12} {'us/line':>9}")
    steps = [("splice", splice), ("written", written), ("annotations.json", annotations)]
    for name, t in ([("baseline splice", baseline)] if baseline else []) + steps:
        print(f"{name:<20} {n / t:>12,.0f} {t / n * 1e6:>9.2f}")
    if baseline:
        print(f"written + annotations.json vs the baseline splice: {(written + annotations) / baseline:.2f}x")
    per_1m = (written + annotations) / n * 1_000_000
    print(f"confidence rule: +{(written - splice) / n * 1e6:.2f} us/line ({written / splice:.2f}x the splice)")
    print(f"1M objects, the per-line work of write_manifests: {per_1m:.1f} s "
          f"({per_1m / BUDGET_1M_S:.2f}x of the 20 s budget, before I/O and the database read)")


if __name__ == "__main__":
    main()
