"""A small read-only S3-compatible endpoint for hooks (``GET``/``HEAD /hook-s3/<bucket>/<key>``, path-style):
a post-annotation Lambda reads ``payload.s3Uri`` with boto3 as it does on AWS, whether the job's output is
local or in S3.

Each call gets its own credentials, scoped to the one object of its payload and valid for the hook's time
limit plus a minute. Nothing is stored: the access key id is a token signed with the installation's secret
key (``core.signing``) that names the object and its expiry, and the secret is an HMAC of that id, so every
process of the installation verifies it (``core.sigv4``) without a table. A request for any other object, a
wrong signature or an expired key is refused as S3 refuses it.

For local output, ``payload.s3Uri`` is ``s3://labelloop-local/<absolute path without its first slash>``;
an ``s3://`` output keeps its own URI.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import unquote

from labelloop.core.errors import Forbidden, NotFound
from labelloop.core.signing import sign, verify
from labelloop.core.sigv4 import verify as verify_sigv4
from labelloop.services.context import Context, utc_now

PATH = "/hook-s3"
LOCAL_BUCKET = "labelloop-local"
KEY_PREFIX = "LLHK"


def hook_uri(uri: str) -> str:
    """The ``s3://`` URI a hook is given for an object labelloop wrote at ``uri``."""
    if uri.startswith("s3://"):
        return uri
    return f"s3://{LOCAL_BUCKET}/{uri.removeprefix('file://').lstrip('/')}"


def _stored_uri(bucket: str, key: str) -> str:
    return f"/{key}" if bucket == LOCAL_BUCKET else f"s3://{bucket}/{key}"


def endpoint_url(ctx: Context) -> str:
    """Where hooks reach this endpoint: the server's public URL and ``/hook-s3``."""
    return public_url(ctx) + PATH


def public_url(ctx: Context) -> str:
    """The URL this server is reached at (``LABELLOOP_PUBLIC_URL``, else ``http://<host>:<port>``)."""
    if ctx.settings.public_url:
        return ctx.settings.public_url.rstrip("/")
    host = ctx.settings.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{ctx.settings.port}"


def _secret(ctx: Context, key_id: str) -> str:
    return hmac.new(ctx.secret_key.encode(), f"hook-s3:{key_id}".encode(), hashlib.sha256).hexdigest()


def read_credentials(ctx: Context, payload_uri: str, *, ttl_s: float) -> tuple[str, str, str]:
    """(endpoint URL, access key id, secret access key) that read ``payload_uri`` (an ``s3://`` URI as the
    hook sees it) and nothing else, for ``ttl_s`` seconds."""
    key_id = KEY_PREFIX + sign(ctx.secret_key, {"k": "hook-s3", "u": payload_uri},
                               ctx.clock() + timedelta(seconds=ttl_s))
    return endpoint_url(ctx), key_id, _secret(ctx, key_id)


@dataclass(frozen=True, slots=True)
class S3Object:
    body: bytes
    etag: str


def get_object(ctx: Context, method: str, raw_path: str, query: str, headers: Mapping[str, str],
               payload_sha256: str) -> S3Object:
    """The object a signed ``GET``/``HEAD /hook-s3/<bucket>/<key>`` names. Raises ``SigV4Error`` (a bad
    signature), ``Forbidden`` (another object than the credentials' own) or ``NotFound``."""
    scopes: dict[str, str] = {}

    def lookup(key_id: str) -> str | None:
        if not key_id.startswith(KEY_PREFIX):
            return None
        try:
            claim = verify(ctx.secret_key, key_id[len(KEY_PREFIX):], ctx.clock())
        except NotFound:
            return None
        if claim.get("k") != "hook-s3" or not isinstance(claim.get("u"), str):
            return None
        scopes[key_id] = claim["u"]
        return _secret(ctx, key_id)

    # the hook signs with its machine's clock: the 15-minute window is checked against real time
    identity = verify_sigv4(method, raw_path, query, headers, payload_sha256, lookup, utc_now(), service="s3")
    bucket, _, key = unquote(raw_path[len(PATH):]).lstrip("/").partition("/")
    if scopes.get(identity.access_key_id) != f"s3://{bucket}/{key}":
        raise Forbidden("Access Denied: these credentials read only their own payload")
    uri = _stored_uri(bucket, key)
    try:
        body = ctx.storage.read_bytes(uri)
    except FileNotFoundError:
        raise NotFound("The specified key does not exist.") from None
    return S3Object(body, hashlib.md5(body, usedforsecurity=False).hexdigest())
