"""What a template, a data object or another site can do to a signed-in worker, in headless Chromium: a
template's script runs in a sandboxed, opaque-origin frame (no cookies, no portal DOM, no CSRF token, no API),
its CSS stays in the frame; an SVG or HTML data object never runs as the portal; the portal is never framed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from labelloop.db.models import Task
from labelloop.services import jobs
from tests.browser.test_portal import _create, _frame, _next_task, _sign_in
from tests.conftest import write_manifest
from tests.servers import QuietHandler, serve_http

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

PROBE = """<style>h1, .taskbar h1 { color: rgb(255, 0, 0) !important; } .taskbar { display: none !important; }
#release { display: none !important; }</style>
<crowd-form>
  <crowd-classifier name="tone" categories='["good", "bad"]' header="{{ task.input.text }}">
    <classification-target>{{ task.input.text }}</classification-target>
  </crowd-classifier>
</crowd-form>
<a id="js" href="javascript:window.__js = 1">template link</a>
<a id="datajs" href="{{ task.input.link }}">data link</a>
<script>
  const r = window.__probe = {origin: self.origin};
  try { r.cookie = document.cookie; } catch (e) { r.cookie = 'error:' + e.name; }
  try { r.csrf = parent.document.querySelector('#portal').dataset.csrf; } catch (e) { r.csrf = 'error:' + e.name; }
  try { r.top = top.location.href; } catch (e) { r.top = 'error:' + e.name; }
  try { localStorage.setItem('x', '1'); r.storage = 'ok'; } catch (e) { r.storage = 'error:' + e.name; }
  fetch('/api/v1/me', {credentials: 'include'}).then((x) => { r.me = x.status; }, (e) => { r.me = 'blocked:' + e.name; });
  fetch('/api/v1/worker/jobs/probe/next-task', {method: 'POST', credentials: 'include'})
    .then((x) => { r.lease = x.status; }, (e) => { r.lease = 'blocked:' + e.name; });
  const x = new XMLHttpRequest();
  try { x.open('GET', '/api/v1/me', false); x.withCredentials = true; x.send(); r.xhr = x.status; }
  catch (e) { r.xhr = 'blocked:' + e.name; }
</script>"""


def test_a_template_cannot_reach_the_portal_and_keyboard_labeling_still_works(ctx, people, tmp_path, live_server,
                                                                             page):
    lines = [{"source": "first", "text": "How does this sound?", "link": "javascript:window.__js = 2"},
             {"source": "second", "text": "And this?", "link": "java\tscript:window.__js = 3"}]
    manifest = write_manifest(tmp_path / "probe.manifest", lines)
    jobs.create_job(ctx, people["req"], jobs.JobSpec(
        name="probe", task_type="custom", label_attribute_name="tone", input_manifest_uri=str(manifest),
        output_uri=str(tmp_path / "out"), team="crew", workers_per_object=1, ui_template=PROBE, title="Probe"))
    _sign_in(page, live_server)
    page.goto(live_server + "/portal/jobs/probe")
    task_id = _next_task(page, None)
    frame = _frame(page)
    frame.wait_for_function("() => window.__probe.me && window.__probe.lease")
    probe = frame.evaluate("window.__probe")
    assert probe["origin"] == "null", "an opaque origin"
    assert probe["cookie"].startswith("error:") and probe["csrf"].startswith("error:")
    assert probe["top"].startswith("error:") and probe["storage"].startswith("error:")
    assert str(probe["me"]).startswith("blocked:") and str(probe["lease"]).startswith("blocked:")
    assert str(probe["xhr"]).startswith("blocked:")
    # the template's CSS stays in its frame
    assert page.evaluate("getComputedStyle(document.querySelector('.taskbar h1')).color") != "rgb(255, 0, 0)"
    assert page.is_visible(".taskbar") and page.is_visible("#release")
    assert frame.evaluate("getComputedStyle(document.querySelector('h1, #js')).display") is not None
    # javascript: URLs, from the template or from the data, are neutralised
    assert frame.get_attribute("#js", "href") == "about:blank#blocked"
    assert frame.get_attribute("#datajs", "href") == "about:blank#blocked"
    # keyboard labeling and submit still work through the frame
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    task_id = _next_task(page, task_id)
    with ctx.engine.connect() as conn:
        answers = conn.execute(select(Task.answer).where(Task.status == "submitted")).scalars().all()
    assert [json.loads(a) for a in answers] == [{"tone": {"label": "bad"}}]
    # focus on the portal (a click on its header): keys still reach the task
    page.click(".taskbar h1")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=No more tasks in this job for you")
    with ctx.engine.connect() as conn:
        answers = conn.execute(select(Task.answer).where(Task.status == "submitted").order_by(Task.id)).scalars().all()
    assert [json.loads(a) for a in answers] == [{"tone": {"label": "bad"}}, {"tone": {"label": "good"}}]
    assert page.evaluate("window.__js") is None


EVIL_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="120"><rect width="200" height="120" '
            b'fill="#f4c27a"/><script>window.__pwned = 1; try { top.__pwned = 1 } catch (e) {}'
            b"fetch('/api/v1/worker/history').then(() => { document.title = 'pwned' })</script></svg>")
EVIL_HTML = b"<!doctype html><script>window.__pwned = 1; document.title = 'pwned'</script><p>evil</p>"


def test_svg_and_html_data_objects_never_run_as_the_portal(ctx, people, tmp_path, live_server, page):
    (tmp_path / "evil.svg").write_bytes(EVIL_SVG)
    (tmp_path / "evil.html").write_bytes(EVIL_HTML)
    _create(ctx, people, tmp_path, "evil", "image-classification",
            [{"source-ref": (tmp_path / "evil.svg").as_uri()}, {"source-ref": (tmp_path / "evil.html").as_uri()}],
            [{"label": "fine"}, {"label": "broken"}], "verdict", title="Evil data")
    _sign_in(page, live_server)
    page.goto(live_server + "/portal/jobs/evil")
    seen = 0
    task_id = None
    while seen < 2:
        task_id = _next_task(page, task_id)
        frame = _frame(page)
        link = frame.get_attribute("crowd-image-classifier", "src")
        if seen == 0:  # the SVG still displays as an image (scripts never run in an <img>)
            frame.wait_for_function("() => document.querySelector('crowd-image-classifier').shadowRoot"
                                    ".querySelector('img')?.naturalWidth > 0")
        # the worker opens the object itself: it is a download, not a page of the portal's origin
        with page.expect_download() as download:
            page.evaluate("url => { window.open(url, '_self') }", link)
        assert download.value.url.endswith(link)
        assert page.evaluate("window.__pwned") is None and page.title() != "pwned"
        page.keyboard.press("1")
        page.keyboard.press("Enter")
        seen += 1
    page.wait_for_selector("text=No more tasks in this job for you")
    r = page.request.get(live_server + link)
    assert r.status == 404, "the lease ended with the answer; the link with it"


class OtherSite:
    """A page on another loopback port that tries to frame the portal."""

    def __init__(self, target: str):
        body = (f'<!doctype html><iframe id="portal" src="{target}/portal/login"></iframe>'
                f'<iframe id="task" src="{target}/portal/tasks/1/render"></iframe>').encode()

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802
                self.reply(body, "text/html")

        self.server, self.base = serve_http(Handler, host="localhost")


def test_the_portal_cannot_be_framed_by_another_origin(ctx, people, live_server, page):
    _sign_in(page, live_server)
    other = OtherSite(live_server)
    try:
        page.goto(other.base + "/")
        page.wait_for_timeout(500)
        children = [f for f in page.frames if f != page.main_frame]
        assert len(children) == 2
        for child in children:
            assert child.query_selector("input[name=username], crowd-form, #portal") is None, child.url
    finally:
        other.server.shutdown()
        other.server.server_close()
