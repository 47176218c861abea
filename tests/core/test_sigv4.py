"""SigV4 verification against signatures made by botocore's own signers (header and presigned forms)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from labelloop.core.sigv4 import SigV4Error, SigV4ErrorKind, verify

botocore_auth = pytest.importorskip("botocore.auth")
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

KEY_ID, SECRET = "LLAKEXAMPLE0000001", "s3cr3t/with+odd=chars"
SECRETS = {KEY_ID: SECRET}


def _signed(method="POST", url="http://127.0.0.1:8080/aws/sagemaker/", body=b"{}", headers=None,
            service="sagemaker", region="eu-west-1", signer=None, secret=SECRET, expires=None):
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    creds = Credentials(KEY_ID, secret)
    if signer is None:
        signer = botocore_auth.S3SigV4Auth if service == "s3" else botocore_auth.SigV4Auth
    auth = signer(creds, service, region) if expires is None else signer(creds, service, region, expires=expires)
    auth.add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    payload = prepared.body if isinstance(prepared.body, bytes) else (prepared.body or "").encode()
    sent = {"Host": parts.netloc, **dict(prepared.headers.items())}  # as urllib3 sends it
    return prepared.method, parts.path, parts.query, sent, \
        hashlib.sha256(payload).hexdigest()


def _now_of(headers, query=""):
    stamp = headers.get("X-Amz-Date") or dict(p.split("=", 1) for p in query.split("&"))["X-Amz-Date"]
    return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _verify(method, path, query, headers, payload, now=None, lookup=SECRETS.get, service=None):
    return verify(method, path, query, headers, payload, lookup, now or _now_of(headers, query), service)


@pytest.mark.parametrize(("method", "url", "body", "headers", "service"), [
    ("POST", "http://127.0.0.1:8080/aws/sagemaker/", b'{"LabelingJobName": "pets"}',
     {"X-Amz-Target": "SageMaker.DescribeLabelingJob", "Content-Type": "application/x-amz-json-1.1"}, "sagemaker"),
    ("POST", "http://localhost:9000/", b"", {"X-Amz-Target": "SageMaker.ListWorkteams"}, "sagemaker"),
    ("GET", "http://127.0.0.1:8080/s3/acme/out/job%20one/a%2Bb~c.json", b"", None, "s3"),
    ("GET", "http://127.0.0.1:8080/s3/acme?list-type=2&prefix=out%2Fjob%20one%2F&max-keys=5", b"", None, "s3"),
    ("GET", "http://127.0.0.1:8080/aws/x/./y/../z?b=2&a=1&a=0&empty=", b"", {"X-Odd": "  two   spaces "}, "sagemaker"),
    ("PUT", "http://127.0.0.1:8080/s3/acme/k.json", b'{"a": 1}', {"Content-Type": "application/json"}, "s3"),
])
def test_botocore_header_signatures_verify(method, url, body, headers, service):
    identity = _verify(*_signed(method, url, body, headers, service=service), service=service)
    assert (identity.access_key_id, identity.region, identity.service) == (KEY_ID, "eu-west-1", service)


@pytest.mark.parametrize(("signer", "service", "url"), [
    ("S3SigV4QueryAuth", "s3", "http://127.0.0.1:8080/s3/acme/in/job.manifest"),
    ("SigV4QueryAuth", "sagemaker", "http://127.0.0.1:8080/aws/sagemaker/?Action=List"),
])
def test_botocore_presigned_urls_verify_until_they_expire(signer, service, url):
    method, path, query, headers, payload = _signed(
        "GET", url, b"", service=service, signer=getattr(botocore_auth, signer), expires=60)
    assert "Authorization" not in headers and "X-Amz-Signature=" in query
    signed_at = _now_of(headers, query)
    assert _verify(method, path, query, headers, payload, now=signed_at + timedelta(seconds=59)).service == service
    with pytest.raises(SigV4Error) as info:
        _verify(method, path, query, headers, payload, now=signed_at + timedelta(seconds=61))
    assert info.value.kind is SigV4ErrorKind.EXPIRED and info.value.s3_code == "AccessDenied"
    with pytest.raises(SigV4Error) as info:
        _verify(method, path + "2", query, headers, payload, now=signed_at)
    assert info.value.kind is SigV4ErrorKind.MISMATCH
    with pytest.raises(SigV4Error) as info:
        _verify(method, path, query.replace("X-Amz-Expires=60", "X-Amz-Expires=600"), headers, payload, now=signed_at)
    assert info.value.kind is SigV4ErrorKind.MISMATCH


def test_a_wrong_secret_is_a_mismatch_with_the_codes_boto3_expects():
    with pytest.raises(SigV4Error) as info:
        _verify(*_signed(secret="not-the-secret"))
    err = info.value
    assert err.kind is SigV4ErrorKind.MISMATCH
    assert (err.json_code, err.json_status, err.s3_code, err.s3_status) == (
        "InvalidSignatureException", 400, "SignatureDoesNotMatch", 403)
    assert "signature we calculated does not match" in err.message


@pytest.mark.parametrize("change", ["body", "target", "path", "method"])
def test_any_change_to_a_signed_part_is_a_mismatch(change):
    method, path, query, headers, payload = _signed(headers={"X-Amz-Target": "SageMaker.ListWorkteams"})
    if change == "body":
        payload = hashlib.sha256(b'{"x": 1}').hexdigest()
    elif change == "target":
        headers["X-Amz-Target"] = "SageMaker.DeleteWorkteam"
    elif change == "path":
        path = "/aws/other/"
    else:
        method = "PUT"
    with pytest.raises(SigV4Error) as info:
        _verify(method, path, query, headers, payload)
    assert info.value.kind is SigV4ErrorKind.MISMATCH


def test_s3_body_that_differs_from_its_declared_hash_is_a_mismatch():
    method, path, query, headers, _ = _signed("PUT", "http://h/s3/b/k", b"real", service="s3")
    with pytest.raises(SigV4Error) as info:
        _verify(method, path, query, headers, hashlib.sha256(b"forged").hexdigest())
    assert info.value.kind is SigV4ErrorKind.MISMATCH and "x-amz-content-sha256" in info.value.message


@pytest.mark.parametrize(("skew", "ok"), [
    (timedelta(minutes=14, seconds=59), True), (-timedelta(minutes=14, seconds=59), True),
    (timedelta(minutes=15, seconds=1), False), (-timedelta(minutes=15, seconds=1), False),
])
def test_the_fifteen_minute_clock_skew_rule(skew, ok):
    signed = _signed()
    now = _now_of(signed[3]) + skew
    if ok:
        assert _verify(*signed, now=now).access_key_id == KEY_ID
        return
    with pytest.raises(SigV4Error) as info:
        _verify(*signed, now=now)
    assert info.value.kind is SigV4ErrorKind.EXPIRED and info.value.json_code == "InvalidSignatureException"
    assert info.value.message.startswith("Signature expired" if skew > timedelta(0) else "Signature not yet current")


def test_an_unknown_or_revoked_key_is_unrecognized():
    with pytest.raises(SigV4Error) as info:
        _verify(*_signed(), lookup=lambda _key: None)
    assert info.value.kind is SigV4ErrorKind.UNKNOWN_KEY
    assert (info.value.json_code, info.value.s3_code) == ("UnrecognizedClientException", "InvalidAccessKeyId")


def test_a_missing_signature_is_missing_authentication():
    with pytest.raises(SigV4Error) as info:
        verify("POST", "/", "", {"Host": "h"}, "0" * 64, SECRETS.get, datetime.now(UTC))
    assert info.value.kind is SigV4ErrorKind.MISSING
    assert info.value.json_code == "MissingAuthenticationTokenException"


@pytest.mark.parametrize(("authorization", "words"), [
    ("AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=ab", "'Credential'"),
    ("AWS4-HMAC-SHA256 Credential=K/20260101/r/sagemaker/aws4_request, Signature=ab", "'SignedHeaders'"),
    ("AWS4-HMAC-SHA256 Credential=K/20260101/r/sagemaker/aws4_request, SignedHeaders=host", "'Signature'"),
    ("AWS4-HMAC-SHA256 Credential=K/20260101/sagemaker/aws4_request, SignedHeaders=host, Signature=ab", "scope"),
    ("AWS K:abc", "algorithm"),
    ("AWS4-HMAC-SHA256 Credential=K/20260101/r/sagemaker/aws4_request, SignedHeaders=x-amz-date, Signature=ab",
     "'Host'"),
])
def test_malformed_authorization_is_incomplete(authorization, words):
    headers = {"Host": "h", "X-Amz-Date": "20260101T000000Z", "Authorization": authorization}
    with pytest.raises(SigV4Error) as info:
        verify("POST", "/", "", headers, "0" * 64, SECRETS.get, datetime(2026, 1, 1, tzinfo=UTC))
    assert info.value.kind is SigV4ErrorKind.INCOMPLETE and words in info.value.message
    assert info.value.json_code == "IncompleteSignatureException"


def test_credential_scoped_to_another_service_or_date_is_refused():
    signed = _signed(service="s3", url="http://h/s3/b/k", method="GET", body=b"")
    with pytest.raises(SigV4Error) as info:
        _verify(*signed, service="sagemaker")
    assert info.value.kind is SigV4ErrorKind.MISMATCH and "'sagemaker'" in info.value.message
    method, path, query, headers, payload = _signed()
    headers["Authorization"] = headers["Authorization"].replace(headers["X-Amz-Date"][:8], "19990101")
    with pytest.raises(SigV4Error) as info:
        _verify(method, path, query, headers, payload)
    assert info.value.kind is SigV4ErrorKind.MISMATCH and "Credential scope" in info.value.message


def test_a_naive_now_is_utc_whatever_the_local_time_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: a naive time read as local would be far off
    time.tzset()
    try:
        signed = _signed()
        naive = _now_of(signed[3]).replace(tzinfo=None)
        assert _verify(*signed, now=naive).access_key_id == KEY_ID
    finally:
        monkeypatch.undo()
        time.tzset()
