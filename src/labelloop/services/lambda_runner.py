"""Calls a registered hook as Lambda calls a function: ``handler(event, context)`` in a subprocess of its own,
with its own environment and a time limit.

- The code (the zip Lambda deploys) is unpacked once per content hash under ``<data_dir>/hooks/<sha256>/``;
  each call runs there (its folder is the working directory and first on ``sys.path``) with
  ``python -I`` (no ``PYTHON*`` variables, no user site-packages), in a new process group that is killed
  when the hook's ``timeout_s`` runs out.
- Its environment is only: ``PATH``, ``LANG``, a fresh ``HOME`` and ``TMPDIR``, Lambda's
  ``AWS_LAMBDA_FUNCTION_NAME``/``…_VERSION``/``…_MEMORY_SIZE``, ``LAMBDA_TASK_ROOT``, ``AWS_REGION``, the
  variables the admin registered with the hook and, for a call with a ``payload.s3Uri``, credentials that
  read that one object from labelloop's S3-compatible endpoint (``services/hook_s3.py``):
  ``AWS_ENDPOINT_URL_S3``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and an ``AWS_CONFIG_FILE``
  choosing path-style addressing. Nothing of the server's own environment (database URL, keys) is passed.
- The answer is what the handler returned, read from a result file (what it prints is its log). A raised
  exception, a time-out, a crash or an answer JSON cannot encode is a ``HookError`` naming it, with the end
  of the hook's log.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

from labelloop.services.context import Context
from labelloop.services.hooks import HookCall, HookError, hook_code

BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
MEMORY_MB = 128
LOG_TAIL = 600  # characters of the hook's log kept in a failure reason


def code_dir(ctx: Context, row: Any) -> Path:
    """The hook's unpacked code, made once per content hash (atomically: a half-made folder is never used)."""
    root = Path(ctx.settings.data_dir).resolve() / "hooks"
    target = root / row.code_sha256
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{row.code_sha256[:12]}-", dir=root))
    with zipfile.ZipFile(BytesIO(hook_code(ctx, row.name, row.code_sha256))) as z:
        z.extractall(tmp)
    try:
        tmp.rename(target)
    except OSError:  # another process made it first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _environment(ctx: Context, row: Any, call: HookCall, home: Path, task_root: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": str(home), "TMPDIR": str(home),
        "AWS_LAMBDA_FUNCTION_NAME": row.name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB), "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_REGION": call.region, "AWS_DEFAULT_REGION": call.region,
        **json.loads(row.environment or "{}"),
    }
    if call.payload_uri is not None:
        from labelloop.services.hook_s3 import read_credentials

        endpoint, key_id, secret = read_credentials(ctx, call.payload_uri, ttl_s=row.timeout_s + 60)
        config = home / "aws-config"
        config.write_text("[default]\ns3 =\n    addressing_style = path\n", encoding="utf-8")
        env.update({"AWS_ENDPOINT_URL_S3": endpoint, "AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret,
                    "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials")})
    return env


def invoke(ctx: Context, row: Any, event: Any, call: HookCall) -> Any:
    """Run one call of the registered hook ``row`` with ``event``; its answer, or ``HookError``."""
    ref = f"lambda:{row.name}"
    task_root = code_dir(ctx, row)
    request_id = str(uuid.uuid4())
    with tempfile.TemporaryDirectory(prefix="labelloop-hook-") as tmp:
        home = Path(tmp)
        request, result = home / "request.json", home / "result.json"
        deadline = time.time() + row.timeout_s  # the subprocess's real clock, not the service's
        request.write_text(json.dumps({
            "handler": row.handler, "event": event, "function_name": row.name, "aws_request_id": request_id,
            "invoked_function_arn": f"arn:aws:lambda:{call.region}:{call.account}:function:{row.name}",
            "memory_limit_in_mb": MEMORY_MB, "deadline": deadline}), encoding="utf-8")
        env = _environment(ctx, row, call, home, task_root)
        proc = subprocess.Popen([sys.executable, "-I", str(BOOTSTRAP), str(request), str(result)], cwd=task_root,
                                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            log, _ = proc.communicate(timeout=row.timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise HookError(f"hook {ref} timed out after {row.timeout_s:g} s (request {request_id})") from None
        tail = log.decode("utf-8", "replace")[-LOG_TAIL:].strip()
        try:
            answer = json.loads(result.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise HookError(f"hook {ref} exited with status {proc.returncode} without an answer"
                            + (f"; its log ends: {tail}" if tail else "")) from None
    if "error" in answer:
        raise HookError(f"hook {ref} failed: {answer['error']}" + (f"; its log ends: {tail}" if tail else ""))
    return answer["result"]
