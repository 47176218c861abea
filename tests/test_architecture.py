"""The layering rules of HOUSE_STYLE.md, checked by import-linter: core is pure, services never import web."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is part of the dev extra"
    result = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_setting_has_a_description():
    from labelloop.settings import Settings

    missing = [name for name, f in Settings.model_fields.items() if not f.description]
    assert missing == []
