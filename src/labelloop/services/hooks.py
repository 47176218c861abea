"""Pre- and post-annotation hooks (Ground Truth's Lambdas, spec §3.3-§3.4). A hook reference is one of:

- ``lambda:NAME`` (or a Lambda ARN ``arn:aws:lambda:<region>:<account>:function:NAME``): Python code an admin
  registered under NAME (``labelloop hooks register``), called as Lambda calls it, ``handler(event, context)``,
  in a subprocess of its own for each call (``services/lambda_runner.py``);
- an ``http(s)://`` webhook the storage and host policy allows, that takes and returns the Lambda JSON;
- ``python:NAME``, a callable an installed package registers under the ``labelloop.hooks`` entry point.

Events carry every key Ground Truth sends (``version``, ``labelingJobArn``, ``labelAttributeName``,
``roleArn``, ``outputConfig``, ``maxHumanWorkersPerDataObject``, ``payload.s3Uri``). A failed call or a bad
answer raises ``HookError``: the objects involved fail with its text as the reason, and the job goes on.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select

from labelloop.core.access import may_create_jobs, may_manage_hooks
from labelloop.core.arns import labeling_job_arn
from labelloop.core.errors import Forbidden, LimitExceeded, NotFound, ResourceInUse, ValidationError
from labelloop.db.models import Hook
from labelloop.services.context import Context, Principal
from labelloop.services.events import record
from labelloop.storage import Refused, Storage

ENTRY_POINT_GROUP = "labelloop.hooks"
VERSION = "2018-10-16"
LAMBDA_PREFIX = "lambda:"
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a Lambda function name
LAMBDA_ARN = re.compile(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]{1,64})(?::[\w$-]+)?")
HANDLER = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\.[A-Za-z_]\w*")
MAX_ZIP_BYTES = 50 * 1024 * 1024  # Lambda's limit for a zip uploaded directly
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # and for the code unzipped
DEFAULT_TIMEOUT_S = 30.0
MAX_TIMEOUT_S = 900.0  # Lambda's longest


class HookError(Exception):
    """The hook failed or answered nonsense; the data object is marked FailedNonRetryableError."""


@dataclass(frozen=True, slots=True)
class HookView:
    """A registered hook as listed (without its code)."""

    name: str
    handler: str
    timeout_s: float
    code_sha256: str
    code_bytes: int
    created_at: datetime
    created_by: str


@dataclass(frozen=True, slots=True)
class HookCall:
    """What a call needs besides the event: the job it is for (for ``context.invoked_function_arn`` and the
    per-call read credentials of ``payload.s3Uri``)."""

    region: str = "us-east-1"
    account: str = "000000000000"
    payload_uri: str | None = None


def lambda_ref(value: str) -> str | None:
    """``lambda:NAME`` for ``lambda:NAME`` or a Lambda function ARN (any region, account or qualifier); None for
    anything else. The AWS-compatible API maps ``*LambdaArn`` fields through this."""
    if value.startswith(LAMBDA_PREFIX):
        return value if NAME.fullmatch(value[len(LAMBDA_PREFIX):]) else None
    m = LAMBDA_ARN.fullmatch(value)
    return LAMBDA_PREFIX + m.group(1) if m else None


# --- the registry ------------------------------------------------------------------------------------------

def _code_zip(path: Path, handler: str) -> bytes:
    """The code as the zip Lambda deploys: a folder's files (the folder is the zip's root), a ``.zip`` as is,
    or one ``.py`` file. The handler's module must be in it."""
    if path.is_dir():
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for f in sorted(path.rglob("*")):
                if f.is_file() and "__pycache__" not in f.parts:
                    z.write(f, f.relative_to(path).as_posix())
        data = buf.getvalue()
    elif path.suffix == ".py" and path.is_file():
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.write(path, path.name)
        data = buf.getvalue()
    elif path.is_file():
        data = path.read_bytes()
    else:
        raise ValidationError(f"code: {path} is not a folder, a .zip or a .py file", field="code")
    if len(data) > MAX_ZIP_BYTES:
        raise LimitExceeded(f"code: the zip is {len(data):,} bytes; the limit is {MAX_ZIP_BYTES:,}", field="code")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            unzipped = sum(i.file_size for i in z.infolist())
            bad = [n for n in names if n.startswith("/") or ".." in n.split("/")]
    except zipfile.BadZipFile:
        raise ValidationError(f"code: {path} is not a zip file", field="code") from None
    if bad:
        raise ValidationError(f"code: the zip names a path outside itself: {bad[0]}", field="code")
    if unzipped > MAX_UNZIPPED_BYTES:
        raise LimitExceeded(f"code: {unzipped:,} bytes unzipped; the limit is {MAX_UNZIPPED_BYTES:,}", field="code")
    module = handler.rsplit(".", 1)[0].replace(".", "/")
    if f"{module}.py" not in names and f"{module}/__init__.py" not in names:
        raise ValidationError(f"handler: the code has no module {module}.py for handler '{handler}'", field="handler")
    return data


def register_hook(ctx: Context, actor: Principal, name: str, code: Path, *,
                  handler: str = "lambda_function.lambda_handler", timeout_s: float = DEFAULT_TIMEOUT_S,
                  environment: dict[str, str] | None = None, replace: bool = False) -> HookView:
    """Register (or with ``replace``, update) the hook NAME: code that runs on the server, so admins only."""
    if not may_manage_hooks(actor):
        raise Forbidden("only an admin registers hooks: they are code that runs on the server")
    if not NAME.fullmatch(name):
        raise ValidationError("name: 1 to 64 letters, digits, hyphens or underscores (a Lambda function name)",
                              field="name")
    if not HANDLER.fullmatch(handler):
        raise ValidationError("handler: module.function, e.g. lambda_function.lambda_handler", field="handler")
    if not 0 < timeout_s <= MAX_TIMEOUT_S:
        raise ValidationError(f"timeout_s: more than 0 and at most {MAX_TIMEOUT_S:g} seconds", field="timeout_s")
    env = environment or {}
    for key in env:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ValidationError(f"environment: '{key}' is not a variable name", field="environment")
    data = _code_zip(code, handler)
    now = ctx.clock()
    row = {"name": name, "handler": handler, "code_zip": data, "code_sha256": hashlib.sha256(data).hexdigest(),
           "timeout_s": float(timeout_s), "environment": json.dumps(env), "created_at": now,
           "created_by": actor.username}

    def unit(conn: Any) -> None:
        exists = conn.execute(select(Hook.id).where(Hook.name == name)).first()
        if exists and not replace:
            raise ResourceInUse(f"a hook '{name}' is registered already (replace it with --replace)", field="name")
        if exists:
            conn.execute(delete(Hook).where(Hook.name == name))
        conn.execute(insert(Hook).values(**row))
        record(conn, "hook.registered", at=now, actor=actor.username, name=name, handler=handler,
               code_sha256=row["code_sha256"])

    ctx.write(unit)
    return HookView(name, handler, float(timeout_s), row["code_sha256"], len(data), now, actor.username)


def list_hooks(ctx: Context, principal: Principal | None = None) -> list[HookView]:
    """Every registered hook, by name: anyone who may create jobs may choose among them (``principal`` None:
    the CLI, which acts on the server's own database)."""
    if principal is not None and not may_create_jobs(principal):
        raise Forbidden("only requesters and admins choose hooks")
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(Hook.name, Hook.handler, Hook.timeout_s, Hook.code_sha256,
                                   func.length(Hook.code_zip).label("size"), Hook.created_at, Hook.created_by)
                            .order_by(Hook.name)).all()
    return [HookView(r.name, r.handler, r.timeout_s, r.code_sha256, int(r.size), r.created_at, r.created_by)
            for r in rows]


def remove_hook(ctx: Context, actor: Principal, name: str) -> None:
    """Remove a registered hook; jobs naming it fail their objects with "no hook" from then on."""
    if not may_manage_hooks(actor):
        raise Forbidden("only an admin removes hooks")

    def unit(conn: Any) -> None:
        if conn.execute(delete(Hook).where(Hook.name == name)).rowcount == 0:
            raise NotFound(f"no hook '{name}' is registered", field="name")
        record(conn, "hook.removed", at=ctx.clock(), actor=actor.username, name=name)

    ctx.write(unit)


def _registered(ctx: Context, name: str) -> Any:
    """The hook's row without its code (``hook_code`` reads that, once per process and version)."""
    with ctx.engine.connect() as conn:
        return conn.execute(select(Hook.name, Hook.handler, Hook.code_sha256, Hook.timeout_s, Hook.environment)
                            .where(Hook.name == name)).first()


def hook_code(ctx: Context, name: str, sha256: str) -> bytes:
    """The zip of hook ``name`` at version ``sha256``."""
    with ctx.engine.connect() as conn:
        data = conn.execute(select(Hook.code_zip).where(Hook.name == name, Hook.code_sha256 == sha256)).scalar()
    if data is None:
        raise HookError(f"hook lambda:{name} was replaced or removed during the call")
    return bytes(data)


# --- references and calls ----------------------------------------------------------------------------------

def validate_hook_ref(ref: str | None, field: str, storage: Storage | None = None, *,
                      ctx: Context | None = None) -> None:
    """A hook is a registered ``lambda:NAME`` (or Lambda ARN), ``python:NAME`` (entry point) or an http(s) URL
    the storage access policy allows (its host listed, its addresses public or listed; checked again at
    every call)."""
    if ref is None:
        return
    if ref.startswith(("http://", "https://")):
        if storage is None:
            raise ValidationError(f"{field}: http(s) hooks need the storage access policy", field=field)
        try:
            storage.check(ref)
        except Refused as exc:
            raise ValidationError(f"{field}: {exc.reason}", field=field) from None
        except OSError as exc:
            raise ValidationError(f"{field}: {ref}: {exc}", field=field) from None
        return
    if ref.startswith("python:"):
        name = ref[len("python:"):]
        if not any(ep.name == name for ep in entry_points(group=ENTRY_POINT_GROUP)):
            raise ValidationError(f"no hook '{name}' is registered under the '{ENTRY_POINT_GROUP}' entry point", field=field)
        return
    lam = lambda_ref(ref)
    if lam is not None:
        if ctx is not None and _registered(ctx, lam[len(LAMBDA_PREFIX):]) is None:
            raise ValidationError(f"{field}: no hook '{lam[len(LAMBDA_PREFIX):]}' is registered (an admin registers "
                                  "it with `labelloop hooks register`)", field=field)
        return
    raise ValidationError(f"{field}: a hook is lambda:NAME (a registered hook, or its Lambda ARN), an http(s):// "
                          "URL or python:NAME (entry point labelloop.hooks)", field=field)


def call_hook(ref: str, payload: dict, *, storage: Storage | None = None, timeout_s: float = 30.0,
              ctx: Context | None = None, call: HookCall | None = None) -> Any:
    """Call a hook with Lambda-shaped JSON and return its decoded answer. An http(s) hook goes through
    ``storage`` (the access policy, checked at every call; no redirects followed)."""
    lam = lambda_ref(ref)
    if lam is not None:
        if ctx is None:
            raise HookError(f"hook {ref}: registered hooks need the service context")
        row = _registered(ctx, lam[len(LAMBDA_PREFIX):])
        if row is None:
            raise HookError(f"hook {ref}: no hook '{lam[len(LAMBDA_PREFIX):]}' is registered")
        from labelloop.services.lambda_runner import invoke

        return invoke(ctx, row, payload, call or HookCall())
    try:
        if ref.startswith("python:"):
            name = ref[len("python:"):]
            (ep,) = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
            return json.loads(json.dumps(ep.load()(payload)))
        if storage is None:
            raise HookError(f"hook {ref}: http(s) hooks need the storage access policy")
        status, body = storage.post_json(ref, payload, timeout_s=timeout_s)
    except HookError:
        raise
    except Refused as exc:
        raise HookError(f"hook {ref} refused: {exc.reason}") from None
    except Exception as exc:  # whatever the hook did wrong is the object's failure reason
        raise HookError(f"hook {ref} failed: {type(exc).__name__}: {exc}") from None
    text = body.decode("utf-8", "replace")
    if status >= 300:
        raise HookError(f"hook {ref} answered HTTP {status}: {text[:200]}")
    try:
        return json.loads(body)
    except ValueError:
        raise HookError(f"hook {ref} did not answer JSON: {text[:200]!r}") from None


def call_for(ctx: Context, job: Any, *, payload_uri: str | None = None) -> HookCall:
    """The region and account of the installation's ARNs (the AWS-compatible API's settings) for a call."""
    return HookCall(region=ctx.settings.aws_region, account=ctx.settings.aws_account_id, payload_uri=payload_uri)


def pre_annotation(ref: str, job_name: str, data_object: dict, *, storage: Storage | None = None,
                   timeout_s: float = 30.0, ctx: Context | None = None,
                   call: HookCall | None = None) -> tuple[Any, bool]:
    """Returns (taskInput, human annotation required)."""
    c = call or HookCall()
    answer = call_hook(ref, {"version": VERSION, "labelingJobArn": labeling_job_arn(c.region, c.account, job_name),
                             "dataObject": data_object}, storage=storage, timeout_s=timeout_s, ctx=ctx, call=c)
    if not isinstance(answer, dict) or "taskInput" not in answer:
        raise HookError(f"pre-annotation hook {ref} must answer an object with 'taskInput'; got {str(answer)[:200]}")
    required = answer.get("isHumanAnnotationRequired", answer.get("humanAnnotationRequired", True))
    if isinstance(required, str) and required.lower() in ("true", "false"):
        required = required.lower() == "true"
    if not isinstance(required, bool):
        raise HookError(f"pre-annotation hook {ref}: isHumanAnnotationRequired must be true or false")
    return answer["taskInput"], required


def post_annotation_event(job: Any, labels: list[str], payload_uri: str, c: HookCall) -> dict[str, Any]:
    """The post-annotation event, with every key Ground Truth sends (and ``labelCategories``, which its
    older events carry)."""
    lan = job.label_attribute_name
    return {
        "version": VERSION, "labelingJobArn": labeling_job_arn(c.region, c.account, job.name), "labelCategories": labels,
        "labelAttributeName": lan,
        "roleArn": job.role_arn or f"arn:aws:iam::{c.account}:role/labelloop",
        "outputConfig": job.output_uri.rstrip("/") + "/annotations",
        "maxHumanWorkersPerDataObject": job.workers_per_object,
        "payload": {"s3Uri": payload_uri},
    }


def post_annotation(ref: str, event: dict[str, Any], *, storage: Storage | None = None, timeout_s: float = 30.0,
                    ctx: Context | None = None, call: HookCall | None = None) -> tuple[dict[str, dict], Any]:
    """({datasetObjectId: content}, the hook's answer as it came) where content holds ``<LAN>`` (and maybe
    ``<LAN>-metadata``)."""
    lan = event["labelAttributeName"]
    answer = call_hook(ref, event, storage=storage, timeout_s=timeout_s, ctx=ctx, call=call)
    if not isinstance(answer, list):
        raise HookError(f"post-annotation hook {ref} must answer a list; got {type(answer).__name__}")
    out = {}
    for entry in answer:
        try:
            content = entry["consolidatedAnnotation"]["content"]
            key = str(entry["datasetObjectId"])
        except (KeyError, TypeError):
            raise HookError(f"post-annotation hook {ref}: each entry needs datasetObjectId and "
                            "consolidatedAnnotation.content") from None
        if not isinstance(content, dict) or lan not in content:
            raise HookError(f"post-annotation hook {ref}: content of object {key} has no '{lan}'")
        out[key] = content
    return out, answer
