"""Boxes, polygons, keypoints and masks end to end, on each engine: images and a truth file -> CLI jobs ->
``labelloop simulate`` (workers drawing with the issue's noise) against a real server -> output rows as spec §2.4
(the segmentation label map written to the job's output) -> ``labelloop export`` read back by pycocotools and
checked against YOLO's, VOC's and the masks' layouts."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import tarfile
import xml.etree.ElementTree as ET

import httpx
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from labelloop.cli.main import app
from labelloop.services.background import run_background_once
from labelloop.services.context import build_context
from labelloop.settings import Settings
from labelloop.web.app import create_app
from tests.conftest import write_manifest
from tests.servers import uvicorn_thread
from tests.waiting import wait_until

W, H, N = 160, 120, 6
LABELS = ["square", "round"]
KEYPOINTS = ["nose", "left_eye", "right_eye"]


def _scene(i: int):
    """Image ``i``: a square and a disk at places of its own, their boxes, polygons, keypoints and class mask."""
    rng = np.random.default_rng(i)
    x, y = int(rng.integers(5, 60)), int(rng.integers(5, 50))
    cx, cy, r = int(rng.integers(110, 140)), int(rng.integers(30, 90)), int(rng.integers(12, 18))
    mask = np.zeros((H, W), dtype=np.uint8)
    mask[y:y + 40, x:x + 40] = 1
    yy, xx = np.mgrid[:H, :W]
    mask[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 2
    boxes = [{"label": "square", "left": x, "top": y, "width": 40, "height": 40},
             {"label": "round", "left": cx - r, "top": cy - r, "width": 2 * r + 1, "height": 2 * r + 1}]
    polygons = [{"label": "square", "vertices": [{"x": x, "y": y}, {"x": x + 40, "y": y}, {"x": x + 40, "y": y + 40},
                                                 {"x": x, "y": y + 40}]},
                {"label": "round", "vertices": [{"x": round(cx + r * np.cos(a), 1), "y": round(cy + r * np.sin(a), 1)}
                                                for a in np.linspace(0, 2 * np.pi, 12, endpoint=False)]}]
    keypoints = [{"label": "nose", "x": cx, "y": cy, "instance": 0},
                 {"label": "left_eye", "x": cx - 6, "y": cy - 6, "instance": 0},
                 {"label": "right_eye", "x": cx + 6, "y": cy - 6, "instance": 0}]
    return mask, boxes, polygons, keypoints


def _iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    return iw * ih / (aw * ah + bw * bh - iw * ih)


def test_spatial_jobs_simulated_output_and_exports(tmp_path, monkeypatch, database_url):
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO

    monkeypatch.setenv("LABELLOOP_DATABASE_URL", database_url)
    monkeypatch.setenv("LABELLOOP_PASSWORD", "admin-password")
    monkeypatch.setenv("LABELLOOP_CONSOLIDATION_INTERVAL_S", "0")
    monkeypatch.setenv("LABELLOOP_OUTPUT_INTERVAL_S", "0")
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == code, result.output
        return result.output

    run("db", "upgrade")
    run("users", "create", "boss", "--role", "admin")
    run("storage", "allow", tmp_path)
    run("teams", "create", "crew")
    scenes = [_scene(i) for i in range(N)]
    lines, truth = [], {k: [] for k in ("bounding-box", "polygon", "keypoint", "semantic-segmentation",
                                         "instance-segmentation")}
    for i, (mask, boxes, polygons, keypoints) in enumerate(scenes):
        img = tmp_path / f"img{i}.png"
        Image.fromarray((mask * 100).astype(np.uint8)).save(img)
        Image.fromarray(mask).save(tmp_path / f"mask{i}.png")
        lines.append({"source-ref": str(img)})
        size = {"width": W, "height": H}
        truth["bounding-box"].append({**size, "boxes": boxes})
        truth["polygon"].append({**size, "polygons": polygons})
        truth["instance-segmentation"].append({**size, "polygons": polygons})
        truth["keypoint"].append({**size, "keypoints": keypoints})
        truth["semantic-segmentation"].append({**size, "mask": f"mask{i}.png"})
    manifest = write_manifest(tmp_path / "in.manifest", lines)
    jobs = {"bounding-box": ("boxes", LABELS), "polygon": ("outlines", LABELS), "keypoint": ("faces", KEYPOINTS),
            "semantic-segmentation": ("areas-ref", LABELS), "instance-segmentation": ("things", LABELS)}
    for task_type, (lan, labels) in jobs.items():
        (tmp_path / f"{task_type}.json").write_text(json.dumps({"labels": [{"label": x} for x in labels]}))
        with open(tmp_path / f"{task_type}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["question", "truth"])
            for i, t in enumerate(truth[task_type]):
                w.writerow([i, json.dumps(t)])
        run("jobs", "create", "--name", task_type, "--manifest", manifest, "--labels", tmp_path / f"{task_type}.json",
            "--task-type", task_type, "--label-attribute-name", lan, "--team", "crew", "--output", tmp_path / "out",
            "--workers-per-object", "3")
    out = run("jobs", "create", "--name", "bad-lan", "--manifest", manifest, "--labels",
              tmp_path / "semantic-segmentation.json", "--task-type", "semantic-segmentation",
              "--label-attribute-name", "areas", "--team", "crew", code=2)
    assert "ref" in out

    # the server in this process (a real HTTP port; its background work run here until the jobs complete):
    # a `labelloop serve` process would spend most of this test's time importing
    ctx = build_context(Settings(database_url=database_url, data_dir=tmp_path / "data", run_background=False,
                                 output_interval_s=0, consolidation_interval_s=0, storage_allow=[str(tmp_path)]))
    try:
        with uvicorn_thread(create_app(ctx=ctx)) as url:
            for task_type in jobs:
                assert f"{3 * N} answers submitted" in run("simulate", task_type, "--url", url, "--truth",
                                                           tmp_path / f"{task_type}.csv", "--seed", "3")

        def completed() -> bool:
            run_background_once(ctx, force_output=True)
            return all(json.loads(run("jobs", "describe", t))["status"] == "Completed" for t in jobs)

        wait_until(completed, message="the jobs never completed")
        with uvicorn_thread(create_app(ctx=ctx)) as url, httpx.Client(base_url=url, timeout=30) as client:
            token = client.post("/api/v1/auth/token", json={"username": "boss", "password": "admin-password"}).json()
            h = {"Authorization": f"Bearer {token['token']}"}
            r = client.get("/api/v1/jobs/bounding-box/export", params={"format": "yolo"}, headers=h)
            assert r.status_code == 200 and r.headers["content-type"] == "application/x-tar"
            with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
                assert sorted(tar.getnames()) == ["data.yaml", *[f"labels/img{i}.txt" for i in range(N)]]
            r = client.get("/api/v1/jobs/keypoint/export", params={"format": "coco"}, headers=h)
            assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
            assert json.loads(r.content)["categories"][0]["keypoints"] == KEYPOINTS
            bad = client.get("/api/v1/jobs/keypoint/export", params={"format": "voc"}, headers=h)
            assert bad.status_code == 400 and "format" in bad.text
    finally:
        ctx.close()
        ctx.engine.dispose()

    def rows(job):
        text = (tmp_path / f"out/{job}/manifests/output/output.manifest").read_text()
        return [json.loads(x) for x in text.splitlines()]

    # boxes: Ground Truth's object-detection rows, close to the truth
    ious = []
    for row, (_m, boxes, _p, _k) in zip(rows("bounding-box"), scenes, strict=True):
        meta = row["boxes-metadata"]
        assert meta["type"] == "groundtruth/object-detection" and meta["job-name"] == "labeling-job/bounding-box"
        assert row["boxes"]["image_size"] == [{"width": W, "height": H, "depth": 3}]
        anns = row["boxes"]["annotations"]
        assert len(meta["objects"]) == len(anns) and set(meta["class-map"].values()) <= set(LABELS)
        assert all(set(a) == {"class_id", "left", "top", "width", "height"} for a in anns)
        for t in boxes:
            cid = LABELS.index(t["label"])
            best = max((_iou((a["left"], a["top"], a["width"], a["height"]),
                             (t["left"], t["top"], t["width"], t["height"])) for a in anns if a["class_id"] == cid),
                       default=0.0)
            ious.append(best)
    assert np.mean(ious) > 0.75, ious

    # semantic segmentation: a palette PNG label map under the job's output, internal-color-map
    mious = []
    for row, (mask, *_rest) in zip(rows("semantic-segmentation"), scenes, strict=True):
        ref = row["areas-ref"]
        assert ref.startswith(str(tmp_path / "out/semantic-segmentation/annotations/consolidated-annotation/output/"))
        meta = row["areas-ref-metadata"]
        assert meta["type"] == "groundtruth/semantic-segmentation"
        assert meta["internal-color-map"]["0"]["class-name"] == "BACKGROUND"
        assert [meta["internal-color-map"][k]["class-name"] for k in ("1", "2")] == LABELS
        got = np.asarray(Image.open(ref))
        assert Image.open(ref).mode == "P" and got.shape == mask.shape
        mious.append(np.mean([((got == c) & (mask == c)).sum() / ((got == c) | (mask == c)).sum() for c in (1, 2)]))
    assert np.mean(mious) > 0.75, mious

    for row in rows("polygon"):
        assert row["outlines-metadata"]["type"] == "labelloop/polygon"
        assert all(len(a["vertices"]) >= 3 for a in row["outlines"]["annotations"])
    found = 0
    for row in rows("instance-segmentation"):
        assert row["things-metadata"]["type"] == "labelloop/instance-segmentation"
        anns = row["things"]["annotations"]
        found += len({a["class_id"] for a in anns})
        assert all(a["segmentation"]["size"] == [H, W] for a in anns)
    assert found >= 0.75 * 2 * N  # a shape 2 of its 3 workers missed (10% each) may be lost
    for row in rows("keypoint"):
        assert row["faces-metadata"]["type"] == "labelloop/keypoint"
        assert row["faces-metadata"]["class-map"] in ({"0": "person"}, {})

    # exports: COCO read by pycocotools, YOLO, VOC, masks
    for job, fmt in (("bounding-box", "coco"), ("polygon", "coco"), ("keypoint", "coco"),
                     ("instance-segmentation", "coco")):
        run("export", job, "--format", fmt, "-o", tmp_path / f"{job}.json")
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO(str(tmp_path / f"{job}.json"))
        assert len(coco.getImgIds()) == N and coco.getAnnIds()
    assert all("segmentation" in a for a in json.loads((tmp_path / "polygon.json").read_text())["annotations"])
    rle = json.loads((tmp_path / "instance-segmentation.json").read_text())["annotations"][0]["segmentation"]
    assert isinstance(rle["counts"], str) and rle["size"] == [H, W]  # COCO compressed RLE
    run("export", "bounding-box", "--format", "yolo", "-o", tmp_path / "yolo")
    assert sorted(p.name for p in (tmp_path / "yolo/labels").iterdir()) == [f"img{i}.txt" for i in range(N)]
    assert all(len(x.split()) == 5 for p in (tmp_path / "yolo/labels").iterdir() for x in p.read_text().splitlines())
    run("export", "polygon", "--format", "yolo-seg", "-o", tmp_path / "seg")
    assert all((tmp_path / f"seg/labels/img{i}.txt").read_text() for i in range(N))  # never an empty export
    run("export", "keypoint", "--format", "yolo-pose", "-o", tmp_path / "pose")
    assert all(len(x.split()) == 5 + 3 * len(KEYPOINTS) for i in range(N)
               for x in (tmp_path / f"pose/labels/img{i}.txt").read_text().splitlines())
    run("export", "bounding-box", "--format", "voc", "-o", tmp_path / "voc")
    root = ET.parse(tmp_path / "voc/Annotations/img0.xml").getroot()
    assert root.findtext("size/width") == str(W) and root.find("object/bndbox/xmin") is not None
    run("export", "bounding-box", "--format", "jsonl", "-o", tmp_path / "boxes.jsonl")
    got = [json.loads(x) for x in (tmp_path / "boxes.jsonl").read_text().splitlines()]
    assert [g["file_name"] for g in got] == [f"img{i}.png" for i in range(N)] and all(g["objects"] for g in got)
    run("export", "semantic-segmentation", "--format", "masks", "-o", tmp_path / "masks")
    assert len(list((tmp_path / "masks/SegmentationClass").iterdir())) == N
    assert "square:31,119,180::" in (tmp_path / "masks/labelmap.txt").read_text()
    assert "exports as masks" in run("export", "semantic-segmentation", "--format", "yolo", code=2)
