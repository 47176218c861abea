"""Ground Truth templates at job creation and render: one list of elements (built, or refused with the element's
name), both loaders stripped, and the frame's policy letting a template load scripts from listed http hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelloop.core.elements import BUILT, NOT_BUILT, unbuilt_elements
from labelloop.services.templates import GT_LOADER, frame_sources
from labelloop.web.headers import frame_csp

CROWD = Path(__file__).resolve().parents[2] / "src/labelloop/web/static/crowd"


def test_every_built_element_has_its_file_and_every_file_is_listed():
    files = {p.stem for p in CROWD.glob("crowd-*.js")}
    assert files >= BUILT, BUILT - files
    assert files - BUILT <= set(NOT_BUILT), "an element file that core/elements.py does not list"
    assert not BUILT & set(NOT_BUILT)


@pytest.mark.parametrize(("element", "message"), [
    ("crowd-textract-analyze-document",
     "<crowd-textract-analyze-document> (Amazon A2I's Textract review) is a Ground Truth element labelloop does not "
     "build yet"),
    ("crowd-rekognition-detect-moderation-labels", "<crowd-rekognition-detect-moderation-labels> (Amazon A2I's"),
    ("crowd-sparkles", "<crowd-sparkles> is not a Crowd HTML Element Ground Truth documents"),
])
def test_a_template_with_an_element_labelloop_does_not_build_is_refused_by_name(api, text_job_spec, element,
                                                                                message):
    template = f'<crowd-form><{element} name="x" src="{{{{ task.input.source }}}}"></{element}></crowd-form>'
    r = api("req").post("/api/v1/jobs", json=text_job_spec(task_type="custom", ui_template=template))
    assert r.status_code == 400 and r.json()["field"] == "ui_template", r.text
    assert message in r.json()["message"]


def test_known_elements_pass():
    html = "<crowd-form><crowd-classifier></crowd-classifier><crowd-slider></crowd-slider><crowd-toast></crowd-toast>"
    assert unbuilt_elements(html + "</crowd-form>") == []


@pytest.mark.parametrize("loader", [
    '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>',
    '<script src="https://assets.crowd.aws/crowd-html-elements-v2.js"></script>',
    "<SCRIPT type='text/javascript' src='https://assets.crowd.aws/crowd-html-elements-v2.js?v=1'> </SCRIPT>",
])
def test_both_loaders_are_stripped(loader):
    assert GT_LOADER.sub("", f"{loader}\n<crowd-form></crowd-form>") == "\n<crowd-form></crowd-form>"


def test_the_frame_may_load_scripts_from_listed_http_hosts_only(ctx, people, allow_storage):
    allow_storage("http://127.0.0.1:9911")
    allow_storage("https://cdn.example.com")
    sources = frame_sources(ctx)
    assert sources == ("http://127.0.0.1:9911",)  # https: hosts are allowed already
    csp = frame_csp("http://portal:8080", sources)
    script = next(d for d in csp.split("; ") if d.startswith("script-src"))
    assert "http://127.0.0.1:9911" in script and "connect-src 'none'" in csp
    assert csp.endswith("frame-ancestors 'self' http://portal:8080"), "only the portal frames a task"
