"""The spatial task types: answers checked with an error naming the field, output rows as spec §2.4, previews,
chained adjustment's initial value."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from labelloop.core.errors import ValidationError
from labelloop.core.tasktypes import ObjectAnswers, get_task_type
from labelloop.core.tasktypes.segmentation import png_bytes

LABELS = ["dog", "cat", "ball"]
PROPS = {"width": 640, "height": 480}


def bb(*boxes, **extra):
    return {"boundingBox": {"boundingBoxes": [dict(zip(("label", "left", "top", "width", "height"), b)) for b in boxes],
                            "inputImageProperties": PROPS, **extra}}


BAD_BOXES = [
    ({"boundingBox": {"boundingBoxes": []}}, "answer.boundingBox.inputImageProperties"),
    ({"boundingBox": {"boundingBoxes": [], "inputImageProperties": {"width": 0, "height": 4}}},
     "answer.boundingBox.inputImageProperties.width"),
    (bb(("horse", 1, 1, 5, 5)), "answer.boundingBox.boundingBoxes[0].label"),
    (bb(("dog", 1, 1, 5, 5), ("dog", "x", 1, 5, 5)), "answer.boundingBox.boundingBoxes[1].left"),
    (bb(("dog", 1, 1, -5, 5)), "answer.boundingBox.boundingBoxes[0].width"),
    (bb(("dog", 700, 1, 5, 5)), "answer.boundingBox.boundingBoxes[0]"),
    (bb(("dog", 1, 1, True, 5)), "answer.boundingBox.boundingBoxes[0].width"),
    ({"boundingBox": {"boundingBoxes": "none", "inputImageProperties": PROPS}}, "answer.boundingBox.boundingBoxes"),
    (bb(initialValueModified="yes"), "answer.boundingBox.initialValueModified"),
    ([], "answer"),
]


@pytest.mark.parametrize("answer,field", BAD_BOXES)
def test_bounding_box_refuses_malformed_answers_naming_the_field(answer, field):
    with pytest.raises(ValidationError) as exc:
        get_task_type("bounding-box").validate_answer(answer, LABELS)
    assert exc.value.field == field


def test_bounding_box_answer_is_clipped_and_canonical():
    out = get_task_type("bounding-box").validate_answer(bb(("dog", -10, 5, 60, 30.04), initialValueModified=True),
                                                        LABELS)
    assert out == {"boundingBox": {"boundingBoxes": [{"label": "dog", "left": 0.0, "top": 5.0, "width": 50.0,
                                                      "height": 30.0}],
                                   "inputImageProperties": PROPS, "initialValueModified": True}}


def _objects(answers_by_object):
    return [ObjectAnswers(i, tuple((str(w), a) for w, a in enumerate(answers)))
            for i, answers in enumerate(answers_by_object)]


def test_bounding_box_output_is_ground_truths_object_detection_shape():
    tt = get_task_type("bounding-box")
    a = bb(("dog", 12, 40, 100, 80), ("ball", 300, 210, 25, 25))
    history = _objects([[a, a, bb(("dog", 12, 40, 100, 80))]])
    (label,) = tt.consolidate(history, {0}, LABELS, algorithm="box-consensus", workers_per_object=3)
    assert label.value == {"annotations": [{"class_id": 0, "left": 12, "top": 40, "width": 100, "height": 80},
                                           {"class_id": 2, "left": 300, "top": 210, "width": 25, "height": 25}],
                           "image_size": [{"width": 640, "height": 480, "depth": 3}]}
    assert list(label.metadata) == ["objects", "class-map"]
    assert label.metadata["class-map"] == {"0": "dog", "2": "ball"}
    assert [set(o) for o in label.metadata["objects"]] == [{"confidence"}] * 2
    assert tt.gt_type == "groundtruth/object-detection"
    # a chained adjustment starts from these boxes, labels from the class-map
    line = {"source-ref": "s3://b/y9.png", "boxes": label.value, "boxes-metadata": label.metadata}
    assert tt.initial_value_of(line, "boxes", LABELS)[1] == {"label": "ball", "left": 300, "top": 210, "width": 25,
                                                            "height": 25}
    svg = tt.preview("s3://b/<y9>.png", label.value)
    assert svg.startswith("<svg") and svg.count("<rect") == 2 and "&lt;y9&gt;" in svg


def test_adjustment_records_whether_workers_changed_the_boxes():
    tt = get_task_type("bounding-box-adjustment")
    same = bb(("dog", 12, 40, 100, 80), initialValueModified=False)
    moved = bb(("dog", 14, 40, 100, 80), initialValueModified=True)
    labels = tt.consolidate(_objects([[same, same], [same, moved]]), {0, 1}, LABELS, algorithm="box-consensus",
                            workers_per_object=2)
    assert [x.metadata["adjustment-status"] for x in labels] == ["unadjusted", "adjusted"]


def test_pre_annotations_on_a_line_are_checked_and_passed_to_the_template():
    tt = get_task_type("bounding-box")
    check = tt.line_checker({"labels": [{"label": x} for x in LABELS]}, "boxes")
    assert check({"source-ref": "s3://b/1.jpg"}) is None
    assert "initial-value[0].label" in check({"source-ref": "s3://b/1.jpg", "initial-value": [
        {"label": "horse", "left": 1, "top": 1, "width": 2, "height": 2}]})
    line = {"source-ref": "s3://b/1.jpg", "initial-value": [{"label": "dog", "left": 1, "top": 1, "width": 2,
                                                            "height": 2}]}
    assert tt.task_input(line, {"labels": [{"label": "dog"}]}, "", "")["initialValue"] == line["initial-value"]


# --- semantic segmentation -----------------------------------------------------------------------------------


def mask_answer(classes, colors=None, size=None):
    colors = colors or {"dog": "#1f77b4", "cat": "#ff7f0e"}
    lut = {0: (255, 255, 255), **{i + 1: tuple(int(colors[x][k:k + 2], 16) for k in (1, 3, 5))
                                  for i, x in enumerate(LABELS) if x in colors}}
    rgb = np.zeros((*classes.shape, 3), dtype=np.uint8)
    for c, v in lut.items():
        rgb[classes == c] = v
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    h, w = size or classes.shape
    return {"crowd-semantic-segmentation": {
        "labeledImage": {"pngImageData": base64.b64encode(buf.getvalue()).decode()},
        "labelMappings": {k: {"color": v} for k, v in colors.items()},
        "inputImageProperties": {"width": w, "height": h}}}


def test_segmentation_refuses_bad_masks_naming_the_field():
    tt = get_task_type("semantic-segmentation")
    m = np.zeros((20, 30), dtype=np.uint8)
    m[2:8, 2:8] = 1
    assert tt.validate_answer(mask_answer(m), LABELS)["crowd-semantic-segmentation"]["labelMappings"]["dog"] == \
        {"color": "#1f77b4"}
    where = "answer.crowd-semantic-segmentation"
    cases = [
        (mask_answer(m, size=(21, 30)), f"{where}.labeledImage.pngImageData", "20 pixels"),
        (mask_answer(m, colors={"horse": "#1f77b4"}), f"{where}.labelMappings.horse", "not a label"),
    ]
    blue = mask_answer(m)
    blue["crowd-semantic-segmentation"]["labelMappings"]["dog"] = {"color": "blue"}
    cases.append((blue, f"{where}.labelMappings.dog.color", "#rrggbb"))
    stray = mask_answer(m)
    stray["crowd-semantic-segmentation"]["labelMappings"] = {"cat": {"color": "#ff7f0e"}}  # dog's colour unmapped
    cases.append((stray, f"{where}.labeledImage.pngImageData", "#1f77b4"))
    junk = mask_answer(m)
    junk["crowd-semantic-segmentation"]["labeledImage"]["pngImageData"] = base64.b64encode(b"not a png").decode()
    cases.append((junk, f"{where}.labeledImage.pngImageData", "PNG"))
    for answer, field, words in cases:
        with pytest.raises(ValidationError) as exc:
            tt.validate_answer(answer, LABELS)
        assert exc.value.field == field and words in exc.value.message, (field, exc.value.message)


def test_segmentation_consolidates_to_a_palette_png_and_internal_color_map():
    tt = get_task_type("semantic-segmentation")
    m = np.zeros((40, 50), dtype=np.uint8)
    m[5:20, 5:25] = 1
    m[25:35, 30:45] = 2
    answers = [tt.validate_answer(mask_answer(m), LABELS) for _ in range(3)]
    (label,) = tt.consolidate(_objects([answers]), {0}, LABELS, algorithm="mask-vote", workers_per_object=3)
    ((name, data),) = label.files
    assert label.value == name
    img = Image.open(io.BytesIO(data))
    assert img.mode == "P" and img.size == (50, 40)
    assert (np.asarray(img) == m).all()  # index = class key
    palette = img.getpalette()[:9]
    assert palette == [255, 255, 255, 0x1f, 0x77, 0xb4, 0xff, 0x7f, 0x0e]  # colour = hex-color
    cmap = label.metadata["internal-color-map"]
    assert cmap["0"] == {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": 0.95}
    assert cmap["1"]["class-name"] == "dog" and cmap["1"]["hex-color"] == "#1f77b4"
    assert list(cmap) == ["0", "1", "2", "3"]
    assert tt.lan_must_end_with_ref and get_task_type("semantic-segmentation-adjustment").lan_must_end_with_ref
    assert png_bytes(np.zeros((2, 2), dtype=np.uint8), ["#ffffff"])[:8] == b"\x89PNG\r\n\x1a\n"


# --- polygons and keypoints -----------------------------------------------------------------------------------


def poly(*polygons):
    return {"crowd-polygon": {"polygons": [{"label": lb, "vertices": [{"x": x, "y": y} for x, y in vs]}
                                           for lb, vs in polygons], "inputImageProperties": PROPS}}


def test_polygon_answers_and_output():
    tt = get_task_type("polygon")
    with pytest.raises(ValidationError) as exc:
        tt.validate_answer(poly(("dog", [(1, 1), (5, 5)])), LABELS)
    assert exc.value.field == "answer.crowd-polygon.polygons[0].vertices"
    with pytest.raises(ValidationError) as exc:
        tt.validate_answer(poly(("dog", [(1, 1), (5, 5), (1, "y")])), LABELS)
    assert exc.value.field == "answer.crowd-polygon.polygons[0].vertices[2].y"
    square = [(10, 10), (110, 10), (110, 110), (10, 110)]
    answers = [tt.validate_answer(poly(("cat", square)), LABELS)] * 3
    (label,) = tt.consolidate(_objects([answers]), {0}, LABELS, algorithm="polygon-consensus", workers_per_object=3)
    assert label.value["annotations"] == [{"class_id": 1, "vertices": [{"x": float(x), "y": float(y)} for x, y in square],
                                           "left": 10, "top": 10, "width": 100, "height": 100}]
    assert label.metadata["class-map"] == {"1": "cat"} and tt.gt_type == "labelloop/polygon"
    assert tt.preview("s3://b/1.jpg", label.value).count("<polygon") == 1


def kp(*points):
    return {"crowd-keypoint": {"keypoints": [dict(zip(("label", "x", "y", "instance"), p)) for p in points],
                               "inputImageProperties": PROPS}}


def test_keypoint_answers_and_instances_in_the_output():
    tt = get_task_type("keypoint")
    names = ["nose", "left_eye", "right_eye"]
    with pytest.raises(ValidationError) as exc:
        tt.validate_answer(kp(("nose", 700, 10, 0)), names)
    assert exc.value.field == "answer.crowd-keypoint.keypoints[0]"
    with pytest.raises(ValidationError) as exc:
        tt.validate_answer(kp(("nose", 7, 10, "a")), names)
    assert exc.value.field == "answer.crowd-keypoint.keypoints[0].instance"
    two = kp(("nose", 100, 100, 0), ("left_eye", 92, 92, 0), ("right_eye", 108, 92, 0),
             ("nose", 400, 300, 1), ("left_eye", 392, 292, 1))
    answers = [tt.validate_answer(two, names)] * 3
    (label,) = tt.consolidate(_objects([answers]), {0}, names, algorithm="keypoint-consensus", workers_per_object=3)
    first, second = label.value["annotations"]
    assert first["keypoints"] == [{"label": "nose", "x": 100.0, "y": 100.0}, {"label": "left_eye", "x": 92.0, "y": 92.0},
                                  {"label": "right_eye", "x": 108.0, "y": 92.0}]
    assert (first["left"], first["top"], first["width"], first["height"]) == (92, 92, 16, 8)
    assert len(second["keypoints"]) == 2
    assert label.metadata["class-map"] == {"0": "person"} and label.metadata["keypoint-names"] == names
    # without instance ids the n-th point of a label goes to instance n
    flat = kp(("nose", 100, 100), ("nose", 400, 300))
    flat["crowd-keypoint"]["keypoints"] = [{k: v for k, v in p.items() if v is not None} for p in
                                           flat["crowd-keypoint"]["keypoints"]]
    (label,) = tt.consolidate(_objects([[tt.validate_answer(flat, names)] * 2]), {0}, names,
                              algorithm="keypoint-consensus", workers_per_object=2)
    assert len(label.value["annotations"]) == 2


# --- instance segmentation -------------------------------------------------------------------------------------


def instances_answer(shapes, size=(40, 50), extra_color=None):
    """shapes: [(label, colour, (top, left, bottom, right))] painted on white."""
    rgb = np.full((*size, 3), 255, dtype=np.uint8)
    for _label, c, (t, lft, b, r) in shapes:
        rgb[t:b, lft:r] = [int(c[k:k + 2], 16) for k in (1, 3, 5)]
    if extra_color:
        rgb[0, 0] = extra_color
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return {"crowd-instance-segmentation": {
        "labeledImage": {"pngImageData": base64.b64encode(buf.getvalue()).decode()},
        "instances": [{"color": c, "label": lb} for lb, c, _ in shapes],
        "inputImageProperties": {"width": size[1], "height": size[0]}}}


def test_instance_segmentation_answers_and_rle_output():
    from labelloop.core.exports.coco import rle_area

    tt = get_task_type("instance-segmentation")
    where = "answer.crowd-instance-segmentation"
    two_dogs = [("dog", "#112233", (2, 2, 12, 12)), ("dog", "#445566", (20, 20, 35, 45))]
    with pytest.raises(ValidationError) as exc:
        tt.validate_answer(instances_answer(two_dogs, extra_color=(1, 2, 3)), LABELS)
    assert exc.value.field == f"{where}.labeledImage.pngImageData" and "#010203" in exc.value.message
    with pytest.raises(ValidationError) as exc:
        tt.validate_answer(instances_answer([("horse", "#112233", (2, 2, 12, 12))]), LABELS)
    assert exc.value.field == f"{where}.instances[0].label"
    with pytest.raises(ValidationError) as exc:
        tt.validate_answer(instances_answer([two_dogs[0], ("cat", "#112233", (20, 20, 30, 30))]), LABELS)
    assert exc.value.field == f"{where}.instances[1].color"
    answers = [tt.validate_answer(instances_answer(two_dogs), LABELS)] * 2 + \
        [tt.validate_answer(instances_answer(two_dogs[:1]), LABELS)]  # the third worker missed one dog
    (label,) = tt.consolidate(_objects([answers]), {0}, LABELS, algorithm="instance-consensus", workers_per_object=3)
    anns = label.value["annotations"]
    assert [(a["left"], a["top"], a["width"], a["height"]) for a in sorted(anns, key=lambda a: a["left"])] == \
        [(2, 2, 10, 10), (20, 20, 25, 15)]
    for a in anns:
        assert a["segmentation"]["size"] == [40, 50]
        assert rle_area(a["segmentation"]) == a["width"] * a["height"]  # the whole rectangle, nothing else
    assert label.metadata["class-map"] == {"0": "dog"} and tt.gt_type == "labelloop/instance-segmentation"


def test_chained_adjustment_task_input_starts_from_the_earlier_labels():
    config = {"labels": [{"label": x} for x in LABELS], "auditLabelAttributeName": "boxes"}
    line = {"source-ref": "s3://b/1.jpg",
            "boxes": {"annotations": [{"class_id": 2, "left": 1, "top": 2, "width": 3, "height": 4}],
                      "image_size": [{"width": 10, "height": 10, "depth": 3}]},
            "boxes-metadata": {"class-map": {"2": "ball"}}}
    tt = get_task_type("bounding-box-adjustment")
    assert tt.line_checker(config, "fixed")({"source-ref": "s3://b/1.jpg"}).startswith("has no earlier label")
    assert tt.task_input(line, config, "", "")["initialValue"] == [
        {"label": "ball", "left": 1, "top": 2, "width": 3, "height": 4}]
    seg = get_task_type("semantic-segmentation-adjustment")
    seg_line = {"source-ref": "s3://b/1.jpg", "areas-ref": "s3://out/0.png", "areas-ref-metadata": {
        "internal-color-map": {"0": {"class-name": "BACKGROUND", "hex-color": "#ffffff"},
                               "1": {"class-name": "dog", "hex-color": "#1f77b4"}}}}
    got = seg.task_input(seg_line, {**config, "auditLabelAttributeName": "areas-ref"}, "", "")["initialValue"]
    assert got == {"src": "s3://out/0.png", "labelMappings": {"dog": {"color": "#1f77b4"}}}
    verify = get_task_type("polygon-verification")
    assert verify.template == "polygon-verification" and verify.gt_type == "groundtruth/label-verification"
