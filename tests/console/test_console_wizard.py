"""The create-job wizard through HTTP: each bad field gets its message at the field and nothing is created;
an uploaded manifest makes a job that serves tasks; clone prefills; the preview is the worker's frame; the
folder (automated data setup) makes the manifest; deleting a job from the console asks for its name."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from labelloop.services import data_setup
from labelloop.services.users import create_user
from labelloop.web.console.wizard import compose_full_instruction, split_full_instruction
from tests.console.helpers import csrf_of, session

MANIFEST = "".join(json.dumps({"source": f"review {i}"}) + "\n" for i in range(5)).encode()

# pages over HTTP: nothing here races, so one engine (the services beneath run on both in their own tests)
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _form(csrf: str, **over) -> dict:
    data = {"csrf": csrf, "name": "wizard-job", "source": "upload", "task_type": "text-classification",
            "label": ["good", "bad"], "label_key": ["g", "b"], "short_instruction": "<p>Is it kind?</p>",
            "full_instruction": "Read it all.", "good_examples": "<p>'Thanks!' is good</p>", "bad_examples": "",
            "workers_per_object": "1", "task_time_limit_s": "120", "availability_h": "24",
            "price_per_task_usd": "0.05", "team": "crew"}
    data.update(over)
    return data


def _field_error(html: str, field: str) -> str | None:
    m = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', html)
    return m.group(1) if m else None


@sqlite_only
def test_bad_fields_get_messages_at_the_field_and_nothing_is_created(app, api, people):
    req = session(app, "req", "req-password")
    csrf = csrf_of(req, "/console/create")
    r = req.post("/console/create", data=_form(csrf, name="bad name!", label=["only", ""], label_key=["o", "o"],
                                                workers_per_object="12", task_time_limit_s="soon",
                                                price_per_task_usd="-1", team=""))
    assert r.status_code == 400
    html = r.text
    assert "letters" in (_field_error(html, "name") or "").lower() or _field_error(html, "name")
    assert _field_error(html, "manifest_file") == "choose a manifest file (JSON Lines: one object per line)"
    assert "number" in _field_error(html, "task_time_limit_s")
    assert _field_error(html, "team")
    assert 'id="name" name="name" value="bad name!"' in html and 'aria-invalid="true" aria-describedby="name-error' in html
    assert 'id="error-summary"' in html and 'data-first-step="1"' in html
    # the schema's own limits, at their fields, once the form-only fields are right
    files = {"manifest_file": ("m.manifest", MANIFEST, "application/jsonl")}
    r = req.post("/console/create", data=_form(csrf, workers_per_object="12", price_per_task_usd="-1"), files=files)
    assert r.status_code == 400
    assert "less than or equal to 9" in _field_error(r.text, "workers_per_object")
    assert "greater than or equal to 0" in _field_error(r.text, "price_per_task_usd")
    token = re.search(r'name="upload_token" value="([^"]+)"', r.text).group(1)  # the upload is kept
    # create_job's own checks (the label configuration) come back at the labels
    r = req.post("/console/create", data=_form(csrf, upload_token=token, label=["only"], label_key=[""]))
    assert r.status_code == 400 and "at least 2 labels" in _field_error(r.text, "labels")
    r = req.post("/console/create", data=_form(csrf, upload_token=token, label_key=["g", "G"]))
    assert "given to two labels" in _field_error(r.text, "labels")
    assert api("req").get("/api/v1/jobs").json()["jobs"] == []


@sqlite_only
def test_an_uploaded_manifest_makes_a_job_that_serves_tasks(app, api, people):
    req = session(app, "req", "req-password")
    csrf = csrf_of(req, "/console/create")
    files = {"manifest_file": ("m.manifest", MANIFEST, "application/jsonl")}
    r = req.post("/console/create", data=_form(csrf), files=files)
    assert r.status_code == 303 and r.headers["location"] == "/console/jobs/wizard-job?created=1"
    job = api("req").get("/api/v1/jobs/wizard-job").json()
    assert (job["object_count"], job["workers_per_object"], job["task_time_limit_s"]) == (5, 1, 120)
    assert job["task_availability_lifetime_s"] == 86400 and job["price_per_task_usd"] == 0.05
    assert job["label_config"]["labels"] == [{"label": "good", "key": "g"}, {"label": "bad", "key": "b"}]
    assert job["full_instruction"] == compose_full_instruction("Read it all.", "<p>'Thanks!' is good</p>", "")
    task = api("w1").post("/api/v1/worker/jobs/wizard-job/next-task").json()
    assert task["dataset_object_id"] == 0
    # a name already used: at the name field
    r = req.post("/console/create", data=_form(csrf), files=files)
    assert r.status_code == 400 and "already exists" in _field_error(r.text, "name")


@pytest.mark.parametrize("parts", [("Read.", "<p>g</p>", "<p>b</p>"), ("", "g", ""), ("x", "", "b"), ("only", "", "")])
def test_a_clone_gets_the_examples_back_out_of_the_full_instructions(parts):
    assert split_full_instruction(compose_full_instruction(*parts)) == parts


@sqlite_only
def test_clone_prefills_the_wizard(app, api, people, text_job_spec):
    api("req").post("/api/v1/jobs", json=text_job_spec(n=2, price_per_task_usd=0.2))
    req = session(app, "req", "req-password")
    html = req.get("/console/create?clone=reviews").text
    assert 'value="reviews-copy"' in html and 'value="0.2"' in html and 'value="positive"' in html
    assert '<option value="crew" selected>' in html and 'value="uri" checked' in html
    other = create_user(ctx=app.state.ctx, username="req2", password="req2-password", role="requester")
    assert other.role == "requester"
    assert session(app, "req2", "req2-password").get("/console/create?clone=reviews").status_code == 404


@sqlite_only
def test_the_preview_is_the_workers_frame_with_the_first_object(app, people, tmp_path):
    req = session(app, "req", "req-password")
    csrf = csrf_of(req, "/console/create")
    (tmp_path / "cat.png").write_bytes(b"\x89PNG fake")
    line = json.dumps({"source-ref": str(tmp_path / "cat.png")})
    r = req.post("/console/create/preview", data=_form(csrf, task_type="image-classification", preview_line=line,
                                                         label=["cat", "dog"], label_key=["c", "d"]))
    assert r.status_code == 200
    assert r.headers["content-security-policy"].startswith("sandbox allow-scripts allow-forms;")
    assert "crowd-image-classifier" in r.text and 'categories="[&#34;cat&#34;,&#34;dog&#34;]"' in r.text
    link = re.search(r'src="(/console/create/data/[^"]+)"', r.text).group(1)
    assert TestClient(app).get(link).content == b"\x89PNG fake"  # the sandboxed frame sends no cookie
    r = req.post("/console/create/preview", data=_form(csrf, preview_line="not json"))
    assert "line 1 is not JSON" in r.text
    outside = req.post("/console/create/preview", data=_form(csrf, task_type="image-classification",
                                                              preview_line=json.dumps({"source-ref": "/etc/passwd"})))
    assert "/console/create/data/" not in outside.text  # a refused URI is never granted


@sqlite_only
def test_a_folder_becomes_the_manifest(app, api, ctx, people, tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text("first line\n\nsecond line\n")
    (folder / "b.txt").write_text("third\n")
    (folder / "skip.bin").write_bytes(b"\x00")
    made = data_setup.make_manifest(ctx, people["req"], str(folder), "text-classification")
    assert made.count == 3
    ner = data_setup.make_manifest(ctx, people["req"], str(folder), "named-entity-recognition")
    assert ner.count == 2 and ner.first_refs == [str(folder / "a.txt"), str(folder / "b.txt")]
    req = session(app, "req", "req-password")
    csrf = csrf_of(req, "/console/create")
    r = req.post("/console/create", data=_form(csrf, source="folder", data_prefix="/etc"))
    assert r.status_code == 400 and "storage" in _field_error(r.text, "data_prefix").lower()
    r = req.post("/console/create", data=_form(csrf, source="folder", data_prefix=str(folder)))
    assert r.status_code == 303, r.text
    assert api("req").get("/api/v1/jobs/wizard-job").json()["object_count"] == 3


# --- in the browser ----------------------------------------------------------------------------------------

from tests.browser.conftest import browser, live_server, page  # noqa: E402,F401  (the browser fixtures)

SCREENSHOTS = __import__("pathlib").Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _images(tmp_path) -> bytes:
    """Four small street-sign pictures (drawn with Pillow) and their manifest's bytes."""
    from PIL import Image, ImageDraw

    lines = []
    for i, (color, word) in enumerate([("#dc2626", "STOP"), ("#2563eb", "P"), ("#16a34a", "EXIT"),
                                       ("#f59e0b", "SLOW")]):
        img = Image.new("RGB", (320, 240), "#e5e7eb")
        draw = ImageDraw.Draw(img)
        draw.rounded_rectangle((90, 50, 230, 190), radius=24, fill=color)
        draw.text((130, 110), word, fill="white")
        path = tmp_path / f"sign-{i}.png"
        img.save(path)
        lines.append(json.dumps({"source-ref": str(path)}))
    return ("\n".join(lines) + "\n").encode()


def _shot(pg, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _no_serious_violations(pg) -> None:
    from tests.axe import serious_violations

    found = serious_violations(pg)
    assert found == [], "\n".join(found)


def _preview_ready(pg) -> None:
    """The preview frame shows the object's image and has told the page its height."""
    frame = pg.frame_locator("#wizard-preview")
    frame.locator("crowd-image-classifier").wait_for()
    pg.frame(name="wizard-preview").wait_for_function(
        "() => { const c = document.querySelector('crowd-image-classifier');"
        " const img = c && c.shadowRoot && c.shadowRoot.querySelector('img');"
        " return img && img.complete && img.naturalWidth > 0; }")
    pg.wait_for_function("() => document.getElementById('wizard-preview').style.height !== ''")


def _sign_in(pg, base: str, username: str, password: str) -> None:
    pg.goto(base + "/portal/login")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", password)
    pg.click("button[type=submit]")
    pg.wait_for_url(base + "/console")


@sqlite_only
@pytest.mark.browser
def test_create_a_job_in_the_wizard_with_its_live_preview_in_the_browser(ctx, people, api, live_server, page,  # noqa: F811
                                                                           browser, tmp_path):  # noqa: F811
    from tests.waiting import GUARD_S

    base = live_server
    page.set_default_timeout(GUARD_S * 1000)  # waits are on conditions; the guard only stops a hang
    manifest = tmp_path / "signs.manifest"
    manifest.write_bytes(_images(tmp_path))
    _sign_in(page, base, "req", "req-password")
    page.goto(base + "/console/create")
    _no_serious_violations(page)
    # step 1 with a bad name, then straight to the end with too many workers: the errors come back at the fields
    page.fill("#name", "street signs!")
    page.set_input_files("#manifest_file", str(manifest))
    page.click("[data-go='2']")
    page.select_option("#task_type", "image-classification")
    page.click(".steps a[data-step='4']")
    page.fill("#workers_per_object", "12")
    page.click("#create")
    page.wait_for_selector("#error-summary")
    assert page.locator("#name").get_attribute("aria-invalid") == "true"
    assert page.locator("#name-error").is_visible() and "letters" in page.locator("#name-error").inner_text().lower()
    assert api("req").get("/api/v1/jobs").json()["jobs"] == []  # nothing was created
    page.click("#error-summary a[href='#workers_per_object']")
    assert page.locator("#workers_per_object-error").is_visible()
    page.fill("#workers_per_object", "2")
    # fix the name; the uploaded file is kept (no need to choose it again)
    page.click(".steps a[data-step='1']")
    page.fill("#name", "street-signs")
    page.click("[data-go='2']")
    rows = page.locator("#label-rows tr")
    for i, (label, key) in enumerate([("stop", "s"), ("parking", "p"), ("exit", "e"), ("slow", "w")]):
        if i >= rows.count():
            page.click("#add-label")
        rows.nth(i).locator("input[name=label]").fill(label)
        rows.nth(i).locator("input[name=label_key]").fill(key)
    page.click("[data-go='3']")
    page.fill("#title", "Which street sign is this?")
    page.fill("#short_instruction", "<p>Pick the sign in the middle of the picture.</p>")
    page.fill("#good_examples", "<p>A red octagon is <b>stop</b>.</p>")
    page.fill("#bad_examples", "<p>Do not guess when the sign is cut off: pick the closest.</p>")
    assert "Pick the sign" in page.locator("#preview-short").inner_text()  # the instructions follow the typing
    assert "Good examples" in page.locator("#preview-full").text_content()  # inside the closed <details>
    page.click("#refresh-preview")
    frame = page.frame_locator("#wizard-preview")
    frame.locator("crowd-image-classifier").wait_for()
    frame.locator("text=parking").first.wait_for()
    _preview_ready(page)
    _no_serious_violations(page)
    _shot(page, "console-wizard")
    page.click("[data-go='4']")
    page.select_option("#team", "crew")
    page.fill("#price_per_task_usd", "0.04")
    page.click("#create")
    page.wait_for_url(base + "/console/jobs/street-signs?created=1")
    job = api("req").get("/api/v1/jobs/street-signs").json()
    assert (job["object_count"], job["workers_per_object"], job["title"]) == (4, 2, "Which street sign is this?")
    assert [x["key"] for x in job["label_config"]["labels"]] == ["s", "p", "e", "w"]
    assert api("w1").post("/api/v1/worker/jobs/street-signs/next-task").status_code == 200  # it serves tasks

    # workforce: a team of one's own, a sign-up link
    page.goto(base + "/console/workforce")
    page.fill("#team-name", "street-team")
    page.fill("#team-description", "Volunteers who know their signs")
    page.click("text=Create team")
    page.wait_for_selector("[data-team='street-team']")
    page.locator("[data-team='street-team'] input[name=note]").fill("ana@example.org")
    page.locator("[data-team='street-team'] button:has-text('Make a link')").click()
    page.wait_for_selector("#new-link")
    link = page.locator("#new-link").input_value()
    assert link.startswith(base + "/invite/")
    _no_serious_violations(page)
    _shot(page, "console-workforce")
    # the invited worker opens the link on a phone, signs up and lands in the portal, on the team
    phone = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    invited = phone.new_page()
    invited.set_default_timeout(GUARD_S * 1000)
    invited.goto(link)
    _no_serious_violations(invited)
    _shot(invited, "console-invite-phone")
    invited.fill("#username", "ana")
    invited.fill("#password", "ana-password")
    invited.fill("#password2", "ana-password")
    invited.click("button[type=submit]")
    invited.wait_for_url(base + "/portal")
    phone.close()
    page.goto(base + "/console/workforce")
    assert "ana" in page.locator("[aria-label='Members of street-team']").inner_text()
    page.goto(base + "/console/audit?job=street-signs")
    page.wait_for_selector("[data-event]")
    _no_serious_violations(page)
    _shot(page, "console-audit")
    page.goto(base + "/console/workforce/workers/w1")
    _no_serious_violations(page)

    admin = browser.new_context(viewport={"width": 1280, "height": 800})
    ap = admin.new_page()
    ap.set_default_timeout(GUARD_S * 1000)
    _sign_in(ap, base, "admin", "admin-password")
    ap.goto(base + "/console/admin")
    _no_serious_violations(ap)
    _shot(ap, "console-admin")
    cookies = admin.cookies()
    req_cookies = page.context.cookies()
    admin.close()

    # tablet and phone: nothing wider than the screen
    for name, viewport in (("tablet", {"width": 820, "height": 1180}), ("phone", {"width": 390, "height": 844})):
        for _who, jar, paths in (("req", req_cookies, [("/console/create?clone=street-signs", "console-wizard"),
                                                      ("/console/workforce", "console-workforce"),
                                                      ("/console/audit", "console-audit")]),
                                ("admin", cookies, [("/console/admin", "console-admin")])):
            small = browser.new_context(viewport=viewport, has_touch=True, is_mobile=name == "phone")
            small.add_cookies(jar)
            pg = small.new_page()
            pg.set_default_timeout(GUARD_S * 1000)
            for path, shot in paths:
                pg.goto(base + path)
                if "create" in path:
                    pg.click(".steps a[data-step='3']")
                    _preview_ready(pg)
                    pg.locator("#wizard-preview").scroll_into_view_if_needed()  # painted before the full-page shot
                    pg.frame(name="wizard-preview").locator("crowd-image-classifier").wait_for()
                width = pg.evaluate("document.documentElement.scrollWidth")
                wide = pg.evaluate("""(w) => [...document.querySelectorAll('body *')].filter((e) =>
                    e.getBoundingClientRect().right > w + 1 && !(e.parentElement && e.parentElement.closest('.table-wrap'))).slice(0, 5).map((e) =>
                    e.tagName + '#' + e.id + '.' + e.className)""", viewport["width"])
                assert width <= viewport["width"], (path, name, width, wide)
                if name == "phone" or "create" in path:
                    _shot(pg, f"{shot}-{name}")
            small.close()
