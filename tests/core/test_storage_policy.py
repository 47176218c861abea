"""The storage access policy's pure rules, table by table."""

from __future__ import annotations

import ipaddress

import pytest

from labelloop.core.storage_policy import (
    HttpHost,
    HttpUri,
    LocalRoot,
    Network,
    Refused,
    S3Prefix,
    address_kind,
    build_policy,
    check_address,
    check_target,
    parse_entry,
    split_uri,
)

POLICY = build_policy(parse_entry(x) for x in [
    "/srv/data", "s3://acme/raw", "s3://whole", "https://images.example.com", "http://127.0.0.1:9000",
    "https://*.cdn.example.org", "http://minio.internal:9000", "10.1.0.0/16"])


@pytest.mark.parametrize(("text", "entry"), [
    ("/srv/data/", LocalRoot("/srv/data")),
    ("file:///srv//data/./x", LocalRoot("/srv/data/x")),
    ("s3://acme/raw/", S3Prefix("acme", "raw")),
    ("s3://acme", S3Prefix("acme", "")),
    ("https://Images.Example.com", HttpHost("https", "images.example.com", None)),
    ("http://127.0.0.1:9000", HttpHost("http", "127.0.0.1", 9000)),
    ("http://[::1]:8080", HttpHost("http", "::1", 8080)),
    ("10.0.0.0/8", Network(ipaddress.ip_network("10.0.0.0/8"))),
])
def test_entries_are_normalised(text, entry):
    assert parse_entry(text) == entry
    assert parse_entry(str(entry)) == entry


@pytest.mark.parametrize("text", ["relative/dir", "labelloop-data", "/srv/../etc", "s3://", "gs://bucket",
                                  "https://host/with/path", "http://user@host", "http://host:99999", ""])
def test_bad_entries(text):
    with pytest.raises(ValueError):
        parse_entry(text)


@pytest.mark.parametrize(("uri", "allowed"), [
    ("/srv/data/img/1.png", True),
    ("file:///srv/data/img/1.png", True),
    ("file://localhost/srv/data/x", True),
    ("/srv/data", True),
    ("/srv/database/x", False),          # a sibling sharing the prefix
    ("/srv/data/../../etc/passwd", False),
    ("../../etc/passwd", False),
    ("labelloop.db", False),             # relative: never the server's working directory
    ("file:///etc/passwd", False),
    ("/etc/shadow", False),
    ("file://otherhost/srv/data/x", False),
    ("s3://acme/raw/a.jpg", True),
    ("s3://acme/raw", True),
    ("s3://acme/rawer/a.jpg", False),
    ("s3://acme/other/a.jpg", False),
    ("s3://acme/raw/../secret", False),
    ("s3://whole/anything", True),
    ("https://images.example.com/a.jpg", True),
    ("https://images.example.com:443/a.jpg", True),
    ("https://images.example.com:8443/a.jpg", False),
    ("http://images.example.com/a.jpg", False),   # the scheme is part of the entry
    ("https://evil.com/a.jpg", False),
    ("https://a.cdn.example.org/x", True),
    ("https://cdn.example.org/x", False),
    ("https://xcdn.example.org/x", False),
    ("http://127.0.0.1:9000/x", True),
    ("http://127.0.0.1:9001/x", False),
    ("http://localhost:9000/x", False),
    ("gs://bucket/key", False),
    ("ftp://host/x", False),
    ("/srv/data/\x00x", False),
])
def test_uris(uri, allowed):
    if allowed:
        check_target(POLICY, uri)
    else:
        with pytest.raises(Refused):
            check_target(POLICY, uri)


def test_local_paths_are_checked_after_resolving():
    # a symlink inside the root pointing out of it: the caller's realpath gives the target
    with pytest.raises(Refused, match="resolves to /etc/passwd"):
        check_target(POLICY, "/srv/data/link", resolve=lambda p: "/etc/passwd")


def test_refusals_name_the_rule_and_the_remedy():
    with pytest.raises(Refused) as info:
        check_target(POLICY, "file:///etc/passwd")
    assert "outside the allowed storage (allowed: /srv/data, s3://acme/raw" in info.value.reason
    assert "labelloop storage allow PATH" in info.value.reason
    with pytest.raises(Refused, match="relative path"):
        split_uri("labelloop.db")
    with pytest.raises(Refused, match=r"storage allow http://127\.0\.0\.1:9001"):
        check_target(POLICY, "http://127.0.0.1:9001/x")


@pytest.mark.parametrize(("address", "kind"), [
    ("8.8.8.8", None), ("2606:4700::1111", None),
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.2.3.4", "private"), ("172.16.0.1", "private"),
    ("172.31.255.255", "private"), ("192.168.1.1", "private"), ("fc00::1", "private"), ("fd12::1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "link-local"), ("224.0.0.1", "multicast"),
    ("100.64.0.1", "non-public"),
])
def test_address_kinds(address, kind):
    assert address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(("entry", "host", "address", "allowed"), [
    ("https://images.example.com", "images.example.com", "93.184.216.34", True),
    ("https://images.example.com", "images.example.com", "127.0.0.1", False),       # DNS says loopback
    ("https://images.example.com", "images.example.com", "169.254.169.254", False),  # cloud metadata
    ("https://images.example.com", "images.example.com", "::ffff:10.0.0.1", False),
    ("http://127.0.0.1:9000", "127.0.0.1", "127.0.0.1", True),                       # the admin named it
    ("http://minio.internal:9000", "minio.internal", "10.1.2.3", True),              # in a listed network
    ("http://minio.internal:9000", "minio.internal", "10.2.0.1", False),
])
def test_resolved_addresses(entry, host, address, allowed):
    listed = parse_entry(entry)
    assert isinstance(listed, HttpHost)
    if allowed:
        check_address(POLICY, listed, host, address)
    else:
        with pytest.raises(Refused, match="address"):
            check_address(POLICY, listed, host, address)


def test_split_http():
    assert split_uri("https://Host.Example.com/a?b#c") == HttpUri("https", "host.example.com", 443)
    assert split_uri("http://[::1]:81/") == HttpUri("http", "::1", 81)


def test_nothing_allowed_by_an_empty_policy():
    with pytest.raises(Refused, match="allowed: nothing"):
        check_target(build_policy([]), "/srv/data/x")
