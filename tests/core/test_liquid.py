"""Ground Truth's Liquid dialect: autoescape, extra filters, template checks, built-in templates."""

import html
import json
import re

import pytest

from labelloop.core.errors import ValidationError
from labelloop.core.tasktypes import TASK_TYPES
from labelloop.render.builtin import builtin_template
from labelloop.render.liquid import check_template, render_task_template


def grant(uri: str) -> str:
    return "https://files.example/" + uri.removeprefix("s3://") + "?sig=a&exp=1"


def render(source: str, **task_input) -> str:
    return render_task_template(source, task_input=task_input, grant=grant)


@pytest.mark.parametrize(
    ("source", "task_input", "expected"),
    [
        ("{{ task.input.t }}", {"t": "<b>'x' & \"y\"</b>"}, "&lt;b&gt;&#39;x&#39; &amp; &#34;y&#34;&lt;/b&gt;"),
        ("{{ task.input.t | escape }}", {"t": "<b>&"}, "&lt;b&gt;&amp;"),
        ("{{ task.input.t | escape_once }}", {"t": "&amp; <i>"}, "&amp; &lt;i&gt;"),
        ("{{ task.input.t | skip_autoescape }}", {"t": "<b>hi</b>"}, "<b>hi</b>"),
        ("{{ task.input.t | skip_autoescape }}", {}, ""),
        ("{{ task.input.source-ref }}", {"source-ref": "s3://b/k.jpg"}, "s3://b/k.jpg"),
        ("{{ task.input.missing }}", {}, ""),
        (
            "{% for l in task.input.labels %}{{ forloop.index }}={{ l | downcase }};{% endfor %}",
            {"labels": ["Cat", "Dog"]},
            "1=cat;2=dog;",
        ),
    ],
)
def test_autoescape_and_text_filters(source, task_input, expected):
    assert render(source, **task_input) == expected


def test_grant_read_access_uses_injected_callable_and_escapes_the_url():
    out = render('<img src="{{ task.input.source-ref | grant_read_access }}">', **{"source-ref": "s3://b/k 1.jpg"})
    assert out == '<img src="https://files.example/b/k 1.jpg?sig=a&amp;exp=1">'
    assert render("[{{ task.input.none | grant_read_access }}]") == "[]"


def test_to_json_in_attribute_escapes_once_and_round_trips():
    labels = ["it's", 'say "hi"', "<b>&</b>", "قطة", "猫"]
    for source in ("{{ task.input.labels | to_json }}", "{{ task.input.labels | to_json | escape }}"):
        out = render(f"<x categories='{source}'>", labels=labels)
        assert "'" not in out[len("<x categories='") : -2] and "<b>" not in out
        assert json.loads(html.unescape(out[len("<x categories='") : -2])) == labels


def test_to_json_is_safe_inside_script_with_skip_autoescape():
    out = render("<script>var t = {{ task.input | to_json | skip_autoescape }};</script>", x="</script><b>&")
    assert "</script><b>" not in out[:-9]
    assert json.loads(out[len("<script>var t = ") : -len(";</script>")]) == {"x": "</script><b>&"}
    assert render("{{ task.input.nope | to_json }}") == "null"


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("ok\n{% if task.input.x %}\nno end", "UiTemplate: expected tag endif"),
        ("line 1\nline 2\n{{ task.input.x | no_such_filter }}", "unknown filter 'no_such_filter' (line 3)"),
        ("{% for %}{% endfor %}", "(line 1)"),
        ("{{ task.input.x | plus: }}", "(line 1)"),
    ],
)
def test_check_template_reports_liquid_errors(source, fragment):
    with pytest.raises(ValidationError) as info:
        check_template(source, task_input={"x": 1})
    assert info.value.field == "UiTemplate"
    assert fragment in info.value.message


def test_check_template_accepts_valid_templates():
    check_template("<crowd-form>{{ task.input.source | escape }}</crowd-form>", task_input={"source": "x"})
    for task_type in TASK_TYPES.values():
        if task_type.template is not None:
            check_template(builtin_template(task_type.template), task_input={"taskObject": "s3://b/k", "labels": ["a"]})


def test_builtin_templates_name_elements_like_ground_truth():
    element = {
        "image-classification": "crowd-image-classifier",
        "image-classification-multilabel": "crowd-image-classifier-multi-select",
        "text-classification": "crowd-classifier",
        "text-classification-multilabel": "crowd-classifier-multi-select",
    }
    built_in = {t.name: t.element for t in TASK_TYPES.values() if t.template is not None and t.name in element}
    assert built_in == element
    for task_type, name in element.items():
        out = render(
            builtin_template(TASK_TYPES[task_type].template),
            taskObject="s3://b/<k>.jpg",
            labels=["a", "b"],
            keys=[None, "x"],
            shortInstruction="<b>short</b>",
            fullInstruction="<p>full</p>",
        )
        assert f'<{name}\n    name="{name}"' in out
        assert "categories=\"[&#34;a&#34;,&#34;b&#34;]\"" in out and "keys=\"[null,&#34;x&#34;]\"" in out
        assert "<b>short</b>" not in out and "<p>full</p>" not in out and "<k>" not in out  # the portal shows them


def test_unknown_builtin_task_type():
    with pytest.raises(ValidationError):
        builtin_template("bounding-box")


def test_a_template_that_loops_without_end_fails_clearly_and_fast():
    import time

    started = time.monotonic()
    with pytest.raises(ValidationError, match="loop iteration limit"):
        check_template("{% for i in (1..1000000000) %}{% for j in (1..1000000000) %}x{% endfor %}{% endfor %}",
                       task_input={})
    with pytest.raises(ValidationError, match="output stream limit"):
        check_template("{% for i in (1..90000) %}{{ task.input.big }}{% endfor %}", task_input={"big": "x" * 100})
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("url", ["javascript:alert(1)", "  JaVaScRiPt:alert(1)", "java\tscript:alert(1)",
                                 "&#106;avascript:alert(1)", "vbscript:msgbox(1)", "data:text/html,<script>x</script>"])
def test_javascript_urls_are_neutralised_in_url_attributes(url):
    from labelloop.render.liquid import safe_urls

    # from the template itself and from the data, quoted and not
    out = safe_urls(render(f'<a href="{url}">a</a><form action=\'{url}\'></form>'
                           '<a title="x>y" href="{{ task.input.u }}">b</a>', u=url))
    assert out.count('"about:blank#blocked"') >= 2
    assert "javascript:" not in out.lower().replace("\t", "") and "vbscript:" not in out.lower()
    assert "data:text/html" not in out


def test_ordinary_urls_and_text_are_left_alone():
    from labelloop.render.liquid import safe_urls

    page = '<a href="/data/x.y">a</a><img src="https://h/i.png"> text: href="javascript:1" <p>javascript:1</p>'
    assert safe_urls(page) == page


def test_the_custom_template_example_in_the_docs_renders_as_ground_truth_writes_it():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "hooks-and-templates.md").read_text(encoding="utf-8")
    example = doc.split("### Custom templates", 1)[1].split("```html\n", 1)[1].split("```", 1)[0]
    check_template(example, task_input={"taskObject": "x", "labels": ["a", "b"], "keys": ["p", None]})
    out = render(example, taskObject="Great fun.", labels=["positive", "negative"], keys=["p", "n"])
    # the single-quoted literal AWS's docs write reaches the element as written (the element parses it)
    attrs = dict((m.group(1), html.unescape(m.group(2))) for m in re.finditer(r'(\w+)="([^"]*)"', out))
    assert attrs["categories"] == "['positive', 'negative']"
    assert "<classification-target>Great fun.</classification-target>" in out
