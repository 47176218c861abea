"""The generated reference docs (settings, CLI) match the code, and every setting is described."""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_docs = _load_generator()


def test_every_setting_has_a_description():
    assert gen_docs.missing_descriptions() == [], "add a description= to these settings"


@pytest.mark.parametrize(("name", "make"), [("settings.md", gen_docs.settings_markdown),
                                            ("cli.md", gen_docs.cli_markdown)])
def test_generated_doc_is_up_to_date(name, make):
    path = ROOT / "docs" / name
    assert path.exists(), f"docs/{name} is missing: run scripts/gen_docs.py"
    expected = make()
    actual = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(actual.splitlines(True), expected.splitlines(True),
                                            f"docs/{name}", "generated", n=1))
        pytest.fail(f"docs/{name} is out of date: run scripts/gen_docs.py\n{diff[:4000]}")


def test_every_setting_and_command_is_in_the_docs():
    from typer.main import get_command

    from labelloop.cli.main import app
    from labelloop.settings import Settings

    settings = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`LABELLOOP_{name.upper()}`" in settings
    cli = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    root = get_command(app)
    ctx = root.context_class(root, info_name="labelloop")
    for sub in root.list_commands(ctx):
        assert f"`labelloop {sub}`" in cli


def test_typer_rich_setting_is_restored_after_generating():
    import typer.core

    before = typer.core.HAS_RICH
    gen_docs.cli_markdown()
    assert before == typer.core.HAS_RICH
