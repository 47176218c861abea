"""The image drawing elements in headless Chromium: draw two boxes and relabel one, adjust an initial box, place
keypoints, draw a polygon, a line and a polyline, outline instances, paint a mask with the brush and erase part of
it (the PNG decoded back here), EXIF orientation; one bounding-box job through the real portal with its stored
answer; screenshots of each tool on a laptop and a phone (docs/screenshots/)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from labelloop.db.models import Task
from labelloop.render.builtin import builtin_template
from labelloop.render.liquid import render_task_template
from labelloop.services import jobs
from tests.conftest import write_manifest
from tests.servers import static_site

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "src/labelloop/web/static"
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs/screenshots"
PAGE = """<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>task</title><link rel="stylesheet" href="/frame.css"><script type="module" src="/crowd/index.js"></script>
</head><body>{body}<script>window.__answers = [];
document.addEventListener('crowd-submit', e => window.__answers.push(e.detail.answer));</script></body></html>"""
LABELS = ["dog", "cat", "bird"]


def _png(width: int, height: int) -> bytes:
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (width, height), "#dfe7ee")
    d = ImageDraw.Draw(im)
    for i in range(0, width, 40):
        d.line([(i, 0), (i, height)], fill="#c8d3dc")
    d.ellipse([width * 0.15, height * 0.2, width * 0.45, height * 0.7], fill="#b07a45")
    d.rectangle([width * 0.55, height * 0.35, width * 0.9, height * 0.85], fill="#5f8f5a")
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def _exif_jpeg() -> bytes:
    """300x200 pixels stored, EXIF orientation 6 (turn 90° clockwise to view): shown 200 wide, 300 high."""
    from PIL import Image

    im = Image.new("RGB", (300, 200), "#88aacc")
    im.paste((200, 40, 40), (0, 0, 60, 40))  # a red mark at the stored top-left: the viewed top-right
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif.tobytes(), quality=95)
    return out.getvalue()


class Site:
    """Loopback server: the static folder at /, rendered pages at /task/<name>.html, images at /img/<name>."""

    def __init__(self):
        self.pages = {"/img/scene.png": ("image/png", _png(640, 480)),
                      "/img/big.png": ("image/png", _png(1600, 1200)),
                      "/img/turned.jpg": ("image/jpeg", _exif_jpeg())}
        self.server, self.base = static_site(STATIC, self.pages)

    def add(self, name: str, body: str) -> str:
        self.pages[f"/task/{name}.html"] = ("text/html; charset=utf-8", PAGE.format(body=body).encode())
        return f"{self.base}/task/{name}.html"

    def builtin(self, name: str, template: str, task_input: dict) -> str:
        grant = lambda uri: self.base + "/img/" + uri.rsplit("/", 1)[-1]  # noqa: E731
        return self.add(name, render_task_template(builtin_template(template), task_input=task_input, grant=grant))


@pytest.fixture(scope="module")
def site():
    s = Site()
    yield s
    s.server.shutdown()
    s.server.server_close()


@pytest.fixture
def tool(browser, site):
    """open(url, element, phone=False) -> Tool; page errors fail the test."""
    contexts, errors = [], []

    def open_(url, element, phone=False):
        size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 800}
        context = browser.new_context(viewport=size, is_mobile=phone, has_touch=phone)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_function(f"() => document.querySelector('{element}')?._ready")
        return Tool(page, element)

    yield open_
    for c in contexts:
        c.close()
    assert errors == []


class Tool:
    """A drawing element on a page, driven by the real mouse and keyboard in image coordinates."""

    def __init__(self, page, element, frame=None, offset=(0.0, 0.0)):
        self.page, self.frame, self.offset = page, frame or page, offset
        self.el = self.frame.locator(element)

    def xy(self, x, y):
        """Page coordinates of image pixel (x, y) at the element's current zoom."""
        px, py = self.el.evaluate("""(e, [x, y]) => { const r = e.shadowRoot.querySelector('.stage').getBoundingClientRect();
          return [r.left + e.ox + x * e.k, r.top + e.oy + y * e.k]; }""", [x, y])
        return px + self.offset[0], py + self.offset[1]

    def click(self, x, y, **kw):
        self.page.mouse.click(*self.xy(x, y), **kw)

    def drag(self, a, b, steps=6):
        self.page.mouse.move(*self.xy(*a))
        self.page.mouse.down()
        self.page.mouse.move(*self.xy(*b), steps=steps)
        self.page.mouse.up()

    def keys(self, *keys):
        for k in keys:
            self.page.keyboard.press(k)

    @property
    def answer(self):
        return self.el.evaluate("e => e.answer")

    def submitted(self):
        return self.page.evaluate("window.__answers")

    def shoot(self, name):
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(DOCS_SHOTS / f"{name}.png"))


def _near(got, want, tol=2):
    return all(abs(got[k] - want[k]) <= tol for k in want)


def test_boxes_draw_relabel_adjust_delete_undo_and_submit(site, tool):
    initial = [{"label": "cat", "left": 360, "top": 170, "width": 200, "height": 220}]
    url = site.builtin("boxes", "object-detection", {"taskObject": "s3://b/scene.png", "labels": LABELS,
                                                     "keys": [None] * 3, "initialValue": initial})
    t = tool(url, "crowd-bounding-box")
    assert t.el.evaluate("e => e.shadowRoot.querySelectorAll('[role=toolbar] button[aria-label], [role=toolbar] .lab').length") >= 8
    # two boxes; the second relabeled cat with the key 2 (a new box is selected)
    t.drag((100, 100), (220, 300))
    t.drag((40, 380), (140, 460))
    t.keys("2")
    boxes = t.answer["boundingBoxes"]
    assert [b["label"] for b in boxes] == ["cat", "dog", "cat"]
    assert _near(boxes[1], {"left": 100, "top": 100, "width": 120, "height": 200})
    assert _near(boxes[2], {"left": 40, "top": 380, "width": 100, "height": 80})
    # the initial box: its bottom-right handle pulled out, then it is moved by its body
    t.click(450, 250)  # select it
    t.drag((560, 390), (600, 420))
    t.drag((450, 250), (440, 240))
    assert _near(t.answer["boundingBoxes"][0], {"left": 350, "top": 160, "width": 240, "height": 250})
    # Tab walks the boxes; Delete removes the selected; Ctrl+Z brings it back, Ctrl+Shift+Z removes it again
    t.el.evaluate("e => e.focus()")
    t.keys("Escape", "Tab", "Tab")
    assert t.el.evaluate("e => e.shapes.indexOf(e.sel)") == 1
    t.keys("Delete")
    assert len(t.answer["boundingBoxes"]) == 2
    t.keys("Control+z")
    assert len(t.answer["boundingBoxes"]) == 3
    t.keys("Control+Shift+z", "Control+z")
    # zoom at the cursor keeps the image point under it; coordinates stay image pixels
    before = t.xy(100, 100)
    t.page.mouse.move(*before)
    t.page.mouse.wheel(0, -200)
    t.page.wait_for_function("() => document.querySelector('crowd-bounding-box').k > 1.1")
    after = t.xy(100, 100)
    assert abs(after[0] - before[0]) < 2 and abs(after[1] - before[1]) < 2
    t.keys("0")
    t.shoot("bounding-box")
    t.el.evaluate("e => e.focus()")
    t.keys("Enter")
    (answer,) = t.submitted()
    body = answer["boundingBox"]
    assert body["inputImageProperties"] == {"height": 480, "width": 640}
    assert body["initialValueModified"] is True
    assert [b["label"] for b in body["boundingBoxes"]] == ["cat", "dog", "cat"]


def _decode(b64):
    from PIL import Image

    im = Image.open(io.BytesIO(base64.b64decode(b64)))
    return im.convert("RGB")


def _hex(rgb):
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def test_keypoints_polygon_line_and_polyline(site, tool):
    def page(element, name, labels, initial=None):
        attrs = f'labels=\'{json.dumps(labels)}\' src="{site.base}/img/scene.png" header="{name}"'
        if initial is not None:
            attrs += f" initial-value='{json.dumps(initial)}'"
        return tool(site.add(name, f"<crowd-form><{element} name=\"{name}\" {attrs}></{element}></crowd-form>"), element)

    # keypoints: three clicks, the label moves on by itself; the second person's nose goes to instance 1
    t = page("crowd-keypoint", "pose", ["nose", "left_eye", "right_eye"])
    for x, y in [(200, 200), (180, 180), (220, 180), (500, 300)]:
        t.click(x, y)
    t.drag((180, 180), (170, 175))  # a point dragged to its place
    pts = t.answer["keypoints"]
    assert [(p["label"], p["instance"]) for p in pts] == [("nose", 0), ("left_eye", 0), ("right_eye", 0), ("nose", 1)]
    assert _near(pts[1], {"x": 170, "y": 175}) and _near(pts[3], {"x": 500, "y": 300})
    t.shoot("keypoint")

    # a polygon: four clicks, then the first vertex again closes it; one initial polygon kept as it is
    pre = [{"label": "cat", "vertices": [{"x": 400, "y": 200}, {"x": 560, "y": 200}, {"x": 560, "y": 400}]}]
    t = page("crowd-polygon", "outline", LABELS, pre)
    for x, y in [(100, 100), (280, 110), (290, 330), (90, 320), (100, 100)]:
        t.click(x, y)
    body = t.answer
    assert body["polygons"][0] == pre[0] and body["polygons"][1]["label"] == "dog"
    assert all(_near(v, w) for v, w in zip(body["polygons"][1]["vertices"], [
        {"x": 100, "y": 100}, {"x": 280, "y": 110}, {"x": 290, "y": 330}, {"x": 90, "y": 320}], strict=True))
    assert body["initialValueModified"] is True  # a polygon was added
    t.shoot("polygon")
    t.keys("Enter")
    assert t.submitted() == [{"outline": body}]

    # a line by dragging, relabeled; a polyline of three clicks finished with a double-click
    t = page("crowd-line", "lanes", ["lane", "curb"])
    t.drag((50, 400), (600, 60))
    t.keys("2")
    (line,) = t.answer["lines"]
    assert line["label"] == "curb" and len(line["vertices"]) == 2 and _near(line["vertices"][1], {"x": 600, "y": 60})
    t.shoot("line")
    t = page("crowd-polyline", "paths", ["path"])
    t.click(60, 60)
    t.click(300, 200)
    t.page.mouse.dblclick(*t.xy(560, 90))
    (pl,) = t.answer["polylines"]
    assert len(pl["vertices"]) == 3 and _near(pl["vertices"][2], {"x": 560, "y": 90})
    t.shoot("polyline")


def test_semantic_mask_brush_erase_polygon_fill_undo_and_the_png(site, tool):
    url = site.builtin("mask", "semantic-segmentation", {
        "taskObject": "s3://b/scene.png", "labels": ["road", "car"], "keys": [None, None],
        "labelColors": {"road": "#1f77b4", "car": "#ff7f0e"}})
    t = tool(url, "crowd-semantic-segmentation")
    t.el.evaluate("e => e.setSize(30)")
    t.drag((100, 100), (300, 100), steps=10)  # road
    t.keys("2")
    t.drag((100, 300), (300, 300), steps=10)  # car
    t.keys("e")
    t.drag((200, 60), (200, 340), steps=10)  # the eraser cuts both strokes
    t.keys("p")
    for x, y in [(400, 50), (600, 50), (600, 200), (400, 200), (400, 50)]:
        t.click(x, y)
    counts = t.el.evaluate("e => e.counts")
    assert counts["car"] > 200 * 150  # the filled polygon
    t.keys("Control+z")
    assert t.el.evaluate("e => e.counts")["car"] < 200 * 40
    t.keys("Control+Shift+z")
    t.el.locator(".op").fill("40")
    assert t.el.evaluate("e => e.c1.style.opacity") == "0.4"
    t.shoot("semantic-segmentation")
    body = t.answer
    assert body["labelMappings"] == {"road": {"color": "#1f77b4"}, "car": {"color": "#ff7f0e"}}
    assert body["inputImageProperties"] == {"height": 480, "width": 640}
    im = _decode(body["labeledImage"]["pngImageData"])
    assert im.size == (640, 480)
    px = lambda x, y: _hex(im.getpixel((x, y)))  # noqa: E731
    assert px(130, 100) == "#1f77b4" and px(270, 300) == "#ff7f0e"  # painted
    assert px(200, 100) == "#ffffff" and px(200, 300) == "#ffffff"  # erased
    assert px(500, 120) == "#ff7f0e" and px(50, 450) == "#ffffff"  # filled; never painted
    assert {_hex(c) for _, c in im.getcolors()} == {"#ffffff", "#1f77b4", "#ff7f0e"}  # no blended edge colours
    t.el.evaluate("e => e.focus()")
    t.keys("Enter")
    assert list(t.submitted()[0]) == ["crowd-semantic-segmentation"]


def test_instances_each_get_a_colour_in_the_png(site, tool):
    url = site.builtin("instances", "instance-segmentation", {"taskObject": "s3://b/scene.png", "labels": LABELS,
                                                              "keys": [None] * 3})
    t = tool(url, "crowd-instance-segmentation")
    for x, y in [(100, 100), (280, 100), (280, 330), (100, 330)]:
        t.click(x, y)
    t.keys("Enter")  # Enter finishes the polygon; it does not submit the form
    assert t.submitted() == []
    for x, y in [(360, 170), (570, 170), (570, 400)]:
        t.click(x, y)
    t.click(360, 170)
    t.keys("1")
    body = t.answer
    assert [i["label"] for i in body["instances"]] == ["dog", "dog"]
    colors = [i["color"] for i in body["instances"]]
    assert len(set(colors)) == 2 and "#ffffff" not in colors
    im = _decode(body["labeledImage"]["pngImageData"])
    assert _hex(im.getpixel((190, 215))) == colors[0] and _hex(im.getpixel((530, 250))) == colors[1]
    assert _hex(im.getpixel((20, 20))) == "#ffffff"
    t.shoot("instance-segmentation")


def test_exif_orientation_is_applied(site, tool):
    url = site.builtin("turned", "object-detection", {"taskObject": "s3://b/turned.jpg", "labels": LABELS,
                                                      "keys": [None] * 3, "initialValue": []})
    t = tool(url, "crowd-bounding-box")
    t.drag((150, 10), (190, 30))
    assert t.answer["inputImageProperties"] == {"height": 300, "width": 200}
    # the red mark stored at the top-left is shown at the top-right
    rgb = t.el.evaluate("""e => { const d = e.dpr, [x, y] = [e.ox + 180 * e.k, e.oy + 45 * e.k];
      return [...e.c1.getContext('2d').getImageData(Math.round(x * d), Math.round(y * d), 1, 1).data].slice(0, 3); }""")
    assert rgb[0] > 150 and rgb[2] < 100, rgb


PHONE = [("bounding-box", "object-detection", "crowd-bounding-box",
          [{"label": "dog", "left": 90, "top": 90, "width": 220, "height": 260}]),
         ("polygon", "polygon", "crowd-polygon",
          [{"label": "dog", "vertices": [{"x": 100, "y": 100}, {"x": 280, "y": 110}, {"x": 290, "y": 330}]}]),
         ("keypoint", "keypoint", "crowd-keypoint", [{"label": "dog", "x": 200, "y": 200}]),
         ("semantic-segmentation", "semantic-segmentation", "crowd-semantic-segmentation", None),
         ("instance-segmentation", "instance-segmentation", "crowd-instance-segmentation", None)]


@pytest.mark.parametrize(("name", "template", "element", "initial"), PHONE, ids=[p[0] for p in PHONE])
def test_tools_fit_a_phone(site, tool, name, template, element, initial):
    url = site.builtin(f"phone-{name}", template, {"taskObject": "s3://b/scene.png", "labels": LABELS,
                                                   "keys": [None] * 3, "initialValue": initial})
    t = tool(url, element, phone=True)
    assert t.page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    right = t.el.evaluate("e => Math.max(...[...e.shadowRoot.querySelectorAll('button, input')].map(b => b.getBoundingClientRect().right))")
    assert right <= 390
    if element == "crowd-semantic-segmentation":
        t.drag((100, 200), (400, 250))
    t.shoot(f"{name}-phone")
    if element == "crowd-bounding-box":  # two fingers spread: zoom in, and no box drawn by the first finger
        cdp = t.page.context.new_cdp_session(t.page)
        (ax, ay), (bx, by) = t.xy(300, 240), t.xy(340, 240)

        def touch(kind, points):
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [
                {"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]})

        touch("touchStart", [(ax, ay)])
        touch("touchMove", [(ax - 5, ay)])
        touch("touchStart", [(ax - 5, ay), (bx, by)])
        for i in range(1, 6):
            touch("touchMove", [(ax - 5 - 12 * i, ay), (bx + 12 * i, by)])
        touch("touchEnd", [])
        assert t.el.evaluate("e => e.k") > 1.5 * t.el.evaluate("e => Math.min(e.W / e.iw, e.H / e.ih)")
        assert len(t.answer["boundingBoxes"]) == 1


def _portal_task(page, base, job, element):
    """Sign w1 in, open the job's first task: (Tool in the task frame, task id)."""
    page.goto(base + "/portal/login")
    page.fill("input[name=username]", "w1")
    page.fill("input[name=password]", "worker-password")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/portal")
    page.goto(f"{base}/portal/jobs/{job}")
    page.wait_for_function("() => document.querySelector('#task')?.dataset.taskId && document.querySelector('#task iframe')")
    frame = page.wait_for_selector("#task iframe").content_frame()
    frame.wait_for_function(f"() => document.querySelector('{element}')?._ready")
    box = page.locator("#task iframe").bounding_box()
    return Tool(page, element, frame, (box["x"], box["y"])), page.eval_on_selector("#task", "t => t.dataset.taskId")


def _stored(ctx, task_id):
    with ctx.engine.connect() as conn:
        return json.loads(conn.execute(select(Task.answer).where(Task.id == int(task_id))).scalar())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_bounding_box_job_in_the_portal_stores_the_answer(ctx, people, tmp_path, live_server, page):
    image = tmp_path / "scene.png"
    image.write_bytes(_png(640, 480))
    initial = [{"label": "cat", "left": 360, "top": 170, "width": 200, "height": 220}]
    manifest = write_manifest(tmp_path / "boxes.manifest", [{"source-ref": image.as_uri(), "initial-value": initial}])
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"document-version": "2018-11-28", "labels": [{"label": x} for x in LABELS]}))
    jobs.create_job(ctx, people["req"], jobs.JobSpec(
        name="boxes", task_type="bounding-box", label_attribute_name="boxes", input_manifest_uri=str(manifest),
        label_config_uri=str(labels), output_uri=str(tmp_path / "out"), team="crew", workers_per_object=1,
        task_time_limit_s=300))
    submitted = []
    page.on("request", lambda r: submitted.append(json.loads(r.post_data)) if r.url.endswith("/submit") else None)
    t, task_id = _portal_task(page, live_server, "boxes", "crowd-bounding-box")
    t.drag((100, 100), (220, 300))  # a new dog
    t.keys("3")  # relabeled bird
    t.click(450, 250)
    t.drag((560, 390), (600, 420))  # the initial cat made bigger
    page.screenshot(path=str(DOCS_SHOTS / "bounding-box-portal.png"))
    t.el.evaluate("e => e.focus()")
    t.keys("Enter")
    page.wait_for_selector("text=No more tasks in this job for you")
    body = submitted[-1]["answer"]["boundingBox"]
    assert [b["label"] for b in body["boundingBoxes"]] == ["cat", "bird"]
    assert _near(body["boundingBoxes"][0], {"left": 360, "top": 170, "width": 240, "height": 250})
    assert body["initialValueModified"] is True
    stored = _stored(ctx, task_id)
    assert stored["boundingBox"]["boundingBoxes"] == body["boundingBoxes"]
    assert stored["boundingBox"]["inputImageProperties"] == {"width": 640, "height": 480}


@pytest.mark.parametrize("template", ["object-detection", "object-detection-verification", "semantic-segmentation",
                                      "semantic-segmentation-verification", "polygon", "polygon-verification",
                                      "keypoint", "keypoint-verification", "instance-segmentation"])
def test_builtin_templates_render_their_element(template):
    from labelloop.core.elements import unbuilt_elements

    task_input = {"taskObject": "s3://b/scene.png", "labels": LABELS, "keys": [None, "c", None],
                  "initialValue": {"src": "s3://b/mask.png", "labelMappings": {"dog": {"color": "#1f77b4"}}}
                  if template == "semantic-segmentation" else [], "preview": "<svg></svg>"}
    html = render_task_template(builtin_template(template), task_input=task_input,
                                grant=lambda uri: "https://data.example/" + uri.rsplit("/", 1)[-1] + "?sig=a&b=1")
    assert unbuilt_elements(html) == []
    assert ("crowd-classifier" in html) == template.endswith("verification")
    if template == "semantic-segmentation":  # the mask's link, granted, inside the JavaScript-literal attribute
        assert 'src: &#34;https://data.example/mask.png?sig=a\\u0026b=1&#34;' in html


def test_a_mask_to_correct_is_read_by_colour_and_changes_are_flagged(site, tool):
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (640, 480), "#ffffff")
    ImageDraw.Draw(im).rectangle([0, 300, 639, 479], fill="#2ca02c")  # road, in the earlier job's colour
    out = io.BytesIO()
    im.save(out, "PNG")
    initial = {"labelMappings": {"road": {"color": "#2ca02c"}},
               "labeledImage": {"pngImageData": base64.b64encode(out.getvalue()).decode()}}
    url = site.add("mask-fix", f'''<crowd-form><crowd-semantic-segmentation name="fix" src="{site.base}/img/scene.png"
      labels='["road", "car"]' initial-value='{json.dumps(initial)}'></crowd-semantic-segmentation></crowd-form>''')
    t = tool(url, "crowd-semantic-segmentation")
    t.page.wait_for_function("() => document.querySelector('crowd-semantic-segmentation').counts.road > 0")
    assert t.el.evaluate("e => e.counts") == {"": 640 * 300, "road": 640 * 180, "car": 0}
    assert t.answer["initialValueModified"] is False
    t.keys("2")
    t.drag((100, 100), (200, 100))
    body = t.answer
    assert body["initialValueModified"] is True
    assert _hex(_decode(body["labeledImage"]["pngImageData"]).getpixel((10, 400))) == "#1f77b4"  # road: this task's colour


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_mask_to_correct_in_the_portal_is_read_through_its_data_link(ctx, people, tmp_path, live_server, page):
    from PIL import Image, ImageDraw

    image, mask = tmp_path / "scene.png", tmp_path / "mask.png"
    image.write_bytes(_png(640, 480))
    m = Image.new("RGB", (640, 480), "#ffffff")
    ImageDraw.Draw(m).rectangle([0, 300, 639, 479], fill="#2ca02c")
    m.save(mask)
    line = {"source-ref": image.as_uri(), "initial-value": {"src": mask.as_uri(),
                                                             "labelMappings": {"road": {"color": "#2ca02c"}}}}
    manifest = write_manifest(tmp_path / "masks.manifest", [line])
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"document-version": "2018-11-28", "labels": [{"label": "road"}, {"label": "car"}]}))
    jobs.create_job(ctx, people["req"], jobs.JobSpec(
        name="masks", task_type="semantic-segmentation", label_attribute_name="roads-ref",
        input_manifest_uri=str(manifest), label_config_uri=str(labels), output_uri=str(tmp_path / "out"),
        team="crew", workers_per_object=1, task_time_limit_s=300))
    t, task_id = _portal_task(page, live_server, "masks", "crowd-semantic-segmentation")
    t.frame.wait_for_function("() => document.querySelector('crowd-semantic-segmentation').counts.road > 0")
    assert t.el.evaluate("e => e.counts")["road"] == 640 * 180  # the mask's pixels, read across origins
    t.keys("2")
    t.drag((100, 100), (300, 120))
    page.screenshot(path=str(DOCS_SHOTS / "semantic-segmentation-portal.png"))
    t.el.evaluate("e => e.focus()")
    t.keys("Enter")
    page.wait_for_selector("text=No more tasks in this job for you")
    body = _stored(ctx, task_id)["crowd-semantic-segmentation"]
    assert body["initialValueModified"] is True
    png = _decode(body["labeledImage"]["pngImageData"])
    assert _hex(png.getpixel((10, 400))) == "#1f77b4" and _hex(png.getpixel((200, 110))) == "#ff7f0e"
