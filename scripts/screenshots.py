"""Make the docs' screenshots of the worker portal from the demo, as a user meets it.

Runs ``labelloop demo --no-serve`` into a fresh temporary folder, serves it with ``labelloop serve``, signs in
as ``worker1`` in headless Chromium, opens the digits job and writes:

- ``docs/screenshots/portal-task.png``: a laptop window (1280x800);
- ``docs/screenshots/portal-phone.png``: a phone (390x844, touch).

Run ``.venv/bin/python scripts/screenshots.py`` (needs the ``dev`` extras and ``/usr/bin/chromium``);
``--out DIR`` writes elsewhere.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
WORKER, PASSWORD = "worker1", "worker-password"
SHOTS = {"portal-task.png": {"viewport": {"width": 1280, "height": 800}},
         "portal-phone.png": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}}


def _labelloop(*args: str) -> list[str]:
    return [sys.executable, "-m", "labelloop.cli.main", *args]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def demo_server(folder: Path) -> Iterator[str]:
    """Set the demo up in ``folder`` and serve it until the block ends; yield its base URL."""
    data = folder / "demo-data"
    subprocess.run(_labelloop("demo", "--no-serve", "--data-dir", str(data)), check=True, cwd=folder,
                   stdout=subprocess.DEVNULL)
    port = _free_port()
    env = {**os.environ, "LABELLOOP_DATABASE_URL": f"sqlite:///{data / 'labelloop.db'}",
           "LABELLOOP_DATA_DIR": str(data)}
    proc = subprocess.Popen(_labelloop("serve", "--port", str(port)), cwd=folder, env=env,
                            stdout=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        guard = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"labelloop serve exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(base + "/portal/login", timeout=5)
                break
            if time.monotonic() > guard:
                raise SystemExit("labelloop serve never answered")
            time.sleep(0.1)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def shoot(base: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for name, options in SHOTS.items():
            context = browser.new_context(**options)  # type: ignore[arg-type]
            page = context.new_page()
            page.goto(base + "/portal/login")
            page.fill("input[name=username]", WORKER)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/portal")
            page.goto(base + "/portal/jobs/digits")
            frame = page.wait_for_selector("#task iframe").content_frame()
            assert frame is not None
            frame.wait_for_function(
                "() => [...document.querySelectorAll('crowd-image-classifier')]"
                ".some(e => e.shadowRoot && e.shadowRoot.querySelector('img')?.naturalWidth > 0)")
            page.wait_for_timeout(300)  # the frame's resize message and fonts settle
            page.screenshot(path=str(out / name), full_page=True)
            print(out / name)
            context.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labelloop-shots-") as tmp, demo_server(Path(tmp)) as base:
        shoot(base, args.out.resolve())


if __name__ == "__main__":
    main()
