"""axe-core in the browser tests: the pinned npm package, installed once into ``.cache/axe`` (or taken from
``LABELLOOP_AXE_JS``), evaluated in a Playwright page; ``serious_violations(page)`` lists what it finds that is
serious or critical, as ``"rule-id: help (n nodes)"`` lines, so a failing assertion says what to fix."""
from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

import pytest

AXE_VERSION = "4.14.1"
ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "axe"


def axe_path() -> Path:
    """The axe.min.js to inject; installs the pinned axe-core with npm the first time (a lock keeps
    parallel test processes from installing it twice)."""
    if os.environ.get("LABELLOOP_AXE_JS"):
        return Path(os.environ["LABELLOOP_AXE_JS"])
    target = CACHE / "node_modules" / "axe-core" / "axe.min.js"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            try:
                subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(CACHE),
                                f"axe-core@{AXE_VERSION}"], check=True, capture_output=True, timeout=300)
            except (OSError, subprocess.CalledProcessError) as exc:
                from tests.conftest import skip_unless_required
                skip_unless_required(f"axe-core could not be installed with npm: {exc}")
                pytest.skip(f"axe-core could not be installed with npm: {exc}")
    return target


def serious_violations(page) -> list[str]:
    """Runs axe-core on the page as it is now; the serious and critical violations, one line each."""
    page.evaluate(axe_path().read_text())  # evaluated by the driver, so the page's CSP does not block it
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes: {v['nodes'][0]['target']})"
            for v in result["violations"] if v.get("impact") in ("serious", "critical")]
