"""``s3://`` is found as AWS tools find it: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, keys from the environment or
a profile (``LABELLOOP_S3_PROFILE``), and LABELLOOP_S3_ENDPOINT_URL over all of them."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.s3


@pytest.fixture
def object_in_bucket(s3, allow_storage):
    allow_storage("s3://acme")
    s3.put_object(Bucket="acme", Key="in/x.txt", Body=b"hello")
    return "s3://acme/in/x.txt"


def test_the_general_endpoint_variable_is_enough(ctx, object_in_bucket, moto_url, monkeypatch):
    import s3fs

    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    s3fs.S3FileSystem.clear_instance_cache()
    assert ctx.storage.read_bytes(object_in_bucket) == b"hello"


def test_a_profile_gives_keys_and_endpoint(ctx, object_in_bucket, moto_url, monkeypatch, tmp_path):
    import s3fs

    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "aws-config"
    config.write_text(f"[profile gt]\nregion = us-east-1\nendpoint_url = {moto_url}\n")
    creds = tmp_path / "aws-credentials"
    creds.write_text("[gt]\naws_access_key_id = fromprofile\naws_secret_access_key = fromprofile\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    ctx.storage.s3_profile = "gt"
    s3fs.S3FileSystem.clear_instance_cache()
    assert ctx.storage.read_bytes(object_in_bucket) == b"hello"


def test_the_labelloop_setting_overrides_the_environment(ctx, object_in_bucket, moto_url, monkeypatch):
    import s3fs

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # nothing listens there
    ctx.storage.s3_endpoint_url = moto_url
    s3fs.S3FileSystem.clear_instance_cache()
    assert ctx.storage.read_bytes(object_in_bucket) == b"hello"
