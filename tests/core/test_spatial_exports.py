"""Image exports checked by what reads them: pycocotools loads our COCO (boxes, polygons, RLE masks, keypoints) and
scores the truth against itself AP 1.0; YOLO files in the published layouts; VOC XML with the required elements."""

from __future__ import annotations

import contextlib
import io
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from labelloop.core.consolidation.keypoints import sigma_of
from labelloop.core.exports.base import ImageObjects, Shape
from labelloop.core.exports.coco import rle_area, rle_encode
from labelloop.core.exports.spatial import coco_chunks, folder_files, image_jsonl_line
from labelloop.core.exports.voc import voc_xml
from labelloop.core.exports.yolo import yolo_lines
from labelloop.core.tasktypes import ObjectAnswers, get_task_type

pycocotools = pytest.importorskip("pycocotools")
from pycocotools import mask as mask_utils  # noqa: E402
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

LABELS = ["dog", "cat"]
KP = ["nose", "left_eye", "right_eye", "left_ear", "right_ear"]


def _label(task_type, answers, labels, algorithm):
    tt = get_task_type(task_type)
    valid = [tt.validate_answer(a, labels) for a in answers]
    (label,) = tt.consolidate([ObjectAnswers(0, tuple((str(i), a) for i, a in enumerate(valid)))], {0}, labels,
                              algorithm=algorithm, workers_per_object=len(valid))
    return label


def _records(task_type, per_image, labels, algorithm):
    tt = get_task_type(task_type)
    out = []
    for i, answer in enumerate(per_image):
        label = _label(task_type, [answer] * 3, labels, algorithm)
        out.append(tt.export_record(i, {"source-ref": f"s3://bucket/images/img{i}.jpg"}, None, label.value,
                                    label.metadata))
    return out


PROPS = {"width": 320, "height": 240}
BOXES = [{"boundingBox": {"boundingBoxes": [{"label": "dog", "left": 10, "top": 20, "width": 100, "height": 60},
                                             {"label": "cat", "left": 150, "top": 100, "width": 40, "height": 80}],
                          "inputImageProperties": PROPS}},
         {"boundingBox": {"boundingBoxes": [{"label": "cat", "left": 5, "top": 5, "width": 300, "height": 200}],
                          "inputImageProperties": PROPS}},
         {"boundingBox": {"boundingBoxes": [], "inputImageProperties": PROPS}}]
POLYS = [{"crowd-polygon": {"polygons": [
    {"label": "dog", "vertices": [{"x": 10, "y": 10}, {"x": 100, "y": 15}, {"x": 60, "y": 90}]},
    {"label": "cat", "vertices": [{"x": 150, "y": 100}, {"x": 250, "y": 100}, {"x": 250, "y": 200}, {"x": 150, "y": 200}]}],
    "inputImageProperties": PROPS}}]
POSES = [{"crowd-keypoint": {"keypoints": [
    {"label": "nose", "x": 100, "y": 100, "instance": 0}, {"label": "left_eye", "x": 95, "y": 92, "instance": 0},
    {"label": "right_eye", "x": 105, "y": 92, "instance": 0}, {"label": "left_ear", "x": 88, "y": 96, "instance": 0},
    {"label": "nose", "x": 250, "y": 150, "instance": 1}, {"label": "left_eye", "x": 243, "y": 140, "instance": 1},
    {"label": "right_ear", "x": 262, "y": 146, "instance": 1}], "inputImageProperties": PROPS}}]


def _coco(records, labels):
    text = "".join(coco_chunks(lambda: iter(records), lambda: iter(records), labels))
    data = json.loads(text)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = data
        gt.createIndex()
    return gt, data


def _self_ap(gt, data, iou_type, sigmas=None):
    results = [{k: v for k, v in a.items() if k not in ("id", "iscrowd")} for a in data["annotations"]]
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, iou_type)
        if sigmas is not None:  # COCOeval's default is COCO's 17 person keypoints
            ev.params.kpt_oks_sigmas = np.array(sigmas)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats[0]


def test_coco_boxes_load_and_score_ap_one():
    gt, data = _coco(_records("bounding-box", BOXES, LABELS, "box-consensus"), LABELS)
    assert [c["name"] for c in data["categories"]] == LABELS and len(data["images"]) == 3
    assert data["images"][0]["file_name"] == "img0.jpg" and len(data["annotations"]) == 3
    assert data["annotations"][0]["bbox"] == [10, 20, 100, 60] and data["annotations"][0]["category_id"] == 1
    assert _self_ap(gt, data, "bbox") == pytest.approx(1.0)


def test_coco_polygons_load_and_score_ap_one():
    gt, data = _coco(_records("polygon", POLYS, LABELS, "polygon-consensus"), LABELS)
    assert data["annotations"][1]["segmentation"] == [[150, 100, 250, 100, 250, 200, 150, 200]]
    assert data["annotations"][1]["area"] == 10000
    assert _self_ap(gt, data, "segm") == pytest.approx(1.0)


def test_coco_rle_masks_load_and_score_ap_one():
    m = np.zeros((240, 320), dtype=bool)
    m[30:90, 40:200] = True
    m[50:60, 100:120] = False
    rle = rle_encode(m)
    assert rle["counts"] == mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))["counts"].decode()
    assert rle_area(rle) == int(m.sum())
    rec = ImageObjects(0, "s3://b/m.png", 320, 240, (Shape(0, "dog", box=(40, 30, 160, 60), rle=rle, confidence=0.9),))
    gt, data = _coco([rec], LABELS)
    assert data["annotations"][0]["area"] == float(m.sum())
    assert _self_ap(gt, data, "segm") == pytest.approx(1.0)


def test_coco_keypoints_load_and_score_ap_one():
    records = _records("keypoint", POSES, KP, "keypoint-consensus")
    gt, data = _coco(records, KP)
    assert data["categories"] == [{"id": 1, "name": "person", "supercategory": "person", "keypoints": KP,
                                   "skeleton": []}]
    first = data["annotations"][0]
    assert len(first["keypoints"]) == 3 * len(KP) and first["num_keypoints"] == 4
    assert first["keypoints"][-3:] == [0, 0, 0]  # right_ear not placed
    assert _self_ap(gt, data, "keypoints", [sigma_of(k) for k in KP]) == pytest.approx(1.0)


def _files(fmt, records, labels):
    return dict(folder_files(fmt, iter(records), labels, None, []))


def test_yolo_detection_layout():
    files = _files("yolo", _records("bounding-box", BOXES, LABELS, "box-consensus"), LABELS)
    assert sorted(files) == ["data.yaml", "labels/img0.txt", "labels/img1.txt", "labels/img2.txt"]
    rows = [line.split() for line in files["labels/img0.txt"].decode().splitlines()]
    assert rows[0] == ["0", "0.187500", "0.208333", "0.312500", "0.250000"]  # class cx cy w h, normalised
    assert all(len(r) == 5 and min(map(float, r[1:])) >= 0 and max(map(float, r[1:])) <= 1 for r in rows)
    assert files["labels/img2.txt"] == b""  # a background image
    yaml = files["data.yaml"].decode()
    assert "names:\n  0: \"dog\"\n  1: \"cat\"" in yaml and "nc: 2" in yaml


def test_yolo_seg_is_not_empty_and_pose_has_5_plus_3k_columns():
    seg = _files("yolo-seg", _records("polygon", POLYS, LABELS, "polygon-consensus"), LABELS)
    rows = [line.split() for line in seg["labels/img0.txt"].decode().splitlines()]
    assert [len(r) for r in rows] == [1 + 2 * 3, 1 + 2 * 4]
    assert rows[1][:3] == ["1", f"{150 / 320:.6f}", f"{100 / 240:.6f}"]
    boxes_as_seg = _files("yolo-seg", _records("bounding-box", BOXES[:1], LABELS, "box-consensus"), LABELS)
    assert [len(r.split()) for r in boxes_as_seg["labels/img0.txt"].decode().splitlines()] == [9, 9]
    pose = _files("yolo-pose", _records("keypoint", POSES, KP, "keypoint-consensus"), KP)
    rows = [line.split() for line in pose["labels/img0.txt"].decode().splitlines()]
    assert [len(r) for r in rows] == [5 + 3 * len(KP)] * 2
    assert rows[0][0] == "0" and rows[0][-3:] == ["0.000000", "0.000000", "0"]
    assert "kpt_shape: [5, 3]" in pose["data.yaml"].decode() and '0: "person"' in pose["data.yaml"].decode()


def test_voc_xml_has_the_required_elements():
    records = _records("bounding-box", BOXES, LABELS, "box-consensus")
    root = ET.fromstring(voc_xml(records[0]))
    assert root.tag == "annotation"
    for path in ("folder", "filename", "size/width", "size/height", "size/depth", "segmented"):
        assert root.find(path) is not None, path
    assert root.findtext("filename") == "img0.jpg" and root.findtext("size/width") == "320"
    objs = root.findall("object")
    assert [o.findtext("name") for o in objs] == ["dog", "cat"]
    box = objs[0].find("bndbox")
    assert [int(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")] == [11, 21, 110, 80]
    for o in objs:
        for k in ("pose", "truncated", "difficult"):
            assert o.find(k) is not None
    files = _files("voc", records, LABELS)
    assert files["labels.txt"] == b"dog\ncat\n" and "Annotations/img1.xml" in files


def test_repeated_file_names_get_distinct_files_and_a_warning():
    recs = [ImageObjects(i, f"s3://b/{d}/same.jpg", 10, 10) for i, d in enumerate("abc")]
    warnings: list[str] = []
    names = [n for n, _ in folder_files("yolo", iter(recs), LABELS, None, warnings)]
    assert names[:3] == ["labels/same.txt", "labels/same_1.txt", "labels/same_2.txt"]
    assert "2 image file name(s) repeated" in warnings[0]


def test_jsonl_line_per_image():
    rec = _records("bounding-box", BOXES, LABELS, "box-consensus")[0]
    row = json.loads(image_jsonl_line(rec))
    assert row["source-ref"] == "s3://bucket/images/img0.jpg" and row["objects"][0]["label"] == "dog"
    assert yolo_lines(rec, "yolo").count("\n") == 2
