"""The create-job wizard (``/console/create``), clone (``?clone=NAME``) and the live preview.

One form in four steps (data, task and labels, instructions, workers and pay). The server validates it with
the job-creation request schema (``services.jobs.JobSpec``) and then ``services.jobs.create_job`` itself,
which checks everything before it writes anything; each error is shown at its field (the error's ``field``
mapped to the form's). The preview (``/console/create/preview``) is the worker's task frame for the
manifest's first object, in an ``<iframe>`` with the worker frame's sandbox and policy
(``services.wizard_preview``); the instructions beside it are shown as the worker portal shows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any

import pydantic
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from labelloop.core.errors import LabelloopError, ManifestError, ValidationError
from labelloop.core.names import validate_job_name
from labelloop.core.tasktypes import TASK_TYPES, get_task_type
from labelloop.services import data_setup, jobs, users, wizard_preview
from labelloop.services.context import Context, Principal
from labelloop.services.templates import frame_sources
from labelloop.web.api import data_response
from labelloop.web.console._shell import console_router, page, pages, requester, requester_write
from labelloop.web.deps import get_ctx
from labelloop.web.headers import FRAME_SANDBOX, frame_csp

router = console_router()
Me = Annotated[Principal, Depends(requester)]
Writer = Annotated[Principal, Depends(requester_write)]
Ctx = Annotated[Context, Depends(get_ctx)]

SOURCES = ("upload", "uri", "folder")
TEXT_FIELDS = ("name", "source", "manifest_uri", "data_prefix", "upload_token", "preview_line", "task_type",
               "label_attribute_name", "ui_template", "title", "description", "short_instruction",
               "full_instruction", "good_examples", "bad_examples", "workers_per_object", "task_time_limit_s",
               "availability_h", "price_per_task_usd", "team", "output_uri")
DEFAULTS = {"source": "upload", "task_type": "image-classification", "workers_per_object": "3",
            "task_time_limit_s": "300", "availability_h": "240", "price_per_task_usd": "0.036"}
# the spec's fields that the form names otherwise
SPEC_TO_FORM = {"label_config": "labels", "label_config_uri": "labels", "LabelCategoryConfig": "labels",
                "task_availability_lifetime_s": "availability_h", "keywords": "title"}
STEP_OF = {"name": 1, "manifest_file": 1, "manifest_uri": 1, "data_prefix": 1, "source": 1, "task_type": 2,
           "label_attribute_name": 2, "labels": 2, "ui_template": 2, "title": 3, "description": 3,
           "short_instruction": 3, "full_instruction": 3, "good_examples": 3, "bad_examples": 3}
MAX_LABEL_ROWS = 60


@dataclass
class WizardForm:
    """What the requester typed (kept to show the form again) and the errors by form field."""

    values: dict[str, str]
    labels: list[tuple[str, str]]
    errors: dict[str, str] = field(default_factory=dict)
    upload: UploadFile | None = None

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)


def parse_form(form: FormData) -> WizardForm:
    values = {k: str(form.get(k) or "").strip() if k not in ("short_instruction", "full_instruction",
                                                             "good_examples", "bad_examples", "ui_template")
              else str(form.get(k) or "") for k in TEXT_FIELDS}
    names, keys = form.getlist("label"), form.getlist("label_key")
    labels = [(str(n).strip(), str(keys[i]).strip() if i < len(keys) else "") for i, n in enumerate(names)]
    labels = [(n, k) for n, k in labels if n or k][:MAX_LABEL_ROWS]
    upload = form.get("manifest_file")
    return WizardForm(values=values, labels=labels,
                      upload=upload if isinstance(upload, UploadFile) and upload.filename else None)


def compose_full_instruction(full: str, good: str, bad: str) -> str:
    """The full instructions a worker reads: the text, then the examples of good and bad answers (the same
    composition as static/console-wizard.js makes for the live preview)."""
    parts = [full.strip()]
    if good.strip():
        parts.append(f'<h3>Good examples</h3>\n<div class="examples good">{good.strip()}</div>')
    if bad.strip():
        parts.append(f'<h3>Bad examples</h3>\n<div class="examples bad">{bad.strip()}</div>')
    return "\n".join(p for p in parts if p)


_EXAMPLES = re.compile(r'\n?<h3>(Good|Bad) examples</h3>\n<div class="examples (?:good|bad)">(.*?)</div>(?=\n<h3>|$)',
                       re.S)


def split_full_instruction(full: str) -> tuple[str, str, str]:
    """``compose_full_instruction`` undone (for a clone): the text, the good and the bad examples."""
    found = {kind.lower(): body for kind, body in _EXAMPLES.findall(full)}
    return _EXAMPLES.sub("", full).strip(), found.get("good", ""), found.get("bad", "")


def _number(w: WizardForm, name: str, kind: type, what: str) -> Any:
    text = w.values.get(name, "")
    try:
        return kind(text)
    except ValueError:
        w.error(name, f"{what} must be a number" + (" of whole units" if kind is int else ""))
        return None


def _label_config(w: WizardForm) -> dict[str, Any]:
    labels = []
    seen_keys: set[str] = set()
    for name, key in w.labels:
        if not name:
            w.error("labels", f"the shortcut key '{key}' has no label")
            continue
        entry: dict[str, Any] = {"label": name}
        if key:
            if len(key) != 1 or not key.isprintable() or key == " ":
                w.error("labels", f"the shortcut key of '{name}' must be one character; got '{key}'")
            elif key.lower() in seen_keys:
                w.error("labels", f"the shortcut key '{key}' is given to two labels")
            seen_keys.add(key.lower())
            entry["key"] = key
        labels.append(entry)
    return {"document-version": "2018-11-28", "labels": labels}


def build_spec(ctx: Context, me: Principal, w: WizardForm, manifest_uri: str) -> dict[str, Any]:
    """The job-creation request from the form (errors of form-only fields recorded in ``w``)."""
    v = w.values
    task_type = v["task_type"]
    lan = v["label_attribute_name"] or v["name"]
    if task_type in TASK_TYPES and TASK_TYPES[task_type].lan_must_end_with_ref and not lan.endswith("-ref"):
        lan = (lan + "-ref") if not v["label_attribute_name"] else lan
    hours = _number(w, "availability_h", float, "Availability")
    spec: dict[str, Any] = {
        "name": v["name"], "task_type": task_type, "label_attribute_name": lan,
        "input_manifest_uri": manifest_uri, "label_config": _label_config(w), "team": v["team"],
        "workers_per_object": _number(w, "workers_per_object", int, "Workers per object"),
        "task_time_limit_s": _number(w, "task_time_limit_s", int, "The time limit"),
        "task_availability_lifetime_s": None if hours is None else round(hours * 3600),
        "price_per_task_usd": _number(w, "price_per_task_usd", float, "The price"),
        "title": v["title"], "description": v["description"], "short_instruction": v["short_instruction"],
        "full_instruction": compose_full_instruction(v["full_instruction"], v["good_examples"], v["bad_examples"]),
    }
    if v["ui_template"].strip():
        spec["ui_template"] = v["ui_template"]
    if v["output_uri"]:
        spec["output_uri"] = v["output_uri"]
    if not v["team"]:
        w.error("team", "choose the work team whose workers label this job")
    return spec


def _form_field(w: WizardForm, spec_field: str | None) -> str:
    source_field = {"upload": "manifest_file", "uri": "manifest_uri", "folder": "data_prefix"}.get(
        w.values["source"], "manifest_uri")
    if spec_field in ("input_manifest_uri", "gold_manifest_uri"):
        return source_field
    name = SPEC_TO_FORM.get(spec_field or "", spec_field or "form")
    return name if name in STEP_OF or name in TEXT_FIELDS else "form"


def _message(exc: LabelloopError) -> str:
    text = exc.message
    if exc.field and text.startswith(f"{exc.field}: "):
        text = text[len(exc.field) + 2:]
    if isinstance(exc, ManifestError) and exc.details:
        lines = "; ".join(f"line {d.get('line')}: {d.get('reason')}" for d in exc.details[:3] if isinstance(d, dict))
        text = f"{text} ({lines})" if lines and lines not in text else text
    return text


def pydantic_errors(w: WizardForm, exc: pydantic.ValidationError) -> None:
    for e in exc.errors():
        loc = str(e["loc"][0]) if e.get("loc") else None
        name = _form_field(w, loc)
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        if name == "availability_h" and ("greater" in msg or "less" in msg):
            msg = "tasks stay available between 1 minute (0.017 h) and 30 days (720 h)"
        w.error(name, msg[0].upper() + msg[1:] if msg else msg)


def _resolve_source(ctx: Context, me: Principal, w: WizardForm) -> str:
    """The manifest URI the form names, after a cheap check (the folder is listed only once all else is
    right: ``_make_manifest``)."""
    v = w.values
    if v["source"] not in SOURCES:
        w.error("source", "choose where the data comes from")
        return ""
    if v["source"] == "upload":
        if w.upload is not None:
            try:
                uri, token = data_setup.save_upload(ctx, me, w.upload.file, w.upload.filename or "")
            except ValidationError as exc:
                w.error("manifest_file", exc.message)
                return ""
            v["upload_token"] = token
            return uri
        if v["upload_token"]:
            try:
                return data_setup.upload_for(ctx, me, v["upload_token"])
            except ValidationError as exc:
                v["upload_token"] = ""
                w.error("manifest_file", exc.message)
                return ""
        w.error("manifest_file", "choose a manifest file (JSON Lines: one object per line)")
        return ""
    if v["source"] == "uri":
        if not v["manifest_uri"]:
            w.error("manifest_uri", "give the manifest's location: a path, s3:// or https:// URI")
        return v["manifest_uri"]
    if not v["data_prefix"]:
        w.error("data_prefix", "give a folder or an s3:// prefix with the images or text files")
    return "(made from the folder)"


def validate_and_create(ctx: Context, me: Principal, w: WizardForm) -> str | None:
    """Every check the form and the schema can make, then ``create_job`` (which checks the rest before it
    writes); the job's name, or None with ``w.errors`` set."""
    uri = _resolve_source(ctx, me, w)
    try:
        validate_job_name(w.values["name"], field="name")
    except ValidationError as exc:
        w.error("name", _message(exc))
    try:
        get_task_type(w.values["task_type"])
    except ValidationError as exc:
        w.error("task_type", _message(exc))
    spec_data = build_spec(ctx, me, w, uri or "-")
    try:
        spec = jobs.JobSpec.model_validate({k: v for k, v in spec_data.items() if v is not None})
    except pydantic.ValidationError as exc:
        pydantic_errors(w, exc)
        return None
    if w.errors:
        return None
    try:
        if w.values["source"] == "folder":
            made = data_setup.make_manifest(ctx, me, w.values["data_prefix"], spec.task_type)
            spec = spec.model_copy(update={"input_manifest_uri": made.manifest_uri})
        jobs.create_job(ctx, me, spec)
    except LabelloopError as exc:
        w.error(_form_field(w, exc.field), _message(exc))
        return None
    return spec.name


def _teams(ctx: Context, me: Principal) -> list[str]:
    return [t.name for t in users.list_teams(ctx, me) if t.members is not None]


def _task_types() -> list[tuple[str, str]]:
    return [(name, t.media) for name, t in sorted(TASK_TYPES.items())]


def _render(request: Request, ctx: Context, me: Principal, w: WizardForm, *, status_code: int = 200,
            clone_of: str | None = None) -> HTMLResponse:
    rows = list(w.labels) + [("", "")] * max(3, 6 - len(w.labels))
    first_step = min((STEP_OF.get(f, 4) for f in w.errors), default=1)
    return page(request, "console/wizard.html", me, status_code=status_code, active="create", v=w.values,
                label_rows=rows, errors=w.errors, teams=_teams(ctx, me), task_types=_task_types(),
                frame_sandbox=FRAME_SANDBOX, clone_of=clone_of, first_step=first_step,
                short_html=w.values.get("short_instruction", ""),
                full_html=compose_full_instruction(w.values.get("full_instruction", ""),
                                                   w.values.get("good_examples", ""),
                                                   w.values.get("bad_examples", "")))


def _clone(ctx: Context, me: Principal, name: str) -> WizardForm:
    job = jobs.describe_job(ctx, me, name)
    root = job.output_uri.rstrip("/").rsplit("/", 1)[0]
    values = {k: "" for k in TEXT_FIELDS}
    values.update({
        "name": f"{job.name}-copy"[:63], "source": "uri", "manifest_uri": job.input_manifest_uri,
        "task_type": job.task_type, "label_attribute_name": job.label_attribute_name, "title": job.title,
        "description": job.description, "short_instruction": job.short_instruction,
        "workers_per_object": str(job.workers_per_object),
        "task_time_limit_s": str(job.task_time_limit_s),
        "availability_h": f"{job.task_availability_lifetime_s / 3600:g}",
        "price_per_task_usd": f"{job.price_per_task_usd:g}", "team": job.team, "output_uri": root})
    values["full_instruction"], values["good_examples"], values["bad_examples"] = split_full_instruction(
        job.full_instruction)
    labels = [(str(x.get("label", "")), str(x.get("key") or "")) for x in job.label_config.get("labels", [])]
    return WizardForm(values=values, labels=labels)


@router.get("/create")
def wizard(request: Request, me: Me, ctx: Ctx, clone: str | None = None):
    if clone:
        w = _clone(ctx, me, clone)
    else:
        w = WizardForm(values={**{k: "" for k in TEXT_FIELDS}, **DEFAULTS}, labels=[])
        teams = _teams(ctx, me)
        w.values["team"] = teams[0] if len(teams) == 1 else ""
    return _render(request, ctx, me, w, clone_of=clone)


@router.post("/create")
async def create(request: Request, me: Writer, ctx: Ctx):
    w = parse_form(await request.form())
    name = await run_in_threadpool(validate_and_create, ctx, me, w)
    if name is None:
        return await run_in_threadpool(_render, request, ctx, me, w, status_code=400)
    return RedirectResponse(f"/console/jobs/{name}?created=1", status_code=303)


def _preview_line(ctx: Context, me: Principal, w: WizardForm) -> dict[str, Any] | None:
    v = w.values
    if v["preview_line"].strip():
        return wizard_preview.parse_line(v["preview_line"], "manifest_file")
    if v["source"] == "upload" and w.upload is not None:
        first = next((raw for raw in w.upload.file if raw.strip()), b"")
        return wizard_preview.parse_line(first, "manifest_file") if first else None
    if v["source"] == "upload" and v["upload_token"]:  # a form sent back: the file kept from before
        return wizard_preview.first_line(ctx, data_setup.upload_for(ctx, me, v["upload_token"]), "manifest_file")
    if v["source"] == "uri" and v["manifest_uri"]:
        return wizard_preview.first_line(ctx, v["manifest_uri"], "manifest_uri")
    if v["source"] == "folder" and v["data_prefix"]:
        return _folder_line(ctx, v["data_prefix"], v["task_type"])
    return None


def _folder_line(ctx: Context, prefix: str, task_type: str) -> dict[str, Any] | None:
    t = get_task_type(task_type)
    suffixes = data_setup.IMAGE_SUFFIXES if t.media == "image" else data_setup.TEXT_SUFFIXES
    try:
        found = ctx.storage.list_files(prefix, limit=200)
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot list {prefix}: {exc}", field="data_prefix") from None
    first = next((u for u in found if u.lower().endswith(suffixes)), None)
    return None if first is None else {"source-ref": first}


def preview_html(ctx: Context, me: Principal, w: WizardForm) -> tuple[str, str | None]:
    """The task frame's body for the preview, or an error to show in its place."""
    try:
        line = _preview_line(ctx, me, w)
        t = get_task_type(w.values["task_type"])
        if line is None:
            line = {"source": "An example text: give the data to see a real object here."} \
                if t.media != "image" else {"source-ref": ""}
        config = _label_config(w)
        html = wizard_preview.render_preview(
            ctx, me, task_type=t.name, labels=config["labels"], short_instruction=w.values["short_instruction"],
            full_instruction=compose_full_instruction(w.values["full_instruction"], w.values["good_examples"],
                                                      w.values["bad_examples"]),
            ui_template=w.values["ui_template"] or None, line=line)
        return html, None
    except LabelloopError as exc:
        return "", _message(exc)


@router.post("/create/preview")
async def preview(request: Request, me: Writer, ctx: Ctx):
    w = parse_form(await request.form())
    body, error = await run_in_threadpool(preview_html, ctx, me, w)
    origin = f"{request.url.scheme}://{request.url.netloc}"
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": frame_csp(origin, frame_sources(ctx)),
               "X-Frame-Options": "SAMEORIGIN"}
    return pages.TemplateResponse(request, "console/wizard_frame.html", {"task_html": body, "error": error},
                                  headers=headers)


@router.get("/create/data/{token}")
def preview_data(token: str, ctx: Ctx):
    """A preview's ``grant_read_access`` link (no session: the sandboxed frame sends no cookie)."""
    return data_response(ctx, wizard_preview.resolve_preview_link(ctx, token))
