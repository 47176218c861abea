"""Ground Truth's automated data setup: point at a folder or an s3:// prefix the storage policy allows, and
get an input manifest made from the images or text files found there.

- Images (``.jpg``, ``.jpeg``, ``.png``, and ``.gif``, ``.bmp``, ``.webp``, ``.tif(f)``): one line per file,
  ``{"source-ref": "<uri>"}``.
- Text (``.txt``): for a task type that reads a ``source-ref`` text file (named entities), one line per file;
  otherwise one line per non-empty line of each file, ``{"source": "<text>"}`` (as Ground Truth's text
  data setup does).

The manifest is written under the data folder (``<data_dir>/manifests/``), which the policy always allows,
so a read-only bucket is enough; the wizard then creates the job from it as from any manifest.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from pathlib import Path
from typing import IO

from labelloop.core.access import Principal, may_create_jobs
from labelloop.core.errors import Forbidden, NotFound, ValidationError
from labelloop.core.signing import sign, verify
from labelloop.core.tasktypes import get_task_type
from labelloop.services.context import Context
from labelloop.services.views import DataSetupView
from labelloop.storage import Refused

__all__ = ["IMAGE_SUFFIXES", "MAX_FILES", "TEXT_SUFFIXES", "make_manifest", "save_upload", "upload_for"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff")
TEXT_SUFFIXES = (".txt",)
MAX_FILES = 100_000
MAX_TEXT_BYTES = 1 << 20  # per text file read for its lines
FIELD = "data_prefix"


def _media(task_type: str) -> tuple[str, bool]:
    t = get_task_type(task_type)
    if t.media not in ("image", "text"):
        raise ValidationError(f"automated data setup makes image or text manifests; task type '{t.name}' takes "
                              "any data: give a manifest instead", field="task_type")
    return t.media, t.reads_text_ref


def make_manifest(ctx: Context, principal: Principal, prefix: str, task_type: str) -> DataSetupView:
    """List the files of ``prefix`` for ``task_type``'s media and write a manifest of them."""
    if not may_create_jobs(principal):
        raise Forbidden("only requesters and admins create labeling jobs")
    prefix = prefix.strip()
    if not prefix:
        raise ValidationError("give a folder or an s3:// prefix", field=FIELD)
    media, by_file = _media(task_type)
    suffixes = IMAGE_SUFFIXES if media == "image" else TEXT_SUFFIXES
    try:
        found = ctx.storage.list_files(prefix, limit=MAX_FILES * 4)
    except Refused as exc:
        raise ValidationError(f"{FIELD}: {exc.reason}", field=FIELD) from None
    except FileNotFoundError:
        raise ValidationError(f"{FIELD}: no folder {prefix}", field=FIELD) from None
    except OSError as exc:
        raise ValidationError(f"{FIELD}: cannot list {prefix}: {exc}", field=FIELD) from None
    files = [u for u in found if u.lower().endswith(suffixes)][:MAX_FILES]
    if not files:
        raise ValidationError(f"{FIELD}: no {'image' if media == 'image' else 'text'} files "
                              f"({', '.join(suffixes)}) under {prefix}", field=FIELD)
    by_ref = media == "image" or by_file
    lines = [json.dumps({"source-ref": u}) for u in files] if by_ref else _text_lines(ctx, files)
    if not lines:
        raise ValidationError(f"{FIELD}: the text files under {prefix} are empty", field=FIELD)
    now = ctx.clock()
    folder = Path(ctx.settings.data_dir).resolve() / "manifests"
    uri = str(folder / f"setup-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}.manifest")
    ctx.storage.write_bytes(uri, ("\n".join(lines) + "\n").encode())
    return DataSetupView(manifest_uri=uri, count=len(lines), media=media, first_refs=files[:5])


def _text_lines(ctx: Context, files: list[str]) -> list[str]:
    lines: list[str] = []
    for uri in files:
        try:
            with ctx.storage.open_read(uri) as f:
                raw = f.read(MAX_TEXT_BYTES + 1)
        except (Refused, OSError) as exc:
            raise ValidationError(f"{FIELD}: cannot read {uri}: {exc}", field=FIELD) from None
        if len(raw) > MAX_TEXT_BYTES:
            raise ValidationError(f"{FIELD}: {uri} is larger than {MAX_TEXT_BYTES >> 20} MB", field=FIELD)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(f"{FIELD}: {uri} is not UTF-8 text", field=FIELD) from None
        lines += [json.dumps({"source": x.strip()}, ensure_ascii=False) for x in text.splitlines() if x.strip()]
        if len(lines) >= MAX_FILES:
            return lines[:MAX_FILES]
    return lines


UPLOAD_LINK = "u"


def save_upload(ctx: Context, principal: Principal, source: IO[bytes], filename: str) -> tuple[str, str]:
    """Keep a manifest uploaded from the browser under ``<data_dir>/uploads/`` (at most ``manifest_max_mb``);
    returns its URI and a signed token naming it for this user (a form sent again reuses the upload)."""
    if not may_create_jobs(principal):
        raise Forbidden("only requesters and admins create labeling jobs")
    limit = int(ctx.settings.manifest_max_mb * 1e6)
    now = ctx.clock()
    stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in Path(filename or "upload").stem)[:40] or "upload"
    uri = str(Path(ctx.settings.data_dir).resolve() / "uploads" / f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(6)}-{stem}.manifest")
    total = 0
    try:
        with ctx.storage.open_write(uri) as out:
            while block := source.read(1 << 20):
                total += len(block)
                if total > limit:
                    raise ValidationError(f"the manifest is larger than the limit of {limit / 1e6:g} MB",
                                          field="manifest_file")
                out.write(block)
    except (Refused, OSError) as exc:
        raise ValidationError(f"cannot keep the uploaded manifest: {exc}", field="manifest_file") from None
    if total == 0:
        Path(uri).unlink(missing_ok=True)
        raise ValidationError("the uploaded manifest is empty", field="manifest_file")
    token = sign(ctx.secret_key, {"k": UPLOAD_LINK, "r": principal.id, "u": uri}, now + timedelta(days=1))
    return uri, token


def upload_for(ctx: Context, principal: Principal, token: str) -> str:
    """The URI of an earlier upload of this user named by ``save_upload``'s token."""
    try:
        claim = verify(ctx.secret_key, token, ctx.clock())
    except NotFound:
        raise ValidationError("the uploaded manifest expired; choose the file again", field="manifest_file") from None
    uri = claim.get("u")
    if claim.get("k") != UPLOAD_LINK or claim.get("r") != principal.id or not isinstance(uri, str):
        raise ValidationError("choose the manifest file again", field="manifest_file")
    return uri
