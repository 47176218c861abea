"""AWS Signature Version 4, verified the way AWS verifies it: pure, over the request as it came off the wire.

``verify(...)`` takes the request's method, raw (still percent-encoded) path and query, its headers, the
SHA-256 of its body, a function from access key id to secret, and the time now. It accepts the
``Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`` header form and the
presigned query form (``X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=…&X-Amz-Signature=…``), builds
the canonical request and the string to sign as botocore's signer does (``botocore/auth.py``: paths of
services other than S3 are encoded twice; S3's once, never normalized), and returns the identity that
signed it, or raises ``SigV4Error``.

Guarantees:
- the signature is compared in constant time; an unknown key, a wrong signature and a stale signature
  are told apart by ``SigV4Error.kind`` (never by timing of the comparison);
- a header-signed request is stale when its ``X-Amz-Date`` is more than 15 minutes from ``now`` either
  way (AWS's rule); a presigned URL is stale after its ``X-Amz-Expires`` (at most 7 days) or when it is
  dated more than 15 minutes in the future;
- ``host`` must be signed, the credential's date must be the request's date and, when ``service`` is
  given, its service that service;
- a body whose hash differs from a signed ``X-Amz-Content-SHA256`` is a mismatch; ``UNSIGNED-PAYLOAD``
  and ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` are taken as S3 takes them (the body is not signed); signed
  streaming (``aws-chunked``) payloads are refused as unsupported.

``SigV4Error.json_code`` is the ``__type`` a JSON-protocol service (SageMaker) answers, ``s3_code`` the
``<Code>`` S3 answers; ``json_status`` and ``s3_status`` their HTTP statuses.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from urllib.parse import quote, unquote

from labelloop.core.errors import Unauthorized

__all__ = [
    "ALGORITHM",
    "MAX_SKEW",
    "SigV4Error",
    "SigV4ErrorKind",
    "SigV4Identity",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "sign",
    "signing_key",
    "string_to_sign",
    "verify",
]

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGN_EXPIRES_S = 7 * 24 * 3600
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class SigV4ErrorKind(StrEnum):
    MISSING = "missing"  # no signature at all
    INCOMPLETE = "incomplete"  # an Authorization header or presigned query that does not parse
    UNKNOWN_KEY = "unknown_key"  # an access key id labelloop did not issue (or revoked)
    MISMATCH = "mismatch"  # the signature is not the one the secret gives
    EXPIRED = "expired"  # outside the 15-minute window, or past a presigned URL's expiry


# kind -> (JSON protocol __type, HTTP status, S3 code, HTTP status)
_CODES: dict[SigV4ErrorKind, tuple[str, int, str, int]] = {
    SigV4ErrorKind.MISSING: ("MissingAuthenticationTokenException", 400, "AccessDenied", 403),
    SigV4ErrorKind.INCOMPLETE: ("IncompleteSignatureException", 400, "AuthorizationHeaderMalformed", 400),
    SigV4ErrorKind.UNKNOWN_KEY: ("UnrecognizedClientException", 400, "InvalidAccessKeyId", 403),
    SigV4ErrorKind.MISMATCH: ("InvalidSignatureException", 400, "SignatureDoesNotMatch", 403),
    SigV4ErrorKind.EXPIRED: ("InvalidSignatureException", 400, "RequestTimeTooSkewed", 403),
}


class SigV4Error(Unauthorized):
    """A request whose signature does not verify; ``kind`` says why (and maps to AWS's codes)."""

    def __init__(self, kind: SigV4ErrorKind, message: str, *, presigned: bool = False):
        super().__init__(message)
        self.kind = kind
        self.presigned = presigned
        self.json_code, self.json_status, self.s3_code, self.s3_status = _CODES[kind]
        if kind is SigV4ErrorKind.EXPIRED and presigned:
            self.s3_code = "AccessDenied"  # S3 answers an expired presigned URL so
        self.code = self.json_code


@dataclass(frozen=True, slots=True)
class SigV4Identity:
    """Who signed a request that verified, and for which region and service."""

    access_key_id: str
    region: str
    service: str
    signed_at: datetime


@dataclass(frozen=True, slots=True)
class _Parsed:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    amz_date: str
    expires_s: int | None  # presigned only


def canonical_uri(path: str, service: str) -> str:
    """The canonical URI of a raw path: S3's encoded once as sent; other services' normalized and encoded
    again (botocore encodes the already-encoded path a second time)."""
    path = path or "/"
    if service == "s3":
        return quote(unquote(path), safe="/~")
    return quote(_remove_dot_segments(path), safe="/~")


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, as botocore's ``normalize_url_path`` (which also keeps a trailing slash)."""
    if not path:
        return "/"
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out:
                out.pop()
        else:
            out.append(part)
    result = "/" + "/".join(out)
    if path.endswith("/") and not result.endswith("/"):
        result += "/"
    return result


def canonical_query(query: str, *, drop: frozenset[str] = frozenset()) -> str:
    """The canonical query string: each key and value decoded and encoded again (``-_.~`` kept), sorted by
    key then value; keys in ``drop`` (the presigned signature) left out."""
    pairs: list[tuple[str, str]] = []
    for item in query.split("&") if query else []:
        if not item:
            continue
        key, _, value = item.partition("=")
        key, value = unquote(key), unquote(value)
        if key in drop:
            continue
        pairs.append((quote(key, safe="-_.~"), quote(value, safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _header_value(value: str) -> str:
    return " ".join(value.split())


def canonical_request(method: str, uri: str, query: str, headers: Mapping[str, str], signed_headers: list[str],
                      payload_hash: str) -> str:
    """The canonical request of SigV4 from its parts (``uri`` and ``query`` already canonical; ``headers``
    with lower-case names)."""
    lines = "".join(f"{h}:{_header_value(headers.get(h, ''))}\n" for h in signed_headers)
    return "\n".join([method.upper(), uri, query, lines, ";".join(signed_headers), payload_hash])


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    return "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])


@lru_cache(maxsize=256)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """``kSigning``: HMAC chain over date, region, service and ``aws4_request`` (cached per day)."""
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _incomplete(message: str, presigned: bool = False) -> SigV4Error:
    return SigV4Error(SigV4ErrorKind.INCOMPLETE, message, presigned=presigned)


def _parse_credential(credential: str, presigned: bool) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
        raise _incomplete(f"Credential should be scoped to a valid region, not a malformed scope "
                          f"'{credential}': <access key>/<YYYYMMDD>/<region>/<service>/aws4_request", presigned)
    return parts[0], parts[1], parts[2], parts[3]


def _parse_header(authorization: str, headers: Mapping[str, str]) -> _Parsed:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _incomplete(f"Unsupported AWS 'algorithm': '{algorithm}'; only {ALGORITHM} is accepted")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    missing = [k for k in ("Credential", "Signature", "SignedHeaders") if not fields.get(k)]
    amz_date = headers.get("x-amz-date", "")
    if not amz_date:
        missing.append("X-Amz-Date")
    if missing:
        raise _incomplete(" ".join(
            f"Authorization header requires '{k}' parameter." if k != "X-Amz-Date"
            else "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
            for k in missing) + f" Authorization={authorization}")
    key_id, date, region, service = _parse_credential(fields["Credential"], False)
    return _Parsed(key_id, date, region, service, fields["SignedHeaders"].lower().split(";"),
                   fields["Signature"], amz_date, None)


def _parse_query(params: Mapping[str, str]) -> _Parsed:
    if params.get("X-Amz-Algorithm") != ALGORITHM:
        raise _incomplete(f"X-Amz-Algorithm must be {ALGORITHM}", True)
    missing = [k for k in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature",
                           "X-Amz-Expires") if not params.get(k)]
    if missing:
        raise _incomplete("Query-string authentication requires the " + ", ".join(missing) + " parameter(s)", True)
    try:
        expires = int(params["X-Amz-Expires"])
    except ValueError:
        raise _incomplete("X-Amz-Expires should be a number", True) from None
    if not 1 <= expires <= MAX_PRESIGN_EXPIRES_S:
        raise _incomplete(f"X-Amz-Expires must be between 1 and {MAX_PRESIGN_EXPIRES_S} seconds", True)
    key_id, date, region, service = _parse_credential(params["X-Amz-Credential"], True)
    return _Parsed(key_id, date, region, service, params["X-Amz-SignedHeaders"].lower().split(";"),
                   params["X-Amz-Signature"], params["X-Amz-Date"], expires)


def _query_params(query: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in query.split("&") if query else []:
        key, _, value = item.partition("=")
        out.setdefault(unquote(key), unquote(value))
    return out


def _check_time(p: _Parsed, now: datetime, presigned: bool) -> datetime:
    try:
        signed_at = datetime.strptime(p.amz_date, _AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        raise _incomplete(f"Date must be in ISO-8601 'basic format' (YYYYMMDD'T'HHMMSS'Z'); got '{p.amz_date}'",
                          presigned) from None
    if p.date != p.amz_date[:8]:
        raise SigV4Error(SigV4ErrorKind.MISMATCH, f"Date in Credential scope does not match YYYYMMDD from "
                         f"ISO-8601 version of date from HTTP: '{p.date}' != '{p.amz_date[:8]}'", presigned=presigned)
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)  # naive means UTC here
    stamp = now.strftime(_AMZ_DATE)
    if p.expires_s is not None:
        if signed_at - now > MAX_SKEW:
            raise SigV4Error(SigV4ErrorKind.EXPIRED, "Request is not valid yet", presigned=True)
        if now > signed_at + timedelta(seconds=p.expires_s):
            raise SigV4Error(SigV4ErrorKind.EXPIRED, "Request has expired", presigned=True)
    elif signed_at < now - MAX_SKEW:
        raise SigV4Error(SigV4ErrorKind.EXPIRED, f"Signature expired: {p.amz_date} is now earlier than "
                         f"{(now - MAX_SKEW).strftime(_AMZ_DATE)} ({stamp} - 15 min.)")
    elif signed_at > now + MAX_SKEW:
        raise SigV4Error(SigV4ErrorKind.EXPIRED, f"Signature not yet current: {p.amz_date} is still later than "
                         f"{(now + MAX_SKEW).strftime(_AMZ_DATE)} ({stamp} + 15 min.)")
    return signed_at


def _payload_hash(headers: Mapping[str, str], payload_sha256: str, presigned: bool, service: str) -> str:
    declared = headers.get("x-amz-content-sha256")
    if declared is None:
        return UNSIGNED_PAYLOAD if presigned and service == "s3" else payload_sha256
    if declared == STREAMING_UNSIGNED_TRAILER:  # an unsigned aws-chunked body: as UNSIGNED-PAYLOAD, not verified
        return declared
    if declared.startswith("STREAMING-"):
        raise _incomplete(f"X-Amz-Content-SHA256 '{declared}' (aws-chunked streaming) is not supported", presigned)
    if declared != UNSIGNED_PAYLOAD and (not _HEX64.fullmatch(declared) or declared != payload_sha256):
        raise SigV4Error(SigV4ErrorKind.MISMATCH, "The provided 'x-amz-content-sha256' header does not match "
                         "what was computed.", presigned=presigned)
    return declared


def verify(method: str, path: str, query: str, headers: Mapping[str, str], payload_sha256: str,
           lookup_secret: Callable[[str], str | None], now: datetime, service: str | None = None) -> SigV4Identity:
    """Verify the SigV4 signature of a request; return who signed it, or raise ``SigV4Error``.

    ``path`` and ``query`` are as sent (percent-encoded, the query without ``?``); ``headers`` any case;
    ``payload_sha256`` the hex SHA-256 of the body; ``service`` the service the credential must be scoped to;
    ``now`` aware, or naive UTC (as the database's timestamps are).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    params = _query_params(query)
    presigned = "X-Amz-Signature" in params or "X-Amz-Credential" in params
    authorization = lower.get("authorization")
    if authorization and not presigned:
        p = _parse_header(authorization, lower)
    elif presigned:
        p = _parse_query(params)
    else:
        raise SigV4Error(SigV4ErrorKind.MISSING, "Missing Authentication Token")
    if service is not None and p.service != service:
        raise SigV4Error(SigV4ErrorKind.MISMATCH, f"Credential should be scoped to correct service: '{service}'.",
                         presigned=presigned)
    if "host" not in p.signed_headers:
        raise _incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.", presigned)
    signed_at = _check_time(p, now, presigned)
    secret = lookup_secret(p.access_key_id)
    if secret is None:
        raise SigV4Error(SigV4ErrorKind.UNKNOWN_KEY, "The security token included in the request is invalid.",
                         presigned=presigned)
    canonical = canonical_request(
        method, canonical_uri(path, p.service),
        canonical_query(query, drop=frozenset({"X-Amz-Signature"}) if presigned else frozenset()),
        lower, p.signed_headers, _payload_hash(lower, payload_sha256, presigned, p.service))
    scope = f"{p.date}/{p.region}/{p.service}/aws4_request"
    expected = sign(signing_key(secret, p.date, p.region, p.service), string_to_sign(p.amz_date, scope, canonical))
    if not hmac.compare_digest(expected, p.signature.lower()):
        raise SigV4Error(SigV4ErrorKind.MISMATCH, "The request signature we calculated does not match the "
                         "signature you provided. Check your AWS Secret Access Key and signing method. Consult "
                         "the service documentation for details.", presigned=presigned)
    return SigV4Identity(p.access_key_id, p.region, p.service, signed_at)
