"""Simulated workers that label through the real worker HTTP API (``labelloop simulate``, benchmarks, tests)."""

from __future__ import annotations

import csv
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx


@dataclass
class Oracle:
    """Chooses an answer: the truth with probability ``accuracy``, else another label at random."""

    truth: dict[str, str] = field(default_factory=dict)
    accuracy: float = 1.0
    seed: int = 0
    folder: Path | None = None  # where a truth file's relative mask paths are
    careless: float = 0.1  # the share of careless workers among those drawing shapes (CARELESS_SHARE)

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
        return cls(truth, accuracy, seed, folder=path.parent)

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
        if task["task_type"] in SPAN_TASK_TYPES:
            return {"entities": noisy_spans(parse_span_truth(truth), labels, self.accuracy, rng,
                                            len(task["data"].get("source") or ""))}
        if task["task_type"].split("-adjustment")[0] in SHAPE_TASK_TYPES:
            return draw(task["task_type"].split("-adjustment")[0], parse_shape_truth(truth, self.folder), labels,
                        rng, careless=is_careless(rng, self.careless))
        if task["task_type"].endswith("multilabel"):
            chosen = set((truth or "").split("|")) if truth is not None else {rng.choice(labels)}
            picked = [x for x in labels if (x in chosen) != (rng.random() > self.accuracy)]
            return {"labels": picked}
        if truth is None:
            return {"label": rng.choice(labels)}
        if rng.random() < self.accuracy or len(labels) == 1:
            return {"label": truth}
        return {"label": rng.choice([x for x in labels if x != truth])}


SPAN_TASK_TYPES = ("named-entity-recognition", "named-entity-recognition-adjustment")

# --- drawing shapes (bounding-box, polygon, keypoint, semantic-segmentation) -------------------------------------
# A truth for an image is a JSON object: {"width", "height"} and "boxes" [{label, left, top, width, height}],
# "polygons" [{label, vertices: [{x, y}]}] (also instance-segmentation's, drawn filled), "keypoints" [{label, x, y, instance?}] or "mask" (the path of a PNG
# whose pixel values are class indices: 0 background, k the job's k-th label; relative to the truth file).
# The noise (fixed, so results compare; issue 14): every box edge / vertex / keypoint off by a normal error of
# 4% of the shape's size, 10% of shapes missed, 5% extra boxes of random size and place, masks eroded or
# dilated by 1-3 px at random; a careless worker (10%) draws everything twice as badly.
SHAPE_TASK_TYPES = ("bounding-box", "polygon", "keypoint", "semantic-segmentation", "instance-segmentation")
CARELESS_SHARE = 0.1
JITTER, MISS, EXTRA, MORPH = 0.04, 0.10, 0.05, (1, 3)


def is_careless(rng: random.Random, share: float = CARELESS_SHARE) -> bool:
    """Whether the worker of ``rng`` is careless: drawn once per worker, on its first answer."""
    flag = getattr(rng, "careless", None)
    if flag is None:
        flag = random.Random(rng.random()).random() < share
        rng.careless = flag  # type: ignore[attr-defined]
    return bool(flag)


def parse_shape_truth(truth: str | None, folder: Path | None = None) -> dict:
    if not truth:
        return {}
    out = json.loads(truth)
    if isinstance(out.get("mask"), str) and folder is not None and not Path(out["mask"]).is_absolute():
        out["mask"] = str(folder / out["mask"])
    return out


def noisy_box(box: dict, rng: random.Random, scale: float, size: tuple[int, int]) -> dict | None:
    """A box whose four edges are each off by N(0, JITTER x scale x its side), clipped to the image."""
    w, h = box["width"], box["height"]
    x0 = box["left"] + rng.gauss(0, JITTER * scale * w)
    x1 = box["left"] + w + rng.gauss(0, JITTER * scale * w)
    y0 = box["top"] + rng.gauss(0, JITTER * scale * h)
    y1 = box["top"] + h + rng.gauss(0, JITTER * scale * h)
    x0, x1 = sorted((min(max(x0, 0), size[0]), min(max(x1, 0), size[0])))
    y0, y1 = sorted((min(max(y0, 0), size[1]), min(max(y1, 0), size[1])))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return {"label": box["label"], "left": round(x0, 1), "top": round(y0, 1), "width": round(x1 - x0, 1),
            "height": round(y1 - y0, 1)}


def extra_box(labels: list[str], rng: random.Random, size: tuple[int, int]) -> dict:
    w = rng.uniform(0.05, 0.4) * size[0]
    h = rng.uniform(0.05, 0.4) * size[1]
    return {"label": rng.choice(labels), "left": round(rng.uniform(0, size[0] - w), 1),
            "top": round(rng.uniform(0, size[1] - h), 1), "width": round(w, 1), "height": round(h, 1)}


def noisy_mask(classes, rng: random.Random, scale: float):
    """Each class's region eroded or dilated by 1-3 px (twice that for a careless worker) at random."""
    import numpy as np
    from scipy import ndimage

    out = np.zeros_like(classes)
    for c in [int(c) for c in np.unique(classes) if c != 0]:
        region = classes == c
        r = int(rng.randint(*MORPH) * scale)
        grow = rng.random() < 0.5
        disk = ndimage.generate_binary_structure(2, 1)
        region = (ndimage.binary_dilation if grow else ndimage.binary_erosion)(region, disk, iterations=r)
        out[region] = c
    return out


def mask_answer(classes, labels: list[str]) -> dict:
    """A crowd-semantic-segmentation answer of a class-index map: an RGB PNG in the labels' tab10 colours."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    from labelloop.core.tasktypes.boxes import TAB10

    colors = ["#ffffff", *[TAB10[i % len(TAB10)] for i in range(len(labels))]]
    lut = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colors], dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(lut[np.clip(classes, 0, len(labels))]).save(buf, format="PNG")
    used = {int(c) for c in np.unique(classes) if 0 < c <= len(labels)}
    return {"labeledImage": {"pngImageData": base64.b64encode(buf.getvalue()).decode()},
            "labelMappings": {labels[c - 1]: {"color": colors[c]} for c in sorted(used)},
            "inputImageProperties": {"width": int(classes.shape[1]), "height": int(classes.shape[0])}}


def instances_answer(polygons: list[dict], size: tuple[int, int]) -> dict:
    """A crowd-instance-segmentation answer: each polygon filled in a colour of its own on white."""
    import base64
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, (255, 255, 255))
    pen = ImageDraw.Draw(img)
    instances = []
    for i, p in enumerate(polygons):
        rgb = (40 + (i * 67) % 200, 20 + (i * 131) % 200, 10 + (i * 29) % 200)
        pen.polygon([(v["x"], v["y"]) for v in p["vertices"]], fill=rgb)
        instances.append({"color": "#{:02x}{:02x}{:02x}".format(*rgb), "label": p["label"]})
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return {"labeledImage": {"pngImageData": base64.b64encode(buf.getvalue()).decode()}, "instances": instances,
            "inputImageProperties": {"width": size[0], "height": size[1]}}


def draw(task_type: str, truth: dict, labels: list[str], rng: random.Random, *, careless: bool = False) -> dict:
    """A simulated worker's drawing of ``truth`` (see above) for ``task_type``'s element."""
    scale = 2.0 if careless else 1.0
    size = (int(truth.get("width") or 1), int(truth.get("height") or 1))
    props = {"width": size[0], "height": size[1]}
    if task_type == "semantic-segmentation":
        import numpy as np
        from PIL import Image

        if truth.get("mask"):
            classes = np.asarray(Image.open(truth["mask"]))
        else:
            classes = np.zeros((size[1], size[0]), dtype=np.uint8)
        return mask_answer(noisy_mask(classes, rng, scale), labels)
    if task_type == "bounding-box":
        boxes = [b for t in truth.get("boxes", []) if rng.random() >= MISS * scale
                 if (b := noisy_box(t, rng, scale, size)) is not None]
        boxes += [extra_box(labels, rng, size) for _ in truth.get("boxes", []) if rng.random() < EXTRA * scale]
        return {"boundingBoxes": boxes, "inputImageProperties": props}
    if task_type in ("polygon", "instance-segmentation"):
        out = []
        for p in truth.get("polygons", []):
            if rng.random() < MISS * scale:
                continue
            xs, ys = [v["x"] for v in p["vertices"]], [v["y"] for v in p["vertices"]]
            sx, sy = JITTER * scale * (max(xs) - min(xs)), JITTER * scale * (max(ys) - min(ys))
            out.append({"label": p["label"], "vertices": [
                {"x": round(min(max(v["x"] + rng.gauss(0, sx), 0), size[0]), 1),
                 "y": round(min(max(v["y"] + rng.gauss(0, sy), 0), size[1]), 1)} for v in p["vertices"]]})
        if task_type == "polygon":
            return {"polygons": out, "inputImageProperties": props}
        return instances_answer(out, size)
    points = truth.get("keypoints", [])
    by: dict = {}
    for k in points:
        by.setdefault(k.get("instance", 0), []).append(k)
    out = []
    for inst, ks in by.items():
        xs, ys = [k["x"] for k in ks], [k["y"] for k in ks]
        s = JITTER * scale * max(max(xs) - min(xs), max(ys) - min(ys), 10)
        for k in ks:
            if rng.random() < MISS * scale:
                continue
            out.append({"label": k["label"], "instance": inst,
                        "x": round(min(max(k["x"] + rng.gauss(0, s), 0), size[0]), 1),
                        "y": round(min(max(k["y"] + rng.gauss(0, s), 0), size[1]), 1)})
    return {"keypoints": out, "inputImageProperties": props}


def parse_span_truth(truth: str | None) -> list[tuple[int, int, str]]:
    """A truth file's entities for a text: JSON ``[{"label", "startOffset", "endOffset"}]`` or
    ``[[start, end, label]]`` (code points); none when the text has no truth."""
    if not truth:
        return []
    out = []
    for e in json.loads(truth):
        out.append((e["startOffset"], e["endOffset"], e["label"]) if isinstance(e, dict) else (e[0], e[1], e[2]))
    return out


def noisy_spans(spans: list[tuple[int, int, str]], labels: list[str], accuracy: float, rng: random.Random,
                length: int) -> list[dict]:
    """A worker's entities: each true one kept with probability ``accuracy``, else missed, cut one character
    short or long, or mislabeled (a third each)."""
    out = set()
    for s, e, label in spans:
        if rng.random() >= accuracy:
            kind = rng.randrange(3)
            if kind == 0:
                continue
            if kind == 1:
                e = max(s + 1, min(length or e + 1, e + rng.choice((-1, 1))))
            elif len(labels) > 1:
                label = rng.choice([x for x in labels if x != label])
        out.add((s, e, label))
    return [{"label": label, "startOffset": s, "endOffset": e} for s, e, label in sorted(out)]


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
GATEWAY_ERRORS = (502, 503, 504)  # a reverse proxy whose upstream died: like a dropped connection


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
                    r = client.post(path, **kw)
                except httpx.TransportError:
                    if attempt == RETRIES - 1:
                        raise
                else:
                    if r.status_code not in GATEWAY_ERRORS or attempt == RETRIES - 1:
                        return r
                time.sleep(0.05 * (attempt + 1))
            raise AssertionError("unreachable")

        def claim() -> dict | None:
            t0 = time.perf_counter()
            r = post(f"/api/v1/worker/jobs/{job}/next-task")
            stats.add("next-task", time.perf_counter() - t0)
            r.raise_for_status()
            return r.json() if r.status_code == 200 else None

        def submitted_already(task_id: int) -> bool:
            for attempt in range(RETRIES):
                try:
                    r = client.get(f"/api/v1/worker/tasks/{task_id}")
                except httpx.TransportError:
                    if attempt == RETRIES - 1:
                        raise
                else:
                    if r.status_code not in GATEWAY_ERRORS or attempt == RETRIES - 1:
                        break
                time.sleep(0.05 * (attempt + 1))
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
            if r is not None and r.status_code in GATEWAY_ERRORS:
                r = None  # a proxy lost its upstream mid-request: the same question
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
                max_tasks: int | None = None, on_submit: Callable[[], None] | None = None,
                tokens: list[str] | None = None, stats: Stats | None = None) -> Stats:
    """Run one thread per worker until the job has no task left for any of them (``tokens``: already signed
    in; ``stats``: add to these)."""
    stats = stats if stats is not None else Stats()
    tokens = tokens if tokens is not None else [sign_in(base_url, u, p) for u, p in credentials]
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


@dataclass(frozen=True)
class HeldLease:
    """A lease of the job held by someone other than the simulated workers."""

    worker: str
    expires_at: datetime


def waiting_message(leases: list[HeldLease], now: datetime | None = None) -> str:
    """``2 objects are leased to other workers (worker1 until 10:42:13Z); waiting for them to be answered or
    to expire``."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    by: dict[str, datetime] = {}
    for lease in leases:
        by[lease.worker] = max(by.get(lease.worker, lease.expires_at), lease.expires_at)
    holders = ", ".join(f"{w} {'until' if until > now else 'expired at'} {until.strftime('%H:%M:%SZ')}"
                        for w, until in sorted(by.items(), key=lambda x: x[1]))
    n = len(leases)
    return (f"{n} object{'s are' if n != 1 else ' is'} leased to other workers ({holders}); "
            "waiting for them to be answered or to expire")


def label_until_done(
    run_round: Callable[[], object], leases_held_by_others: Callable[[], list[HeldLease]], *,
    wait_s: float | None = None, poll_s: float = 1.0, on_wait: Callable[[list[HeldLease]], None] | None = None,
    sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
    more_may_come: Callable[[], bool] | None = None,
) -> list[HeldLease]:
    """Run rounds of the simulated workers (each until none of them gets a task) while other workers hold
    leases on the job: those objects come back when answered or when their leases expire. ``on_wait`` is
    told each time the leases held by others change. Returns the leases still held by others: empty once
    nothing is left that the simulated workers could ever take, else those held when ``wait_s`` ran out.
    ``more_may_come`` says whether objects may still come back for more answers although no one holds a lease
    (adaptive consensus: answered objects waiting to be consolidated may be re-opened for another worker)."""
    deadline = None if wait_s is None else monotonic() + wait_s
    told: list[HeldLease] | None = None
    while True:
        run_round()
        held = leases_held_by_others()
        if deadline is not None and monotonic() >= deadline:
            return held
        if not held and not (more_may_come is not None and more_may_come()):
            return held
        if held != told and on_wait is not None:
            on_wait(held)
        told = held
        sleep(poll_s if deadline is None else max(0.0, min(poll_s, deadline - monotonic())))
