"""crowd-entity-annotation in the real portal (headless Chromium): tag entities by mouse and by keyboard,
relabel, remove, accept and correct pre-annotations, Unicode offsets; the submitted JSON and the stored
answers; screenshots of the tagging page on a laptop and a phone (docs/screenshots/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from labelloop.db.models import Task
from labelloop.services import jobs

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs/screenshots"
LABELS = [{"label": "person", "shortDisplayName": "PER"}, {"label": "place", "shortDisplayName": "LOC"},
          {"label": "organization", "shortDisplayName": "ORG"}]
SENTENCE = "Ada Lovelace met Charles Babbage in London."
UNICODE = "Zoe\u0301 \U0001F600 met Jose\u0301."
PRE = "Grace Hopper joined the Navy in New York."
PRE_VALUE = [{"label": "person", "startOffset": 0, "endOffset": 5}, {"label": "organization", "startOffset": 24,
                                                                     "endOffset": 28}]


def _job(ctx, people, tmp_path, name, lines):
    manifest = tmp_path / f"{name}.manifest"
    manifest.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    labels = tmp_path / f"{name}.json"
    labels.write_text(json.dumps({"document-version": "2018-11-28", "labels": LABELS,
                                  "instructions": {"shortInstruction": "<p>Tag people, places, organizations.</p>"}}))
    jobs.create_job(ctx, people["req"], jobs.JobSpec(
        name=name, task_type="named-entity-recognition", label_attribute_name="ents", input_manifest_uri=str(manifest),
        label_config_uri=str(labels), output_uri=str(tmp_path / "out"), team="crew", workers_per_object=1,
        task_time_limit_s=300, title="Tag the names"))


def _open(page, base, job, user="w1"):
    page.goto(base + "/portal/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", "worker-password")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/portal")
    page.goto(f"{base}/portal/jobs/{job}")
    return _frame(page, None)


def _frame(page, previous):
    page.wait_for_function("prev => { const t = document.querySelector('#task');"
                           " return t.dataset.taskId && t.dataset.taskId !== prev && t.querySelector('iframe'); }",
                           arg=previous)
    frame = page.wait_for_selector("#task iframe").content_frame()
    frame.wait_for_function("() => document.querySelector('crowd-entity-annotation')?.shadowRoot?.querySelector('.text span')")
    return frame


def _task_id(page):
    return page.eval_on_selector("#task", "t => t.dataset.taskId")


def _entities(frame):
    return frame.evaluate("() => document.querySelector('crowd-entity-annotation').value")


def _rect_of(page, frame, start, end):
    """The page coordinates of the text between two UTF-16 offsets of the element's text."""
    box = page.locator("#task iframe").bounding_box()
    r = frame.evaluate("""([s, e]) => {
      const root = document.querySelector('crowd-entity-annotation').shadowRoot, range = document.createRange();
      const find = (o) => { for (const p of root.querySelectorAll('[data-o]')) { const a = +p.dataset.o,
        n = p.firstChild; if (n && o >= a && o <= a + n.length) return [n, o - a]; } };
      range.setStart(...find(s)); range.setEnd(...find(e));
      const rs = range.getClientRects(); const f = rs[0], l = rs[rs.length - 1];
      return {x0: f.left, y0: f.top + f.height / 2, x1: l.right, y1: l.top + l.height / 2}; }""", [start, end])
    return box["x"] + r["x0"] + 1, box["y"] + r["y0"], box["x"] + r["x1"] - 1, box["y"] + r["y1"]


def _stored(ctx, task_id):
    with ctx.engine.connect() as conn:
        return json.loads(conn.execute(select(Task.answer).where(Task.id == int(task_id))).scalar())


def _ents(*spans):
    return [{"label": label, "startOffset": s, "endOffset": e} for s, e, label in spans]


def test_tag_by_keyboard_and_mouse_relabel_remove_and_correct_pre_annotations(ctx, people, tmp_path, live_server,
                                                                               page):
    _job(ctx, people, tmp_path, "ents", [{"source": SENTENCE}, {"source": UNICODE},
                                         {"source": PRE, "initial-value": PRE_VALUE}])
    submitted = []
    page.on("request", lambda r: submitted.append(json.loads(r.post_data)) if r.url.endswith("/submit") else None)
    frame = _open(page, live_server, "ents")
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    el = frame.locator("crowd-entity-annotation")
    el.evaluate("e => e.focus()")
    # keyboard: the first word, extended by one, labeled person
    for key in ("ArrowRight", "Shift+ArrowRight", "1"):
        page.keyboard.press(key)
    # mouse: drag over "Charles Babbage", then 1
    x0, y0, x1, y1 = _rect_of(page, frame, SENTENCE.index("Charles"), SENTENCE.index(" in"))
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=5)
    page.mouse.up()
    page.keyboard.press("1")
    # keyboard from there: two words on is London; label it organization, then relabel it place
    for key in ("ArrowRight", "ArrowRight", "3", "2"):
        page.keyboard.press(key)
    # a tap selects a word: "met" as organization, then removed
    x0, y0, _, _ = _rect_of(page, frame, SENTENCE.index("met"), SENTENCE.index("met") + 3)
    page.mouse.click(x0 + 3, y0)
    page.keyboard.press("3")
    assert len(_entities(frame)) == 4
    page.screenshot(path=str(DOCS_SHOTS / "ner-task.png"))
    page.keyboard.press("Delete")
    expected = _ents((0, 12, "person"), (17, 32, "person"), (36, 42, "place"))
    assert _entities(frame) == expected
    shadow = el.evaluate("e => e.shadowRoot.querySelector('.text').textContent")
    assert "PER" in shadow and "LOC" in shadow  # the short display names tag the entities
    first = _task_id(page)
    page.keyboard.press("Enter")
    frame = _frame(page, first)
    assert submitted[-1]["answer"] == {"crowd-entity-annotation": {"entities": expected}}
    assert _stored(ctx, first) == {"crowd-entity-annotation": {"entities": expected}}

    # Unicode: offsets are code points (the emoji is one, the combining accent one of its own)
    frame.locator("crowd-entity-annotation").evaluate("e => e.focus()")
    for key in ("End", "ArrowLeft", "1"):
        page.keyboard.press(key)
    assert _entities(frame) == _ents((11, 16, "person"))
    assert UNICODE[11:16] == "Jose\u0301"
    second = _task_id(page)
    page.keyboard.press("Enter")
    frame = _frame(page, second)
    assert _stored(ctx, second)["crowd-entity-annotation"]["entities"] == _ents((11, 16, "person"))

    # pre-annotations: shown dashed; "Navy" accepted as it is, "Grace" corrected to "Grace Hopper"
    assert _entities(frame) == PRE_VALUE
    assert frame.locator("crowd-entity-annotation").evaluate("e => e.shadowRoot.querySelectorAll('.e.pre').length") == 2
    frame.locator("crowd-entity-annotation").evaluate("e => e.focus()")
    for key in ("Home", "Shift+ArrowRight", "1"):
        page.keyboard.press(key)
    third = _task_id(page)
    page.keyboard.press("Enter")
    page.wait_for_selector("text=No more tasks in this job for you")
    corrected = {"entities": _ents((0, 12, "person"), (24, 28, "organization")), "initialValueModified": True}
    assert submitted[-1]["answer"] == {"crowd-entity-annotation": corrected}
    assert _stored(ctx, third) == {"crowd-entity-annotation": corrected}


def test_tagging_page_on_a_phone(ctx, people, tmp_path, live_server, browser):
    long = ("Ada Lovelace wrote the first program for Charles Babbage's Analytical Engine while living in London, "
            "long before anyone in Paris or New York had seen a computer.")
    london = long.index("London")
    _job(ctx, people, tmp_path, "phone", [{"source": long, "initial-value": [
        {"label": "person", "startOffset": 0, "endOffset": 12}, {"label": "place", "startOffset": london,
                                                                 "endOffset": london + 6}]}])
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        frame = _open(page, live_server, "phone", user="w2")
        el = frame.locator("crowd-entity-annotation")
        assert el.evaluate("e => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        # a tap on a word selects it; a label button labels it
        x0, y0, _, _ = _rect_of(page, frame, long.index("Paris"), long.index("Paris") + 5)
        page.touchscreen.tap(x0 + 4, y0)
        frame.wait_for_function("() => document.querySelector('crowd-entity-annotation')._sel")
        assert frame.evaluate("() => CSS.highlights.size") == 1  # the selection, drawn without touching the DOM
        el.evaluate("e => e.shadowRoot.querySelector('[data-l=\"1\"]').click()")
        assert {"label": "place", "startOffset": long.index("Paris"), "endOffset": long.index("Paris") + 5} \
            in _entities(frame)
        labels = el.evaluate("e => [...e.shadowRoot.querySelectorAll('.lab')].map(b => b.getBoundingClientRect().right)")
        assert max(labels) <= 390
        page.screenshot(path=str(DOCS_SHOTS / "ner-task-phone.png"), full_page=True)
    finally:
        context.close()


def test_words_snap_in_japanese_and_chinese_and_arrows_follow_right_to_left_text(live_server, page):
    page.goto(live_server + "/portal/login")  # any page of ours: the elements load from /static
    page.evaluate("() => import('/static/crowd/index.js')")
    page.wait_for_function("() => customElements.get('crowd-entity-annotation')")

    def first_word(text, lang, key):
        return page.evaluate("""([text, lang, key]) => {
          document.querySelector('#ner-probe')?.remove();
          const el = document.createElement('crowd-entity-annotation');
          el.id = 'ner-probe'; el.setAttribute('lang', lang); el.setAttribute('text', text);
          el.setAttribute('labels', JSON.stringify([{label: 'x'}]));
          document.body.append(el); el.focus();
          document.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true, composed: true, cancelable: true}));
          const seg = [...new Intl.Segmenter(lang, {granularity: 'word'}).segment(text)].find((s) => s.isWordLike);
          return [text.slice(el._sel.s, el._sel.e), seg.segment];
        }""", [text, lang, key])

    got, word = first_word("東京都に住んでいる山田です。", "ja", "ArrowRight")
    assert got == word and 1 < len(got) < 5  # a word, not a character nor the sentence
    got, word = first_word("我们在北京大学学习中文。", "zh", "ArrowRight")
    assert got == word and len(got) < 5
    got, _ = first_word("ذهب أحمد إلى القاهرة", "ar", "ArrowLeft")  # ← reads forward in Arabic
    assert got == "ذهب"
