"""Fixtures of the Ground Truth compatibility tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def s3(monkeypatch):
    """A moto S3 server on loopback with the bucket ``acme``: (endpoint URL, boto3 client)."""
    pytest.importorskip("moto.server")
    import boto3

    from tests.servers import moto_s3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with moto_s3() as endpoint:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        client.create_bucket(Bucket="acme")
        yield endpoint, client
