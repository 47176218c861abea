"""Every ```sh block of README.md and docs/getting-started.md runs as written, in order, on a fresh install.

Each document's blocks run in one ``bash`` (``set -euo pipefail``), as a user would type them into one
terminal, in a fresh temporary folder, with the installed ``labelloop`` first on the PATH. Three things
differ from a user's machine, and only these:

- ``make demo`` and ``make test`` are not run (they install into .venv and are what CI runs);
- a block right after ``<!-- doc-test: skip (reason) -->`` is not run;
- port 8080 becomes a free port (``127.0.0.1:8080`` in the text, ``LABELLOOP_PORT`` for ``labelloop serve``),
  so a running demo is never in the way; S3 is a moto server on loopback, with its bucket ``acme``
  holding the files the S3 block names, reached through ``LABELLOOP_S3_ENDPOINT_URL``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import free_port
from tests.waiting import GUARD_S

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["README.md", "docs/getting-started.md"]
NOT_RUN = {"make demo", "make test"}
BLOCK = re.compile(r"(<!-- doc-test: skip \((?P<reason>[^)]*)\) -->\n)?^```sh\n(?P<body>.*?)^```$", re.S | re.M)


def sh_blocks(doc: str) -> list[tuple[str, str | None]]:
    """``(body, skip reason or None)`` of each unindented ```sh block, in order."""
    return [(m["body"], m["reason"]) for m in BLOCK.finditer((ROOT / doc).read_text(encoding="utf-8"))]


def script(doc: str, port: int) -> str:
    parts = ["set -euo pipefail"]
    for i, (body, reason) in enumerate(sh_blocks(doc)):
        if reason is not None:
            continue
        lines = [x for x in body.splitlines() if x.split("#")[0].strip() not in NOT_RUN]
        parts.append(f"echo '### {doc} block {i + 1}' >&2")
        parts.extend(lines)
    return "\n".join(parts).replace("127.0.0.1:8080", f"127.0.0.1:{port}") + "\n"


def test_blocks_are_found_and_skips_have_reasons():
    for doc in DOCS:
        blocks = sh_blocks(doc)
        assert len(blocks) >= 2, doc
        assert all(reason is None or reason.strip() for _, reason in blocks)
        raw = (ROOT / doc).read_text(encoding="utf-8")
        assert raw.count("```sh\n") == len(blocks), f"{doc}: an indented or unparsed ```sh block"
    assert sh_blocks("README.md")[0][0].startswith("make demo")


@pytest.fixture
def s3(monkeypatch):
    boto3 = pytest.importorskip("boto3")
    moto_server = pytest.importorskip("moto.server")
    pytest.importorskip("s3fs")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    client.create_bucket(Bucket="acme")
    lines = [{"source-ref": f"s3://acme/in/pet-{i}.jpg"} for i in range(2)]
    client.put_object(Bucket="acme", Key="in/pets.manifest", Body="".join(json.dumps(x) + "\n" for x in lines))
    client.put_object(Bucket="acme", Key="in/labels.json", Body=json.dumps(
        {"document-version": "2018-11-28", "labels": [{"label": "cat"}, {"label": "dog"}]}))
    yield endpoint
    server.stop()


@pytest.mark.s3
def test_doc_shell_blocks_run_in_order(tmp_path, s3):
    """Both documents at once (each in its own folder, database and port): a CLI call is mostly start-up."""
    procs, logs = {}, contextlib.ExitStack()
    for n, doc in enumerate(DOCS):
        port, work = free_port(), tmp_path / f"doc{n}"
        work.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LABELLOOP_", "AWS_"))}
        env.update({
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "HOME": str(work),
            "LABELLOOP_DATABASE_URL": f"sqlite:///{work / 'labelloop.db'}",
            "LABELLOOP_DATA_DIR": str(work / "labelloop-data"),
            "LABELLOOP_PORT": str(port),
            "LABELLOOP_S3_ENDPOINT_URL": s3,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        })
        (tmp_path / f"doc{n}.sh").write_text(script(doc, port))
        procs[doc] = subprocess.Popen(["bash", str(tmp_path / f"doc{n}.sh")], cwd=work, env=env,
                                      stdout=logs.enter_context((tmp_path / f"doc{n}.log").open("wb")),
                                      stderr=subprocess.STDOUT,
                                      start_new_session=True)
    failed = []
    try:
        for n, (doc, proc) in enumerate(procs.items()):
            code = proc.wait(GUARD_S)
            if code != 0:
                log = (tmp_path / f"doc{n}.log").read_text(errors="replace")
                failed.append(f"{doc}: a block failed (exit {code}):\n{log[-6000:]}")
    finally:
        for proc in procs.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # a server a failed block left running
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(GUARD_S)
        logs.close()
    assert not failed, "\n".join(failed)
