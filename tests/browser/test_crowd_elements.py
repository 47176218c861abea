"""Crowd elements in headless Chromium: built-in templates answer like Ground Truth, keyboard first."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelloop.render.builtin import builtin_template
from labelloop.render.liquid import render_task_template
from tests.servers import static_site

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "src/labelloop/web/static"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts/screenshots"

CAT_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200"><rect width="320" height="200" fill="#f4c27a"/><circle cx="160" cy="100" r="60" fill="#8a5a2b"/></svg>'
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>task</title>
<script type="module" src="/crowd/index.js"></script></head><body>{body}
<script>window.__answers = []; window.__invalid = [];
document.addEventListener('crowd-submit', e => window.__answers.push(e.detail.answer));
document.addEventListener('crowd-invalid', e => window.__invalid.push(e.detail));</script></body></html>"""
LABELS = ["cat", "dog", "قطة", "猫"]


class Site:
    """Loopback server: the static folder at /, rendered pages at /task/<n>.html, an image at /img/cat.svg."""

    def __init__(self):
        self.pages = {"/img/cat.svg": ("image/svg+xml", CAT_SVG)}
        self.server, self.base = static_site(STATIC, self.pages)

    def grant(self, uri: str) -> str:
        return self.base + "/img/" + uri.rsplit("/", 1)[-1]

    def add(self, name: str, source: str, task_input: dict) -> str:
        body = render_task_template(source, task_input=task_input, grant=self.grant)
        self.pages[f"/task/{name}.html"] = ("text/html; charset=utf-8", PAGE.format(body=body).encode())
        return f"{self.base}/task/{name}.html"


@pytest.fixture(scope="module")
def site():
    s = Site()
    yield s
    s.server.shutdown()
    s.server.server_close()


@pytest.fixture
def open_page(browser):
    pages, errors = [], []

    def open_(url):
        page = browser.new_page(viewport={"width": 1100, "height": 700})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_function("customElements.get('crowd-form') && document.querySelector('crowd-form').shadowRoot.innerHTML")
        pages.append(page)
        return page

    yield open_
    for p in pages:
        p.close()
    assert errors == []


def builtin_input(task_object: str, **extra) -> dict:
    return {"taskObject": task_object, "labels": LABELS, "keys": [None, None, None, None],
            "shortInstruction": "Pick the <b>animal</b>.", "fullInstruction": "<p>Look closely.</p>", **extra}


BUILTINS = [
    ("image-classification", "s3://bucket/cat.svg", ["2"], {"crowd-image-classifier": {"label": "dog"}}),
    ("image-classification-multilabel", "s3://bucket/cat.svg", ["1", "3"],
     {"crowd-image-classifier-multi-select": {"labels": ["cat", "قطة"]}}),
    ("text-classification", "مرحبا بالعالم — hello", ["2"], {"crowd-classifier": {"label": "dog"}}),
    ("text-classification-multilabel", "猫が好きです", ["4", "1"], {"crowd-classifier-multi-select": {"labels": ["猫", "cat"]}}),
]


@pytest.mark.parametrize(("task_type", "task_object", "keys", "expected"), BUILTINS, ids=[b[0] for b in BUILTINS])
def test_builtin_template_keyboard_pick_and_enter(site, open_page, task_type, task_object, keys, expected):
    page = open_page(site.add(task_type, builtin_template(task_type), builtin_input(task_object)))
    page.keyboard.press("Enter")  # nothing chosen yet: no answer, an error is shown
    assert page.evaluate("window.__answers") == []
    assert len(page.evaluate("window.__invalid")) == 1
    for key in keys:
        page.keyboard.press(key)
    if task_type == "text-classification":  # Arabic text runs right to left
        assert page.evaluate("document.querySelector('classification-target div').matches(':dir(rtl)')")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{task_type}.png"), full_page=True)
    page.keyboard.press("Enter")
    assert page.evaluate("window.__answers") == [expected]


def test_multiselect_key_toggles_off(site, open_page):
    url = site.add("multi-toggle", builtin_template("text-classification-multilabel"), builtin_input("x"))
    page = open_page(url)
    for key in ["1", "2", "1"]:
        page.keyboard.press(key)
    page.keyboard.press("Enter")
    assert page.evaluate("window.__answers") == [{"crowd-classifier-multi-select": {"labels": ["dog"]}}]


def test_custom_keys_and_object_categories(site, open_page):
    src = """<crowd-form><crowd-classifier name="pet" header="{{ task.input.h }}"
      categories='[{"label":"cat","key":"c"},{"label":"dog","key":"d"},"bird"]'>
      <classification-target>{{ task.input.t }}</classification-target></crowd-classifier></crowd-form>"""
    page = open_page(site.add("custom-keys", src, {"h": "Which?", "t": "meow"}))
    page.keyboard.press("d")
    assert page.evaluate("document.querySelector('crowd-classifier').value") == "dog"
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    assert page.evaluate("window.__answers") == [{"pet": {"label": "bird"}}]


def test_image_zoom_with_wheel_and_keys(site, open_page):
    page = open_page(site.add("zoom", builtin_template("image-classification"), builtin_input("s3://b/cat.svg")))
    page.wait_for_function("document.querySelector('crowd-image-classifier').shadowRoot.querySelector('img').complete")
    box = page.locator("crowd-image-classifier img").bounding_box()
    page.mouse.move(box["x"] + 50, box["y"] + 50)
    page.mouse.wheel(0, -100)
    page.wait_for_function("document.querySelector('crowd-image-classifier').zoom > 1")
    page.mouse.down()
    page.mouse.move(box["x"] + 90, box["y"] + 70)
    page.mouse.up()
    transform = page.evaluate("document.querySelector('crowd-image-classifier').shadowRoot.querySelector('img').style.transform")
    assert "scale(1.25)" in transform
    page.keyboard.press("0")
    assert page.evaluate("document.querySelector('crowd-image-classifier').zoom") == 1


# The tweet-feeling example of the Ground Truth docs (§6), plus the form elements' answer shapes.
CUSTOM = """<crowd-form>
  <crowd-instructions link-text="View instructions">
    <short-summary><p>Read the tweet.</p></short-summary>
    <detailed-instructions><p>Choose how the writer feels.</p></detailed-instructions>
    <positive-example><p>"I love it" is happy.</p></positive-example>
  </crowd-instructions>
  <crowd-classifier name='tweetFeeling' categories='{{ task.input.labels | to_json }}' header='{{ task.input.header }}'>
    <classification-target>{{ task.input.source }}</classification-target>
  </crowd-classifier>
  <crowd-checkbox name="flags" value="sarcasm">Sarcastic</crowd-checkbox>
  <crowd-checkbox name="flags" value="offensive" checked>Offensive</crowd-checkbox>
  <crowd-radio-group>
    <crowd-radio-button name="lang" value="en" checked>English</crowd-radio-button>
    <crowd-radio-button name="lang" value="other">Other</crowd-radio-button>
  </crowd-radio-group>
  <crowd-toggle-button name="unsure"></crowd-toggle-button>
  <crowd-slider name="intensity" min="0" max="10" step="1" value="3" pin editable></crowd-slider>
  <crowd-input name="comment" label="Comment" required></crowd-input>
  <crowd-text-area name="notes" label="Notes" char-counter max-length="50"></crowd-text-area>
  <input type="hidden" name="extra" value="x">
  <crowd-tabs><crowd-tab header="One">first</crowd-tab><crowd-tab header="Two">second</crowd-tab></crowd-tabs>
  <crowd-alert type="warning" dismissible>Careful</crowd-alert>
  <crowd-card heading="Card">body</crowd-card><crowd-badge label="3"></crowd-badge>
  <crowd-fab icon="add" label="Add"></crowd-fab><crowd-icon-button icon="close" label="Close"></crowd-icon-button>
  <crowd-modal link-text="More">Modal body</crowd-modal>
</crowd-form>"""
TWEET = {"source": "This is a sample text for classification", "labels": ["angry", "sad", "happy", "inconclusive"],
         "header": "What emotion is the speaker feeling?"}


def test_custom_template_answer_shapes(site, open_page):
    page = open_page(site.add("custom", CUSTOM, TWEET))
    page.keyboard.press("3")
    page.click("crowd-checkbox[value=sarcasm]")
    page.click("crowd-radio-button[value=other]")
    page.focus("crowd-toggle-button")
    page.keyboard.press(" ")
    page.focus("crowd-slider")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")  # comment is required and empty
    assert page.evaluate("window.__invalid.map(i => i.name)") == ["comment"]
    page.locator("crowd-input input").fill("fine")
    page.locator("crowd-text-area textarea").fill("a\nb")
    page.keyboard.press("Control+Enter")
    assert page.evaluate("window.__answers") == [{
        "tweetFeeling": {"label": "happy"},
        "flags": {"sarcasm": True, "offensive": True},
        "lang": {"en": False, "other": True},
        "unsure": {"on": True},
        "intensity": 5,
        "comment": "fine",
        "notes": "a\nb",
        "extra": "x",
    }]
    page.click("crowd-instructions >> button[data-open]")
    assert page.locator("crowd-instructions dialog").is_visible()
    page.keyboard.press("Escape")
    page.click("crowd-tabs >> [data-t='1']")
    assert page.locator("crowd-tab[header=One]").is_hidden()


def test_submit_button_and_onsubmit(site, open_page):
    src = """<crowd-form onsubmit="document.getElementById('h').value = 'set by onsubmit'">
      <input type="hidden" id="h" name="h"><crowd-input name="q" value="pre"></crowd-input></crowd-form>"""
    page = open_page(site.add("onsubmit", src, {}))
    page.click("crowd-form >> crowd-button")
    page.evaluate("document.querySelector('crowd-form').submit()")
    assert page.evaluate("window.__answers") == [{"h": "set by onsubmit", "q": "pre"}] * 2


XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> \' onmouseover="window.__pwned=3'


@pytest.mark.parametrize("task_type", ["text-classification", "image-classification-multilabel"])
def test_task_input_is_shown_as_text_and_never_runs(site, open_page, task_type):
    task_input = builtin_input(XSS if task_type.startswith("text") else "s3://b/cat.svg")
    task_input["labels"] = [XSS, "ok"]
    page = open_page(site.add(f"xss-{task_type}", builtin_template(task_type), task_input))
    tag = "crowd-classifier" if task_type.startswith("text") else "crowd-image-classifier-multi-select"
    page.hover(f"{tag} [data-i='0']")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    assert page.evaluate("window.__pwned") is None
    assert XSS in page.locator(f"{tag} [data-i='0']").inner_text()
    if task_type.startswith("text"):
        assert XSS in page.locator("classification-target").inner_text()
    answer = page.evaluate("window.__answers")[0]
    assert next(iter(answer.values())) in ({"label": XSS}, {"labels": [XSS]})
