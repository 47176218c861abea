"""Pre- and post-annotation hooks (Ground Truth's Lambdas, spec §3.3-§3.4): an HTTP(S) webhook that takes and
returns the Lambda JSON, or ``python:NAME``, a callable registered under the ``labelloop.hooks`` entry point."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from typing import Any

from labelloop.core.errors import ValidationError
from labelloop.storage import Refused, Storage

ENTRY_POINT_GROUP = "labelloop.hooks"
VERSION = "2018-10-16"


class HookError(Exception):
    """The hook failed or answered nonsense; the data object is marked FailedNonRetryableError."""


def validate_hook_ref(ref: str | None, field: str, storage: Storage | None = None) -> None:
    """A hook is ``python:NAME`` (registered) or an http(s) URL the storage access policy allows (its host
    listed, its addresses public or listed); the URL is checked again at every call."""
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
    raise ValidationError("a hook is an http(s):// URL or python:NAME (entry point labelloop.hooks)", field=field)


def call_hook(ref: str, payload: dict, *, storage: Storage | None = None, timeout_s: float = 30.0) -> Any:
    """Call a hook with Lambda-shaped JSON and return its decoded answer. An http(s) hook goes through
    ``storage`` (the access policy, checked at every call; no redirects followed)."""
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


def job_arn(job_name: str) -> str:
    return f"arn:aws:sagemaker:local:000000000000:labeling-job/{job_name.lower()}"


def pre_annotation(ref: str, job_name: str, data_object: dict, *, storage: Storage | None = None,
                   timeout_s: float = 30.0) -> tuple[Any, bool]:
    """Returns (taskInput, human annotation required)."""
    answer = call_hook(ref, {"version": VERSION, "labelingJobArn": job_arn(job_name), "dataObject": data_object},
                       storage=storage, timeout_s=timeout_s)
    if not isinstance(answer, dict) or "taskInput" not in answer:
        raise HookError(f"pre-annotation hook {ref} must answer an object with 'taskInput'; got {str(answer)[:200]}")
    required = answer.get("isHumanAnnotationRequired", answer.get("humanAnnotationRequired", True))
    if isinstance(required, str) and required.lower() in ("true", "false"):
        required = required.lower() == "true"
    if not isinstance(required, bool):
        raise HookError(f"pre-annotation hook {ref}: isHumanAnnotationRequired must be true or false")
    return answer["taskInput"], required


def post_annotation(ref: str, job_name: str, labels: list[str], lan: str, payload_uri: str, *,
                    storage: Storage | None = None, timeout_s: float = 30.0) -> dict[str, dict]:
    """Returns {datasetObjectId: content} where content holds ``<LAN>`` (and maybe ``<LAN>-metadata``)."""
    answer = call_hook(ref, {
        "version": VERSION, "labelingJobArn": job_arn(job_name), "labelCategories": labels,
        "labelAttributeName": lan, "roleArn": "arn:aws:iam::000000000000:role/labelloop",
        "payload": {"s3Uri": payload_uri},
    }, storage=storage, timeout_s=timeout_s)
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
