"""Pre- and post-annotation hooks (Ground Truth's Lambdas, spec §3.3-§3.4): an HTTP(S) webhook that takes and
returns the Lambda JSON, or ``python:NAME``, a callable registered under the ``labelloop.hooks`` entry point."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from typing import Any

import httpx

from labelloop.core.errors import ValidationError

ENTRY_POINT_GROUP = "labelloop.hooks"
VERSION = "2018-10-16"


class HookError(Exception):
    """The hook failed or answered nonsense; the data object is marked FailedNonRetryableError."""


def validate_hook_ref(ref: str | None, field: str) -> None:
    if ref is None:
        return
    if ref.startswith(("http://", "https://")):
        return
    if ref.startswith("python:"):
        name = ref[len("python:"):]
        if not any(ep.name == name for ep in entry_points(group=ENTRY_POINT_GROUP)):
            raise ValidationError(f"no hook '{name}' is registered under the '{ENTRY_POINT_GROUP}' entry point", field=field)
        return
    raise ValidationError("a hook is an http(s):// URL or python:NAME (entry point labelloop.hooks)", field=field)


def call_hook(ref: str, payload: dict, *, timeout_s: float = 30.0) -> Any:
    """Call a hook with Lambda-shaped JSON and return its decoded answer."""
    try:
        if ref.startswith("python:"):
            name = ref[len("python:"):]
            (ep,) = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
            return json.loads(json.dumps(ep.load()(payload)))
        r = httpx.post(ref, json=payload, timeout=timeout_s)
    except HookError:
        raise
    except Exception as exc:  # whatever the hook did wrong is the object's failure reason
        raise HookError(f"hook {ref} failed: {type(exc).__name__}: {exc}") from None
    if r.status_code >= 300:
        raise HookError(f"hook {ref} answered HTTP {r.status_code}: {r.text[:200]}")
    try:
        return r.json()
    except ValueError:
        raise HookError(f"hook {ref} did not answer JSON: {r.text[:200]!r}") from None


def job_arn(job_name: str) -> str:
    return f"arn:aws:sagemaker:local:000000000000:labeling-job/{job_name.lower()}"


def pre_annotation(ref: str, job_name: str, data_object: dict) -> tuple[Any, bool]:
    """Returns (taskInput, human annotation required)."""
    answer = call_hook(ref, {"version": VERSION, "labelingJobArn": job_arn(job_name), "dataObject": data_object})
    if not isinstance(answer, dict) or "taskInput" not in answer:
        raise HookError(f"pre-annotation hook {ref} must answer an object with 'taskInput'; got {str(answer)[:200]}")
    required = answer.get("isHumanAnnotationRequired", answer.get("humanAnnotationRequired", True))
    if isinstance(required, str) and required.lower() in ("true", "false"):
        required = required.lower() == "true"
    if not isinstance(required, bool):
        raise HookError(f"pre-annotation hook {ref}: isHumanAnnotationRequired must be true or false")
    return answer["taskInput"], required


def post_annotation(ref: str, job_name: str, labels: list[str], lan: str, payload_uri: str) -> dict[str, dict]:
    """Returns {datasetObjectId: content} where content holds ``<LAN>`` (and maybe ``<LAN>-metadata``)."""
    answer = call_hook(ref, {
        "version": VERSION, "labelingJobArn": job_arn(job_name), "labelCategories": labels,
        "labelAttributeName": lan, "roleArn": "arn:aws:iam::000000000000:role/labelloop",
        "payload": {"s3Uri": payload_uri},
    })
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
    return out
