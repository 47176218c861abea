"""Judging results in the console: the grid's filters and sorting, one object's history, a hand correction
(in the output manifest and the audit trail), and the downloads (output manifest from local disk and from
S3, the answers CSV that ``labelloop consolidate`` reads). The browser test at the end walks the whole
console while workers label a job through HTTP."""

from __future__ import annotations

import csv
import io
import json
import threading
import uuid
from pathlib import Path

import pytest

from labelloop.core.consolidation.crowd_csv import read_answers
from labelloop.services.background.runner import run_background_once
from labelloop.services.users import issue_token
from tests.browser.conftest import browser, live_server, page  # noqa: F401  (the browser fixtures)
from tests.console.helpers import csrf_of, labeled_job, session
from tests.waiting import GUARD_S


def _objects_on(html: str) -> list[int]:
    return [int(x.split('"')[0]) for x in html.split('data-object="')[1:]]


def test_the_grid_filters_by_label_confidence_disagreement_and_worker(app, api, ctx, clock, people, text_job_spec):
    labeled_job(api, ctx, clock, text_job_spec)
    req = session(app, "req", "req-password")
    base = "/console/jobs/reviews/results"
    html = req.get(base).text
    assert _objects_on(html) == [0, 1, 2, 3, 4, 5]
    assert "review number 3" in html and "w3: negative" in html and "confidence 0.89" in html
    assert _objects_on(req.get(base + "?disagreement=1").text) == [0]
    assert _objects_on(req.get(base + "?below=0.9").text) == [0]  # 0.8941 on object 0, 0.9983 elsewhere
    assert _objects_on(req.get(base + "?sort=-labeled_at").text)[-1] == 0  # all labeled at once: by position
    assert _objects_on(req.get(base + "?sort=-position").text) == [5, 4, 3, 2, 1, 0]
    assert _objects_on(req.get(base + "?label=negative").text) == []
    assert _objects_on(req.get(base + "?label=positive&worker=w3").text) == [0, 1, 2, 3, 4, 5]
    for bad, field in (("?label=maybe", "label"), ("?worker=nobody", "worker"), ("?sort=confidence", "sort"),
                       ("?status=lost", "status")):
        r = req.get(base + bad)
        assert r.status_code == 400 and field in r.text, (bad, r.text[-400:])


def test_a_hand_correction_is_in_the_output_and_the_audit_trail(app, api, ctx, clock, people, text_job_spec,
                                                                tmp_path):
    labeled_job(api, ctx, clock, text_job_spec)
    req = session(app, "req", "req-password")
    obj = req.get("/console/jobs/reviews/objects/0").text
    assert "w3" in obj and "negative" in obj and "Correct the label by hand" in obj
    token = csrf_of(req)
    assert req.post("/console/jobs/reviews/objects/0/label", data={"csrf": token, "label": "maybe"}).status_code == 400
    assert req.post("/console/jobs/reviews/objects/0/label", data={"label": "negative"}).status_code == 403  # no CSRF
    r = req.post("/console/jobs/reviews/objects/0/label", data={"csrf": token, "label": "negative"})
    assert r.status_code == 303 and r.headers["location"].endswith("/objects/0?saved=1")
    run_background_once(ctx, force_output=True)
    out = (tmp_path / "out" / "reviews" / "manifests" / "output" / "output.manifest").read_text().splitlines()
    first = json.loads(out[0])
    meta = first["sentiment-metadata"]
    assert first["sentiment"] == 1 and meta["class-name"] == "negative" and meta["human-annotated"] == "yes"
    assert meta["labelloop-corrected-by"] == "req" and meta["labelloop-corrected-from"] == "positive"
    assert json.loads(out[1])["sentiment-metadata"].get("labelloop-corrected-by") is None
    html = req.get("/console/jobs/reviews/objects/0").text
    assert "corrected by req" in html and "label.corrected" in html and "before: positive; after: negative" in html
    assert _objects_on(req.get("/console/jobs/reviews/results?label=negative").text) == [0]
    events = api("req").get("/api/v1/events", params={"job": "reviews", "kind": "label.corrected"}).json()
    found = events["events"] if isinstance(events, dict) else events
    assert [(e["actor"], e["dataset_object_id"]) for e in found] == [("req", 0)]


def test_downloads_stream_the_output_manifest_and_the_answers_csv(app, api, ctx, clock, people, text_job_spec,
                                                                  tmp_path):
    labeled_job(api, ctx, clock, text_job_spec)
    req = session(app, "req", "req-password")
    html = req.get("/console/jobs/reviews/downloads").text
    assert "Output manifest" in html and "18 answers" in html
    r = req.get("/console/jobs/reviews/downloads/output.manifest")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert r.content == (tmp_path / "out" / "reviews" / "manifests" / "output" / "output.manifest").read_bytes()
    r = req.get("/console/jobs/reviews/downloads/answers.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    path = tmp_path / "answers.csv"
    path.write_bytes(r.content)
    answers = read_answers(path)
    assert len(answers) == 18 and ("0", "w3", "negative") in answers and ("5", "w1", "positive") in answers
    assert next(csv.reader(io.StringIO(r.text))) == ["question", "worker", "answer"]


@pytest.mark.s3
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # storage, not the database, is under test
def test_the_output_manifest_downloads_from_s3(app, api, ctx, clock, people, text_job_spec, allow_storage,
                                               monkeypatch):
    boto3 = pytest.importorskip("boto3")
    pytest.importorskip("moto.server")
    import fsspec

    from tests.servers import moto_s3

    for k, v in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                 ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(k, v)
    bucket = f"acme-{uuid.uuid4().hex[:8]}"  # moto's buckets live as long as the process: one of its own
    with moto_s3() as endpoint:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        client.create_bucket(Bucket=bucket)
        allow_storage(f"s3://{bucket}")
        fsspec.config.conf.pop("s3", None)
        ctx.storage.s3_endpoint_url = endpoint
        api("req").post("/api/v1/jobs", json=text_job_spec(name="ins3", n=2, output_uri=f"s3://{bucket}/out",
                                                           workers_per_object=1))
        req = session(app, "req", "req-password")
        r = req.get("/console/jobs/ins3/downloads/output.manifest")
        assert r.status_code == 404 and "output manifest does not exist" in r.text  # not written yet
        run_background_once(ctx, force_output=True)
        r = req.get("/console/jobs/ins3/downloads/output.manifest")
        body = client.get_object(Bucket=bucket, Key="out/ins3/manifests/output/output.manifest")["Body"].read()
        assert r.status_code == 200 and r.content == body and b"review number 1" in body
        assert "Output manifest</a>" in req.get("/console/jobs/ins3/downloads").text


# --- in the browser ----------------------------------------------------------------------------------------

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DIGITS = 12


def _digit_job(api, tmp_path) -> list[int]:
    """An image-classification job of ``DIGITS`` handwritten digits (scikit-learn's, scaled up): the truths."""
    from PIL import Image
    from sklearn.datasets import load_digits

    from tests.conftest import write_manifest

    digits = load_digits()
    lines = []
    for i in range(DIGITS):
        path = tmp_path / f"digit-{i}.png"
        Image.fromarray((255 - digits.images[i] * 15).astype("uint8")).resize(
            (96, 96), Image.Resampling.NEAREST).save(path)
        lines.append({"source-ref": path.as_uri()})
    manifest = write_manifest(tmp_path / "digits.manifest", lines)
    labels = tmp_path / "digit-labels.json"
    labels.write_text(json.dumps({"document-version": "2018-11-28",
                                  "labels": [{"label": str(d), "key": str(d)} for d in range(10)]}))
    r = api("req").post("/api/v1/jobs", json={
        "name": "digits", "task_type": "image-classification", "label_attribute_name": "digit",
        "input_manifest_uri": str(manifest), "label_config_uri": str(labels), "output_uri": str(tmp_path / "out"),
        "team": "crew", "workers_per_object": 3, "task_time_limit_s": 120, "price_per_task_usd": 0.04,
        "title": "Which digit is this?"})
    assert r.status_code == 201, r.text
    return [int(t) for t in digits.target[:DIGITS]]


def _label_through_http(base: str, tokens: dict[str, str], truths: list[int], ctx, clock) -> None:
    """Three workers take and answer every task through the HTTP API while the page watches; w3 is careless
    (a wrong digit on every third object), w2 on one object; the background consolidates as it goes."""
    import httpx

    wrong = {"w1": set(), "w2": {4}, "w3": set(range(0, DIGITS, 3))}
    clients = {w: httpx.Client(base_url=base, headers={"Authorization": f"Bearer {t}"}, timeout=60)
               for w, t in tokens.items()}
    try:
        busy = set(clients)
        while busy:  # the three take turns, one task each, so objects get their answers over time
            for worker in sorted(busy):
                r = clients[worker].post("/api/v1/worker/jobs/digits/next-task")
                if r.status_code == 204:
                    busy.discard(worker)
                    continue
                assert r.status_code == 200, r.text
                task = r.json()
                i = task["dataset_object_id"]
                digit = (truths[i] + 1) % 10 if i in wrong[worker] else truths[i]
                clock.advance(20)
                s = clients[worker].post(f"/api/v1/worker/tasks/{task['task_id']}/submit",
                                         json={"answer": {"crowd-image-classifier": {"label": str(digit)}}})
                assert s.status_code == 200, s.text
            run_background_once(ctx, force_output=True)
    finally:
        for c in clients.values():
            c.close()
    clock.advance(1)
    run_background_once(ctx, force_output=True)


def _shot(pg, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _no_serious_violations(pg) -> None:
    from tests.axe import serious_violations

    found = serious_violations(pg)
    assert found == [], "\n".join(found)


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_watch_judge_correct_download_and_block_in_the_browser(ctx, clock, people, api, live_server, page,  # noqa: F811
                                                               browser, tmp_path, allow_storage):  # noqa: F811
    allow_storage(str(tmp_path))
    truths = _digit_job(api, tmp_path)
    run_background_once(ctx, force_output=True)
    base = live_server
    page.set_default_timeout(GUARD_S * 1000)  # waits are on conditions; the guard only stops a hang
    problems: list[str] = []  # script errors and CSP refusals (an inline style or script would be one)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(base + "/portal/login")
    page.fill("input[name=username]", "req")
    page.fill("input[name=password]", "req-password")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/console")
    assert page.locator("tr[data-job=digits] .labeled").inner_text().strip() == f"0 / {DIGITS}"
    _no_serious_violations(page)

    # watch the job while three workers label it through HTTP: the counters change without a reload
    page.click("a[href='/console/jobs/digits']")
    page.wait_for_selector("#c-labeled")
    assert page.locator("#c-labeled").inner_text().startswith("0")
    tokens = {w: issue_token(ctx, people[w]) for w in ("w1", "w2", "w3")}
    errors: list[BaseException] = []

    def work() -> None:
        try:
            _label_through_http(base, tokens, truths, ctx, clock)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    page.wait_for_function(f"() => document.querySelector('#c-labeled').textContent.trim().startsWith('{DIGITS}')",
                           timeout=GUARD_S * 1000)
    worker.join(GUARD_S)
    assert not errors, errors
    assert page.locator("#c-answers").inner_text().strip() == str(3 * DIGITS)
    assert page.locator("#c-cost").inner_text().startswith("$1.44")  # 36 answers x $0.04
    page.wait_for_selector("#workers-table [data-worker=w3]")
    page.click("#workers-table a[data-sort=agreement]")
    page.wait_for_selector("#workers-table th[aria-sort=ascending] a[data-sort='-agreement']")
    assert page.locator("#workers-table tbody tr").first.get_attribute("data-worker") == "w3"  # agrees least
    _no_serious_violations(page)
    _shot(page, "console-job")

    # judge: the results grid, filtered to low confidence
    page.click("a:has-text('Results')")
    page.wait_for_selector(".results-grid")
    assert page.locator(".result").count() == DIGITS
    page.select_option("select[name=below]", "0.99")
    page.click("button:has-text('Apply')")
    page.wait_for_url("**below=0.99**")
    shown = [int(x) for x in page.eval_on_selector_all(".result", "els => els.map(e => e.dataset.object)")]
    assert shown == [0, 3, 4, 6, 9]  # the objects a worker answered wrongly: the only ones not unanimous
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    _no_serious_violations(page)
    _shot(page, "console-results")

    # open one object, correct its label by hand
    first = page.locator(".result").first
    position = int(first.get_attribute("data-object"))
    current = first.locator(".label").inner_text().strip()
    other = "7" if current != "7" else "1"
    first.locator("a.object-link").click()
    page.wait_for_selector("text=Correct the label by hand")
    assert page.locator(".history li").count() >= 4  # created/leased/answered/labeled events of this object
    page.check(f"input[name=label][value='{other}']")
    page.click("button:has-text('Save correction')")
    page.wait_for_selector("text=corrected by req")
    assert page.locator("#current-label").inner_text().strip() == other
    assert "label.corrected" in page.locator(".history").inner_text()
    _no_serious_violations(page)
    _shot(page, "console-object")

    # downloads: the output manifest (written again with the correction) and the answers CSV
    run_background_once(ctx, force_output=True)
    page.goto(f"{base}/console/jobs/digits/downloads")
    _no_serious_violations(page)
    _shot(page, "console-downloads")
    with page.expect_download() as got:
        page.click("a:has-text('Output manifest')")
    lines = [json.loads(x) for x in Path(got.value.path()).read_text(encoding="utf-8").splitlines()]
    assert len(lines) == DIGITS
    corrected = lines[position]["digit-metadata"]
    assert corrected["class-name"] == other and corrected["labelloop-corrected-by"] == "req"
    assert corrected["labelloop-corrected-from"] == current
    with page.expect_download() as got:
        page.click("a:has-text('Answers CSV')")
    answers = read_answers(got.value.path())
    assert len(answers) == 3 * DIGITS and {w for _, w, _ in answers} == {"w1", "w2", "w3"}
    assert ("0", "w3", str((truths[0] + 1) % 10)) in answers

    # block the careless worker from the job page (a confirmation first)
    page.goto(f"{base}/console/jobs/digits")
    page.wait_for_selector("#workers-table [data-worker=w3]")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#workers-table [data-worker=w3] button:has-text('Block')")
    page.wait_for_selector("#workers-table [data-worker=w3] button:has-text('Unblock')")
    w3 = next(w for w in api("req").get("/api/v1/jobs/digits/quality").json()["workers"] if w["worker"] == "w3")
    assert w3["blocked"]

    assert problems == []

    # the same pages on a tablet and a phone
    cookies = page.context.cookies()
    for name, viewport in (("tablet", {"width": 820, "height": 1180}), ("phone", {"width": 390, "height": 844})):
        small = browser.new_context(viewport=viewport, has_touch=True, is_mobile=name == "phone")
        small.add_cookies(cookies)
        pg = small.new_page()
        for path, shot in (("/console", "console-jobs"), ("/console/jobs/digits", "console-job"),
                           ("/console/jobs/digits/results", "console-results")):
            pg.goto(base + path)
            pg.evaluate("() => document.querySelectorAll('img[loading=lazy]').forEach(i => { i.loading = 'eager'; })")
            pg.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
            pg.wait_for_load_state("networkidle")
            _shot(pg, f"{shot}-{name}")
            width = pg.evaluate("() => document.documentElement.scrollWidth")
            wide = pg.evaluate("() => [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect()"
                               ".right > document.documentElement.clientWidth + 1).slice(0, 3).map(e => e.outerHTML"
                               ".slice(0, 80))")
            assert width <= viewport["width"], (path, name, width, wide)  # nothing wider than the screen
        small.close()
    page.goto(base + "/console")
    _shot(page, "console-jobs")


def test_a_box_jobs_results_draw_the_label_over_the_image_the_browser_can_load(api, app, ctx, people, tmp_path):
    """The task type's preview (boxes drawn over the image) points at the console's data route, which reads the
    source-ref through storage: a local path or ``s3://`` URI is nothing a browser can load."""
    from PIL import Image

    from labelloop.services.background.runner import run_background_once
    from tests.conftest import write_labels, write_manifest

    Image.new("RGB", (40, 30), "white").save(tmp_path / "scene.png")
    manifest = write_manifest(tmp_path / "boxes.manifest", [{"source-ref": str(tmp_path / "scene.png")}])
    spec = {"name": "boxes", "task_type": "bounding-box", "label_attribute_name": "boxes",
            "input_manifest_uri": str(manifest), "label_config_uri": str(write_labels(tmp_path / "l.json", ["dog"])),
            "output_uri": str(tmp_path / "out"), "team": "crew", "workers_per_object": 1, "task_time_limit_s": 60,
            "task_availability_lifetime_s": 3600}
    assert api("req").post("/api/v1/jobs", json=spec).status_code == 201
    run_background_once(ctx)
    task = api("w1").post("/api/v1/worker/jobs/boxes/next-task").json()
    box = {"label": "dog", "left": 4, "top": 5, "width": 10, "height": 8}
    r = api("w1").post(f"/api/v1/worker/tasks/{task['task_id']}/submit", json={"answer": {"boundingBox": {
        "boundingBoxes": [box], "inputImageProperties": {"width": 40, "height": 30}}}})
    assert r.status_code == 200, r.text
    run_background_once(ctx, force_output=True)

    client = session(app, "req", "req-password")
    for path in ("/console/jobs/boxes/results", "/console/jobs/boxes/objects/0"):
        html = client.get(path).text
        assert '<image href="/console/jobs/boxes/objects/0/data"' in html, path
        assert str(tmp_path) not in html.split("<svg", 1)[1].split("</svg>", 1)[0], "no server path in the drawing"
        assert "<rect" in html.split("<svg", 1)[1], "the box is drawn"
    image = client.get("/console/jobs/boxes/objects/0/data")
    assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"
