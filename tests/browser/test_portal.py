"""The worker portal against the real server in headless Chromium: sign in, label by keyboard, release,
let a lease expire; a custom Ground Truth template with pre/post-annotation webhooks; escaping."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from labelloop.db.models import DataObject, Event, Task
from labelloop.services import jobs
from labelloop.services.background import run_background_once
from tests.browser.conftest import screenshot
from tests.conftest import write_manifest
from tests.servers import QuietHandler, serve_http

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

XSS = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\">"
ARABIC = "هذا الفيلم رائع جدا"


def _digits(tmp_path: Path, n: int) -> list[dict]:
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    lines = []
    for i in range(n):
        path = tmp_path / f"digit-{i}.png"
        Image.fromarray((255 - digits.images[i] * 15).astype("uint8")).resize((256, 256)).save(path)
        lines.append({"source-ref": path.as_uri(), "n": i})
    return lines


def _create(ctx, people, tmp_path, name, task_type, lines, labels, lan, **kw):
    manifest = write_manifest(tmp_path / f"{name}.manifest", lines)
    label_file = tmp_path / f"{name}-labels.json"
    label_file.write_text(json.dumps({"document-version": "2018-11-28", "labels": labels}))
    spec = jobs.JobSpec(name=name, task_type=task_type, label_attribute_name=lan, input_manifest_uri=str(manifest),
                        label_config_uri=str(label_file), output_uri=str(tmp_path / "out"), team="crew",
                        workers_per_object=1, task_time_limit_s=60, **kw)
    return jobs.create_job(ctx, people["req"], spec)


def _sign_in(page, base, username="w1", password="worker-password"):
    page.goto(base + "/portal/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/portal")


def _next_task(page, previous: str | None) -> str:
    """Wait until the portal shows a new task in its frame (the frame has loaded, its crowd-form is drawn)."""
    page.wait_for_function(
        "prev => { const t = document.querySelector('#task'); return t.dataset.taskId && t.dataset.taskId !== prev"
        " && t.querySelector('iframe'); }", arg=previous)
    _frame(page).wait_for_function("() => document.querySelector('crowd-form')?.shadowRoot?.innerHTML")
    return page.eval_on_selector("#task", "t => t.dataset.taskId")


def _frame(page):
    """The task frame (a sandboxed, opaque-origin document) of the labeling page."""
    return page.wait_for_selector("#task iframe").content_frame()


def test_worker_labels_by_keyboard_releases_and_survives_an_expired_lease(ctx, people, tmp_path, live_server, page,
                                                                          clock):
    _create(ctx, people, tmp_path, "digits", "image-classification", _digits(tmp_path, 6),
            [{"label": "zero"}, {"label": "one"}, {"label": "two"}], "digit", title="Which digit is this?",
            description="Pick the digit in the image.", keywords=["images"], price_per_task_usd=0.012,
            short_instruction="<p>Press the number of the label, then Enter.</p>")
    texts = ["A lovely, warm film.", XSS, ARABIC, "Dull and far too long.", "Great fun.", "Not for me.", "Superb."]
    _create(ctx, people, tmp_path, "reviews", "text-classification", [{"source": t} for t in texts],
            [{"label": "positive", "key": "p"}, {"label": "negative", "key": "n"}], "sentiment",
            title="Is this review positive?", description="Read a review, pick its sentiment.")
    page.clock.install()
    _sign_in(page, live_server)
    jobs_page = page.content()
    assert "Which digit is this?" in jobs_page and "$0.012 per task" in jobs_page and "6 tasks" in jobs_page
    screenshot(page, "portal-jobs")

    page.click("a[href='/portal/jobs/digits']")
    task_id = _next_task(page, None)
    frame = _frame(page)
    assert frame.locator("crowd-image-classifier").count() == 1
    src = frame.get_attribute("crowd-image-classifier", "src")
    assert src.startswith("/data/")
    frame.wait_for_function("() => [...document.querySelectorAll('crowd-image-classifier')]"
                            ".every(e => e.shadowRoot && e.shadowRoot.querySelector('img')?.naturalWidth > 0)")
    screenshot(page, "portal-task")
    for _ in range(5):
        page.keyboard.press("2")
        page.keyboard.press("Enter")
        task_id = _next_task(page, task_id)
    page.keyboard.press("?")
    assert page.locator("#shortcuts").is_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+R")  # asks
    page.keyboard.press("Shift+R")  # releases
    page.wait_for_selector("text=No more tasks in this job for you")

    page.goto(live_server + "/portal/jobs/reviews")
    task_id = _next_task(page, None)
    seen = []
    for _ in range(5):
        seen.append(_frame(page).inner_text("crowd-classifier"))
        page.keyboard.press("p")
        page.keyboard.press("Enter")
        task_id = _next_task(page, task_id)
    assert any(XSS in text for text in seen), "the script text is shown as text"
    assert page.evaluate("window.__pwned") is None, "and never runs"
    assert _frame(page).evaluate("window.__pwned") is None
    direction = _frame(page).evaluate("() => getComputedStyle(document.querySelector('[dir=auto]')).direction")
    assert direction in ("ltr", "rtl")
    # the sixth review: let its lease run out; the page says so and moves on to the seventh
    clock.advance(61)
    page.clock.fast_forward(61_000)
    page.wait_for_selector("text=ran out")
    task_id = _next_task(page, task_id)
    page.keyboard.press("n")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=No more tasks in this job for you")

    with ctx.engine.connect() as conn:
        statuses = dict(conn.execute(
            select(Task.status, func.count()).where(Task.worker_id == people["w1"].id).group_by(Task.status)).all())
        kinds = conn.execute(select(Event.kind).where(Event.worker_id == people["w1"].id)).scalars().all()
    assert statuses == {"submitted": 11, "released": 1, "expired": 1}
    assert kinds.count("task.released") == 1 and kinds.count("task.expired") == 1
    run_background_once(ctx)
    digits = jobs.describe_job(ctx, people["req"], "digits")
    assert digits.label_counters.human_labeled == 5 and digits.label_counters.unlabeled == 1
    first = json.loads(Path(digits.output_manifest_uri).read_text().splitlines()[0])
    assert first["digit"] == 1 and first["digit-metadata"]["class-name"] == "one"
    page.goto(live_server + "/portal")
    assert page.inner_text("#total-tasks") == "11"
    screenshot(page, "portal-history")


def test_phone_sized_window(ctx, people, tmp_path, live_server, browser):
    _create(ctx, people, tmp_path, "reviews", "text-classification", [{"source": "Short and sweet."}],
            [{"label": "positive"}, {"label": "negative"}], "sentiment", title="Is this review positive?")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    _sign_in(page, live_server)
    page.click("a[href='/portal/jobs/reviews']")
    _next_task(page, None)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, "no sideways scrolling on a phone"
    screenshot(page, "portal-phone")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=No more tasks in this job for you")
    context.close()


CUSTOM = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <p dir="auto" class="review">{{ task.input.text }}</p>
  <img id="thumb" src="{{ task.input.image | grant_read_access }}">
  <crowd-radio-group>
    <crowd-radio-button name="sentiment" value="positive">Positive</crowd-radio-button>
    <crowd-radio-button name="sentiment" value="negative">Negative</crowd-radio-button>
  </crowd-radio-group>
  <crowd-checkbox name="sarcastic" value="yes">Sarcastic</crowd-checkbox>
  <crowd-input name="comment" label="Comment"></crowd-input>
  <crowd-slider name="intensity" min="0" max="10" value="7"></crowd-slider>
</crowd-form>"""


class Hooks:
    """Pre- and post-annotation webhooks on loopback that answer with Ground Truth's Lambda JSON."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        hooks = self

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hooks.calls.append((self.path, body))
                answer = hooks.pre(body) if self.path == "/pre" else hooks.post(body)
                self.reply(json.dumps(answer).encode(), "application/json")

        self.server, self.base = serve_http(Handler)

    @staticmethod
    def pre(body):
        line = body["dataObject"]
        if line.get("broken"):
            return {"nonsense": True}
        return {"taskInput": {"text": line["source"], "image": line["image"]},
                "isHumanAnnotationRequired": "false" if line.get("skip") else True}

    @staticmethod
    def post(body):
        payload = json.loads(Path(body["payload"]["s3Uri"]).read_text())
        out = []
        for item in payload:
            answers = [json.loads(a["annotationData"]["content"]) for a in item["annotations"]]
            out.append({"datasetObjectId": item["datasetObjectId"], "consolidatedAnnotation": {"content": {
                body["labelAttributeName"]: {"sentiment": next(k for k, v in answers[0]["sentiment"].items() if v),
                                             "workers": len(answers)}}}})
        return out


def test_custom_template_with_pre_and_post_annotation_webhooks(ctx, people, tmp_path, live_server, page):
    hooks = Hooks()
    image = tmp_path / "poster.png"
    _digits(tmp_path, 1)[0]
    (tmp_path / "digit-0.png").rename(image)
    lines = [{"source": f"{XSS} what a film", "image": image.as_uri(), "id": "a"},
             {"source": "skip me", "image": image.as_uri(), "skip": True, "id": "b"},
             {"source": "broken", "image": image.as_uri(), "broken": True, "id": "c"}]
    manifest = write_manifest(tmp_path / "custom.manifest", lines)
    from labelloop.services import storage_policy

    storage_policy.allow(ctx, people["admin"], hooks.base)  # the hooks are on loopback: an admin lists them
    spec = jobs.JobSpec(name="custom-review", task_type="custom", label_attribute_name="review",
                        input_manifest_uri=str(manifest), output_uri=str(tmp_path / "out"), team="crew",
                        workers_per_object=1, ui_template=CUSTOM, pre_hook=hooks.base + "/pre",
                        post_hook=hooks.base + "/post", title="Review the review")
    job = jobs.create_job(ctx, people["req"], spec)
    run_background_once(ctx)  # the pre-annotation hook runs off the request path
    pre_calls = [b for p, b in hooks.calls if p == "/pre"]
    assert [c["dataObject"]["id"] for c in pre_calls] == ["a", "b", "c"]
    assert pre_calls[0]["version"] == "2018-10-16" and pre_calls[0]["labelingJobArn"].endswith("labeling-job/custom-review")

    _sign_in(page, live_server)
    page.click("a[href='/portal/jobs/custom-review']")
    _next_task(page, None)
    frame = _frame(page)
    assert XSS in frame.inner_text(".review") and frame.evaluate("window.__pwned") is None
    frame.wait_for_function("() => document.querySelector('#thumb').naturalWidth > 0")  # grant_read_access works
    link = frame.get_attribute("#thumb", "src")
    assert re.match(r"^/data/[\w-]+\.[\w-]+$", link)
    screenshot(page, "portal-custom")
    frame.click("crowd-radio-button[value=negative]")
    frame.click("crowd-checkbox[value=yes]")
    frame.locator("crowd-input input").fill("too sarcastic")
    frame.click("crowd-form >> crowd-button[form-action=submit]")
    page.wait_for_selector("text=No more tasks in this job for you")
    with ctx.engine.connect() as conn:
        answer = json.loads(conn.execute(select(Task.answer).where(Task.status == "submitted")).scalar_one())
    assert answer == {"sentiment": {"positive": False, "negative": True}, "sarcastic": {"yes": True},
                      "comment": "too sarcastic", "intensity": 7}

    run_background_once(ctx)
    post = [b for p, b in hooks.calls if p == "/post"]
    assert len(post) == 1 and post[0]["labelAttributeName"] == "review"
    assert set(post[0]) == {"version", "labelingJobArn", "labelCategories", "labelAttributeName", "roleArn", "payload",
                            "outputConfig", "maxHumanWorkersPerDataObject"}
    out = [json.loads(x) for x in Path(job.output_manifest_uri).read_text().splitlines()]
    assert out[0]["review"] == {"sentiment": "negative", "workers": 1}
    assert out[0]["review-metadata"]["type"] == "groundtruth/custom"
    assert out[0]["review-metadata"]["job-name"] == "labeling-job/custom-review"
    assert "review" not in out[1] and "review" not in out[2]
    described = jobs.describe_job(ctx, people["req"], "custom-review")
    assert described.status == "Completed"
    assert described.label_counters.failed_non_retryable_error == 1
    with ctx.engine.connect() as conn:
        failed = conn.execute(select(DataObject.failure_reason).where(DataObject.status == "failed")).scalar_one()
        event = conn.execute(select(Event.detail).where(Event.kind == "object.failed")).scalar_one()
    assert "taskInput" in failed and "taskInput" in event
