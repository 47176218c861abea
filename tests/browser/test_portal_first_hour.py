"""Issue 11's portal items, kept fixed in Chromium: one dialog on `?`, Enter submits after the instructions were
unfolded, the lease is announced at thresholds only, the digits job fits a phone, no keyboard hints on touch
screens, a two-step release, one message at a time, the favicon, the sign-in form keeps the username."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labelloop.services import jobs
from tests.browser.conftest import ARTIFACTS, screenshot
from tests.browser.test_portal import _frame, _next_task, _sign_in
from tests.conftest import write_manifest

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

DIGITS = [{"label": str(d), "key": str(d)} for d in range(10)]
FULL = "<p>Each image shows one handwritten digit, 0 to 9. Pick the digit you see.</p>"


def _digits(tmp_path: Path, n: int) -> list[dict]:
    """128 px digits as the demo writes them (scikit-learn's 8x8 digits, scaled up without smoothing)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    lines = []
    for i in range(n):
        path = tmp_path / f"digit-{i}.png"
        pixels = (255 - digits.images[i] * 15).astype("uint8")
        Image.fromarray(pixels).resize((128, 128), Image.Resampling.NEAREST).save(path)
        lines.append({"source-ref": path.as_uri()})
    return lines


def _job(ctx, people, tmp_path, n=3, time_limit=60, name="digits", **kw):
    manifest = write_manifest(tmp_path / f"{name}.manifest", _digits(tmp_path, n))
    label_file = tmp_path / f"{name}-labels.json"
    label_file.write_text(json.dumps({"document-version": "2018-11-28", "labels": DIGITS}))
    kw.setdefault("short_instruction", "<p>Press the digit's key (0–9), then Enter.</p>")
    spec = jobs.JobSpec(name=name, task_type="image-classification", label_attribute_name="digit",
                        input_manifest_uri=str(manifest), label_config_uri=str(label_file),
                        output_uri=str(tmp_path / "out"), team="crew", workers_per_object=1,
                        task_time_limit_s=time_limit, title="Which digit is this?", **kw)
    return jobs.create_job(ctx, people["req"], spec)


def _open_dialogs(frame) -> int:
    return frame.evaluate("() => [document, ...[...document.querySelectorAll('*')].map(e => e.shadowRoot)"
                          ".filter(Boolean)].reduce((n, r) => n + r.querySelectorAll('dialog[open]').length, 0)")


def _start(page, base, job="digits"):
    _sign_in(page, base)
    page.click(f"a[href='/portal/jobs/{job}']")
    return _next_task(page, None)


def _image_loaded(page):
    _frame(page).wait_for_function(
        "() => document.querySelector('crowd-image-classifier').shadowRoot.querySelector('img').naturalWidth > 0")


def test_question_mark_opens_one_dialog_and_escape_closes_it(ctx, people, tmp_path, live_server, page):
    _job(ctx, people, tmp_path, full_instruction=FULL)
    _start(page, live_server)
    _image_loaded(page)
    frame = _frame(page)
    page.keyboard.press("?")
    assert page.locator("#shortcuts").is_visible()
    assert page.locator("dialog[open]").count() == 1 and _open_dialogs(frame) == 0
    text = page.inner_text("#shortcuts")
    for key in ("Enter", "Shift", "+", "-", "0", "?", "Esc"):
        assert key in text
    assert "zoom" in text
    page.wait_for_timeout(200)
    screenshot(page, "portal-shortcuts")
    page.keyboard.press("Escape")
    assert not page.locator("#shortcuts").is_visible() and page.locator("dialog[open]").count() == 0
    # the list links to the full instructions, which unfold beside the task
    page.keyboard.press("?")
    page.click("#open-instructions")
    assert page.locator("dialog[open]").count() == 0
    assert page.locator("#full-instructions").get_attribute("open") is not None
    # the instructions are shown once: beside the task, not again inside it
    assert page.locator(".instructions").count() == 1
    assert frame.locator("short-instructions, full-instructions").count() == 0
    assert frame.evaluate("() => !document.querySelector('crowd-image-classifier').shadowRoot"
                          ".querySelector('[data-open]')")


def test_no_empty_instructions_box_without_full_instructions(ctx, people, tmp_path, live_server, page):
    _job(ctx, people, tmp_path)
    _start(page, live_server)
    page.keyboard.press("?")
    assert page.locator("dialog[open]").count() == 1 and _open_dialogs(_frame(page)) == 0
    assert page.locator("#open-instructions").count() == 0 and page.locator("#full-instructions").count() == 0
    page.keyboard.press("Escape")
    assert page.locator("dialog[open]").count() == 0


def test_enter_submits_after_clicking_full_instructions(ctx, people, tmp_path, live_server, page):
    _job(ctx, people, tmp_path, full_instruction=FULL)
    first = _start(page, live_server)
    page.click("#full-instructions summary")
    assert page.locator("#full-instructions").get_attribute("open") is not None
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    _next_task(page, first)
    assert page.locator("#full-instructions").get_attribute("open") is not None, "Enter did not fold them"
    assert page.inner_text("#status") == "Submitted."


def test_lease_is_announced_at_thresholds_only_and_a_short_task_does_not_start_red(ctx, people, tmp_path,
                                                                                    live_server, page, browser):
    _job(ctx, people, tmp_path, time_limit=90)
    _job(ctx, people, tmp_path, time_limit=30, name="quick")
    page.clock.install()
    _start(page, live_server)
    assert page.get_attribute("#lease", "aria-live") is None
    assert page.get_attribute("#lease-announce", "aria-live") == "polite"
    page.evaluate("""() => { window.__said = []; new MutationObserver(() => {
        const t = document.querySelector('#lease-announce').textContent; if (t) window.__said.push(t); })
        .observe(document.querySelector('#lease-announce'), {childList: true, characterData: true, subtree: true}); }""")
    lease_texts = set()
    for _ in range(85):
        page.clock.run_for(1000)
        lease_texts.add(page.inner_text("#lease"))
    assert len(lease_texts) > 80, "the visible countdown still ticks"
    assert page.evaluate("window.__said") == ["60 seconds left for this task.", "30 seconds left for this task.",
                                               "10 seconds left for this task."]
    assert "low" in page.get_attribute("#lease", "class")
    page.close()

    page = browser.new_page(viewport={"width": 1280, "height": 800})  # a fresh clock
    page.clock.install()
    _start(page, live_server, "quick")
    assert "low" not in page.get_attribute("#lease", "class"), "a 30 s task does not start red"
    page.clock.run_for(20_000)
    assert "low" not in page.get_attribute("#lease", "class")
    page.clock.run_for(5_000)  # 5 s left: below 20% of the limit
    assert "low" in page.get_attribute("#lease", "class")
    page.close()


def test_digits_fit_a_phone_without_keyboard_hints(ctx, people, tmp_path, live_server, browser):
    _job(ctx, people, tmp_path, n=2, full_instruction=FULL)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    first = _start(page, live_server)
    _image_loaded(page)
    frame = _frame(page)
    assert page.evaluate("matchMedia('(hover: none) and (pointer: coarse)').matches")
    submit = frame.locator("crowd-form crowd-button")
    box = submit.bounding_box()
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= 844, f"Submit below the fold: {box}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    cats = frame.evaluate("() => [...document.querySelector('crowd-image-classifier').shadowRoot"
                          ".querySelectorAll('[data-i]')].map(c => c.getBoundingClientRect().top)")
    assert len(cats) == 10 and len(set(round(t) for t in cats)) <= 4, "labels in a grid"
    # no keyboard hints on a touch screen, on the page or in the task
    assert not page.locator("#release kbd").is_visible() and not page.locator("#help").is_visible()
    assert frame.evaluate("() => { const roots = [...document.querySelectorAll('*')].map(e => e.shadowRoot)"
                          ".filter(Boolean); return roots.flatMap(r => [...r.querySelectorAll('kbd')])"
                          ".concat([...document.querySelectorAll('kbd')]).every(k => !k.getClientRects().length); }")
    img = frame.evaluate("() => { const i = document.querySelector('crowd-image-classifier').shadowRoot"
                         ".querySelector('img'); return [i.getBoundingClientRect().height, getComputedStyle(i)"
                         ".imageRendering]; }")
    assert img[0] > 128 * 1.5 and img[1] == "pixelated", "the 128 px digit is scaled up, sharp"
    assert page.locator(".instructions").count() == 1 and frame.locator("short-instructions").count() == 0
    page.wait_for_timeout(200)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)  # the viewport only: a full-page shot drops the touch emulation
    page.screenshot(path=str(ARTIFACTS / "portal-phone-digits.png"))
    frame.locator("crowd-image-classifier").evaluate("e => e.shadowRoot.querySelector('[data-i=\"7\"]').click()")
    submit.tap()
    _next_task(page, first)
    context.close()


def test_images_are_scaled_up_on_a_laptop_and_submit_is_visible(ctx, people, tmp_path, live_server, page):
    _job(ctx, people, tmp_path, full_instruction=FULL)
    _start(page, live_server)
    _image_loaded(page)
    frame = _frame(page)
    height = frame.evaluate("() => document.querySelector('crowd-image-classifier').shadowRoot"
                            ".querySelector('img').getBoundingClientRect().height")
    assert height > 256
    box = frame.locator("crowd-form crowd-button").bounding_box()
    assert box["y"] + box["height"] <= 800
    page.wait_for_timeout(200)
    screenshot(page, "portal-laptop-digits")


def test_release_is_two_step(ctx, people, tmp_path, live_server, page):
    _job(ctx, people, tmp_path, n=2)
    first = _start(page, live_server)
    page.keyboard.press("Shift+R")
    assert "Confirm release" in page.inner_text("#release") and "Release this task" in page.inner_text("#status")
    page.wait_for_timeout(300)
    assert page.eval_on_selector("#task", "t => t.dataset.taskId") == first, "one press releases nothing"
    page.keyboard.press("Shift+R")
    second = _next_task(page, first)
    assert page.inner_text("#status") == "Task released."
    # the click path: Release, then Confirm release
    page.click("#release")
    assert page.eval_on_selector("#task", "t => t.dataset.taskId") == second
    page.click("#release")
    page.wait_for_selector("text=No more tasks in this job for you")


def test_submitted_is_cleared_when_the_task_says_choose_a_category(ctx, people, tmp_path, live_server, page):
    _job(ctx, people, tmp_path, n=2)
    first = _start(page, live_server)
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    _next_task(page, first)
    assert page.inner_text("#status") == "Submitted."
    page.keyboard.press("Enter")
    _frame(page).wait_for_function("() => document.querySelector('crowd-form').shadowRoot"
                                   ".querySelector('.err:not([hidden])')?.textContent === 'Choose a category.'")
    page.wait_for_function("() => document.querySelector('#status').textContent === ''")


def test_favicon_and_a_wrong_password_keeps_the_username(ctx, people, live_server, page):
    page.goto(live_server + "/portal/login")
    icon = page.get_attribute("link[rel=icon]", "href")
    response = page.request.get(live_server + icon)
    assert response.status == 200 and "svg" in response.headers["content-type"]
    page.fill("input[name=username]", "w1")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Wrong username or password")
    assert page.input_value("input[name=username]") == "w1"
    assert page.input_value("input[name=password]") == ""
    page.fill("input[name=password]", "worker-password")
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/portal")
