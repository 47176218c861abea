"""SigV4 verification cost: ``core.sigv4.verify`` over requests signed by botocore's own signer, against the
signer itself, and the access-key secret's unsealing (AES-GCM) per request.

    .venv/bin/python bench/sigv4.py [--n 5000]

Prints microseconds per call and the ratio of verifying to signing (a verify builds the same canonical
request and HMAC chain as a sign, so about 1x is expected; the signing key is cached per day, region and
service, so the chain is one HMAC after the first request).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from labelloop.core.sigv4 import verify

KEY_ID, SECRET = "LLAKBENCHMARK0000001", "bench-secret-" + "x" * 27


def signed(i: int) -> tuple[str, str, str, dict[str, str], str]:
    body = b'{"LabelingJobName": "job-%d"}' % i
    req = AWSRequest("POST", "http://127.0.0.1:8080/aws/sagemaker/", data=body,
                     headers={"X-Amz-Target": "SageMaker.DescribeLabelingJob",
                              "Content-Type": "application/x-amz-json-1.1"})
    SigV4Auth(Credentials(KEY_ID, SECRET), "sagemaker", "us-east-1").add_auth(req)
    p = req.prepare()
    parts = urlsplit(p.url)
    return p.method, parts.path, parts.query, {"Host": parts.netloc, **dict(p.headers.items())}, \
        hashlib.sha256(body).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    n = ap.parse_args().n
    t0 = time.perf_counter()
    requests = [signed(i) for i in range(n)]
    sign_us = (time.perf_counter() - t0) / n * 1e6
    now = datetime.now(UTC)
    lookup = {KEY_ID: SECRET}.get
    t0 = time.perf_counter()
    for r in requests:
        verify(*r, lookup, now, "sagemaker")
    verify_us = (time.perf_counter() - t0) / n * 1e6
    key, nonce = os.urandom(32), os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, SECRET.encode(), KEY_ID.encode())
    t0 = time.perf_counter()
    for _ in range(n):
        AESGCM(key).decrypt(nonce, sealed, KEY_ID.encode())
    unseal_us = (time.perf_counter() - t0) / n * 1e6
    print(f"requests: {n}")
    print(f"botocore sign (AWSRequest + SigV4Auth + prepare): {sign_us:8.1f} us/request")
    print(f"labelloop verify (core.sigv4.verify):              {verify_us:8.1f} us/request")
    print(f"unseal the secret (AES-256-GCM):                   {unseal_us:8.1f} us/request")
    print(f"verify / sign: {verify_us / sign_us:.2f}x")


if __name__ == "__main__":
    main()
