"""Ground Truth templates, unchanged, in the real task frame (headless Chromium): single-quoted categories as
AWS's docs write them, the v2 loader, the instructions panel, exclusion-category, multi-select answers in the
order chosen, a required slider and an untouched one, and jQuery from a local server run in document order."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from labelloop.db.models import Task
from labelloop.services import jobs, storage_policy
from tests.browser.conftest import screenshot
from tests.browser.test_portal import _frame, _next_task, _sign_in
from tests.conftest import write_manifest
from tests.servers import QuietHandler, serve_http

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

SYSTEM_JQUERY = Path("/usr/share/javascript/jquery/jquery.min.js")
# without Debian's libjs-jquery: a stand-in with the same two entry points the template uses
STAND_IN = b"""(function () { function $(a) { if (typeof a === 'function') { a(); return; }
  var el = document.querySelector(a); return { text: function (t) { el.textContent = t; } }; }
  $.fn = { jquery: 'stand-in' }; window.jQuery = window.$ = $; })();"""

TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements-v2.js"></script>
<script src="{lib}/jquery.min.js"></script>
<crowd-form>
  <crowd-classifier name="sentiment" categories="['Positive', 'Negative', 'Neutral']" header="What is the tone?">
    <classification-target>{{{{ task.input.source }}}}</classification-target>
    <full-instructions header="Sentiment Analysis Instructions"><p>Mixed feelings: choose <b>Neutral</b>.</p></full-instructions>
    <short-instructions><p id="short">Pick the tone of the review.</p></short-instructions>
  </crowd-classifier>
  <crowd-classifier-multi-select name="topics" categories="['Food', 'Service', 'Price']" header="Topics?"
      exclusion-category="{{ text: 'None of these' }}"></crowd-classifier-multi-select>
  <crowd-classifier-multi-select name="order" categories="['Food', 'Service', 'Price']" header="Also?">
  </crowd-classifier-multi-select>
  <crowd-slider name="stars" min="1" max="5" required></crowd-slider>
  <crowd-slider name="untouched" min="0" max="10"></crowd-slider>
  <p id="lib"></p>
</crowd-form>
<script>$(function () {{ $('#lib').text('jQuery ' + $.fn.jquery); }});</script>"""


class SlowLibrary:
    """A loopback server that answers /jquery.min.js after 400 ms: an inline script run before it loaded fails."""

    def __init__(self):
        body = SYSTEM_JQUERY.read_bytes() if SYSTEM_JQUERY.exists() else STAND_IN

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802
                time.sleep(0.4)  # the server's delay, part of what is tested; nothing waits on it
                self.reply(body, "application/javascript; charset=UTF-8")

        self.server, self.base = serve_http(Handler)


def _pick(frame, element: str, i: int) -> None:
    frame.locator(element).evaluate(f"e => e.shadowRoot.querySelector('[data-i=\"{i}\"]').click()")


def test_a_ground_truth_template_runs_unchanged_in_the_task_frame(ctx, people, tmp_path, live_server, page):
    lib = SlowLibrary()
    storage_policy.allow(ctx, people["admin"], lib.base)  # the admin lists the local library server
    manifest = write_manifest(tmp_path / "gt.manifest", [{"source": "The soup was cold but the waiter was kind."}])
    spec = jobs.JobSpec(name="gt-template", task_type="custom", label_attribute_name="review",
                        input_manifest_uri=str(manifest), output_uri=str(tmp_path / "out"), team="crew",
                        workers_per_object=1, ui_template=TEMPLATE.format(lib=lib.base))
    jobs.create_job(ctx, people["req"], spec)
    _sign_in(page, live_server)
    page.click("a[href='/portal/jobs/gt-template']")
    _next_task(page, None)
    frame = _frame(page)
    frame.wait_for_function("() => document.querySelector('#lib').textContent")
    assert frame.inner_text("#lib").startswith("jQuery "), "the inline script ran after the library loaded"
    assert frame.locator("script[src*='assets.crowd.aws']").count() == 0, "the v2 loader is stripped"

    # categories written with single quotes are the worker's options
    labels = frame.locator("crowd-classifier").evaluate(
        "e => [...e.shadowRoot.querySelectorAll('[data-i]')].map(c => c.textContent.trim())")
    assert labels == ["1Positive", "2Negative", "3Neutral"]
    # the instructions are in the panel, the full ones behind its button
    panel = frame.locator("crowd-instructions-panel")
    assert panel.locator("#short").is_visible()
    assert frame.locator("crowd-classifier short-instructions, crowd-classifier full-instructions").count() == 0
    assert not panel.locator("full-instructions").is_visible()
    panel.evaluate("p => p.shadowRoot.querySelector('[data-open]').click()")
    assert panel.locator("full-instructions").is_visible()
    assert "Sentiment Analysis Instructions" in panel.evaluate("p => p.shadowRoot.querySelector('dialog').textContent")
    panel.evaluate("p => p.close()")
    screenshot(page, "portal-gt-template")

    _pick(frame, "crowd-classifier", 1)
    _pick(frame, "crowd-classifier-multi-select[name=topics]", 0)
    _pick(frame, "crowd-classifier-multi-select[name=topics]", -1)  # the exclusion category clears Food
    for i in (2, 0):
        _pick(frame, "crowd-classifier-multi-select[name=order]", i)
    submit = frame.locator("crowd-form > crowd-button, crowd-form crowd-button[form-action=submit]").first
    submit.click()
    frame.wait_for_function("() => document.querySelector('crowd-form').shadowRoot.querySelector('.err:not([hidden])')")
    assert "slider" in frame.evaluate("() => document.querySelector('crowd-form').shadowRoot.querySelector('.err')"
                                      ".textContent"), "a required slider nobody moved refuses to submit"
    frame.locator("crowd-slider[name=stars]").evaluate(
        "s => { const r = s.shadowRoot.querySelector('[type=range]'); r.value = 4;"
        " r.dispatchEvent(new Event('input', {bubbles: true, composed: true})); }")
    submit.click()
    page.wait_for_selector("text=No more tasks in this job for you")
    with ctx.engine.connect() as conn:
        answer = json.loads(conn.execute(select(Task.answer).where(Task.status == "submitted")).scalar_one())
    assert answer == {"sentiment": {"label": "Negative"}, "topics": {"labels": ["None of these"]},
                      "order": {"labels": ["Price", "Food"]}, "stars": 4, "untouched": 0}
    lib.server.shutdown()
    lib.server.server_close()
