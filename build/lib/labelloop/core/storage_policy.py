"""Which URIs the server may read and write for a requester: the storage and hook access policy, pure.

An admin lists what the installation may touch (``LABELLOOP_STORAGE_ALLOW`` and ``labelloop storage allow``);
the data folder is always allowed. An entry is one of:

- an absolute local path: that folder (or file) and everything under it, after symlinks are resolved;
- ``s3://bucket`` or ``s3://bucket/prefix``: that bucket, or the keys under that prefix (``prefix/...``);
- ``http://host[:port]`` or ``https://host[:port]``: that scheme and host (``*.example.com`` for its
  subdomains); without a port, the scheme's default port only;
- an address network (``10.0.0.0/8``, ``fd00::/8``, ``127.0.0.1/32``): listed hosts may resolve there.

A URI is refused when it is relative (a path is never resolved against the server's working directory),
has a ``..`` segment, has another scheme, or is outside every entry. An http(s) URL is allowed when its
host is listed and every address the host resolves to is public, or is the literal address the entry
names, or lies in a listed network: loopback, private, link-local, unspecified, multicast and reserved
addresses are refused otherwise. The callers (``labelloop.storage``) resolve paths and names and check
again on every redirect; this module only decides.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_PORTS = {"http": 80, "https": 443}
ALLOW_HINT = "an admin can allow it with `labelloop storage allow {example}`"


class Refused(Exception):
    """The policy refuses a URI; ``reason`` says which rule, for the requester."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class LocalRoot:
    path: str

    def __str__(self) -> str:
        return self.path


@dataclass(frozen=True, slots=True)
class S3Prefix:
    bucket: str
    prefix: str  # "" for the whole bucket, else without leading or trailing "/"

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


@dataclass(frozen=True, slots=True)
class HttpHost:
    scheme: str
    host: str  # lower case; "*.example.com" for subdomains; an IP literal without brackets
    port: int | None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + (f":{self.port}" if self.port is not None else "")

    def matches(self, scheme: str, host: str, port: int) -> bool:
        if scheme != self.scheme or port != (self.port if self.port is not None else DEFAULT_PORTS[scheme]):
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:]) and len(host) > len(self.host) - 1
        return host == self.host


@dataclass(frozen=True, slots=True)
class Network:
    network: IPNetwork

    def __str__(self) -> str:
        return str(self.network)


Entry = LocalRoot | S3Prefix | HttpHost | Network


@dataclass(frozen=True, slots=True)
class LocalUri:
    path: str


@dataclass(frozen=True, slots=True)
class S3Uri:
    bucket: str
    key: str


@dataclass(frozen=True, slots=True)
class HttpUri:
    scheme: str
    host: str
    port: int


Target = LocalUri | S3Uri | HttpUri


def _has_dotdot(path: str) -> bool:
    return ".." in path.replace("\\", "/").split("/")


def _split_host_port(netloc: str, scheme: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]:port`` -> (lower-case host without brackets, port or None)."""
    if "@" in netloc:
        raise ValueError("user names and passwords in the URL are not allowed")
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise ValueError(f"bad host {netloc!r}")
        host, rest = netloc[1:end], netloc[end + 1:]
    else:
        host, _, port_text = netloc.partition(":")
        rest = ":" + port_text if _ else ""
    port: int | None = None
    if rest:
        if not rest.startswith(":") or not rest[1:].isdigit() or not 0 < int(rest[1:]) < 65536:
            raise ValueError(f"bad port in {netloc!r}")
        port = int(rest[1:])
    host = host.lower().rstrip(".")
    if not host:
        raise ValueError(f"a {scheme} URL needs a host")
    return host, port


def parse_entry(text: str) -> Entry:
    """An admin's entry, checked and normalised; ``ValueError`` says what is wrong with it."""
    text = text.strip()
    if not text:
        raise ValueError("an empty entry")
    if text.startswith("file://"):
        text = text[len("file://"):]
    if "://" not in text and "/" in text and not text.startswith("/"):
        try:
            return Network(ipaddress.ip_network(text, strict=False))
        except ValueError:
            pass
    if "://" not in text:
        if not text.startswith("/"):
            raise ValueError(f"{text!r}: a local root must be an absolute path")
        if _has_dotdot(text):
            raise ValueError(f"{text!r}: a local root may not have '..' segments")
        return LocalRoot(_normpath(text))
    scheme, _, rest = text.partition("://")
    scheme = scheme.lower()
    if scheme in ("s3", "s3a"):
        bucket, _, prefix = rest.partition("/")
        if not bucket or _has_dotdot(prefix):
            raise ValueError(f"{text!r}: write s3://bucket or s3://bucket/prefix")
        return S3Prefix(bucket, prefix.strip("/"))
    if scheme in DEFAULT_PORTS:
        netloc, _, path = rest.partition("/")
        if path.strip("/"):
            raise ValueError(f"{text!r}: an http(s) entry names a host (and port), not a path")
        host, port = _split_host_port(netloc, scheme)
        return HttpHost(scheme, host, port)
    raise ValueError(f"{text!r}: an entry is an absolute path, s3://bucket[/prefix], http(s)://host[:port] "
                     "or an address network such as 10.0.0.0/8")


def _normpath(path: str) -> str:
    """Collapse repeated and trailing slashes and ``.`` segments (no ``..``: those are refused first)."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    return "/" + "/".join(parts)


@dataclass(frozen=True)
class Policy:
    """What the installation may read and write. ``local_roots`` must already be resolved (realpath)."""

    local_roots: tuple[str, ...] = ()
    s3: tuple[S3Prefix, ...] = ()
    hosts: tuple[HttpHost, ...] = ()
    networks: tuple[IPNetwork, ...] = ()

    def describe(self) -> str:
        shown = [*self.local_roots, *map(str, self.s3), *map(str, self.hosts), *map(str, self.networks)]
        return ", ".join(shown) if shown else "nothing"


def build_policy(entries: Iterable[Entry]) -> Policy:
    """A policy from entries. Local roots are taken as given: the caller resolves them first."""
    roots: list[str] = []
    s3: list[S3Prefix] = []
    hosts: list[HttpHost] = []
    networks: list[IPNetwork] = []
    for entry in entries:
        if isinstance(entry, LocalRoot):
            if entry.path not in roots:
                roots.append(entry.path)
        elif isinstance(entry, S3Prefix):
            if entry not in s3:
                s3.append(entry)
        elif isinstance(entry, HttpHost):
            if entry not in hosts:
                hosts.append(entry)
        elif entry.network not in networks:
            networks.append(entry.network)
    return Policy(tuple(roots), tuple(s3), tuple(hosts), tuple(networks))


def split_uri(uri: str) -> Target:
    """What a URI names; ``Refused`` for a relative path, a ``..`` segment or a scheme we do not serve."""
    if not isinstance(uri, str) or not uri:
        raise Refused("an empty URI")
    if "\x00" in uri:
        raise Refused(f"{uri!r} has a NUL character")
    if "://" not in uri or uri.startswith("file://"):
        path = uri
        if uri.startswith("file://"):
            path = uri[len("file://"):]
            if path.startswith("localhost/"):
                path = path[len("localhost"):]
            if not path.startswith("/"):
                raise Refused(f"{uri} names a file on another host; only file:///absolute/path is served")
        if not path.startswith("/"):
            raise Refused(f"{uri} is a relative path; give an absolute path (paths are never resolved against "
                          "the server's working directory)")
        if _has_dotdot(path):
            raise Refused(f"{uri} has a '..' segment")
        return LocalUri(_normpath(path))
    scheme, _, rest = uri.partition("://")
    scheme = scheme.lower()
    if scheme in ("s3", "s3a"):
        bucket, _, key = rest.partition("/")
        if not bucket:
            raise Refused(f"{uri} names no bucket")
        if _has_dotdot(key):
            raise Refused(f"{uri} has a '..' segment")
        return S3Uri(bucket, key)
    if scheme in DEFAULT_PORTS:
        netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        try:
            host, port = _split_host_port(netloc, scheme)
        except ValueError as exc:
            raise Refused(f"{uri}: {exc}") from None
        return HttpUri(scheme, host, port if port is not None else DEFAULT_PORTS[scheme])
    raise Refused(f"{uri}: the {scheme}:// scheme is not served (local paths, s3:// and http(s):// are)")


def inside(path: str, root: str) -> bool:
    """``path`` is ``root`` or under it (both absolute and normalised)."""
    return path == root or root == "/" or path.startswith(root.rstrip("/") + "/")


def check_local(policy: Policy, real_path: str, uri: str | None = None) -> None:
    """``real_path`` (symlinks already resolved) is under an allowed root."""
    if not any(inside(real_path, root) for root in policy.local_roots):
        shown = uri or real_path
        also = f" (it resolves to {real_path})" if uri and real_path not in (uri, uri.removeprefix("file://")) else ""
        raise Refused(f"{shown}{also} is outside the allowed storage (allowed: {policy.describe()}); "
                      + ALLOW_HINT.format(example="PATH"))


def check_s3(policy: Policy, bucket: str, key: str, uri: str | None = None) -> None:
    for entry in policy.s3:
        if entry.bucket == bucket and (not entry.prefix or key == entry.prefix or key.startswith(entry.prefix + "/")):
            return
    raise Refused(f"{uri or f's3://{bucket}/{key}'} is outside the allowed storage (allowed: {policy.describe()}); "
                  + ALLOW_HINT.format(example="s3://bucket/prefix"))


def match_host(policy: Policy, target: HttpUri, uri: str | None = None) -> HttpHost:
    """The entry that lists this scheme, host and port; ``Refused`` when none does."""
    for entry in policy.hosts:
        if entry.matches(target.scheme, target.host, target.port):
            return entry
    shown = uri or f"{target.scheme}://{target.host}:{target.port}"
    example = HttpHost(target.scheme, target.host, None if target.port == DEFAULT_PORTS[target.scheme] else target.port)
    raise Refused(f"{shown}: host {target.host} (port {target.port}) is not an allowed host "
                  f"(allowed: {policy.describe()}); " + ALLOW_HINT.format(example=str(example)))


def address_kind(address: IPAddress) -> str | None:
    """Why an address is not public (``"loopback"``, ``"private"``...), or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_kind(address.ipv4_mapped)
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if address.is_reserved:
        return "reserved"
    if not address.is_global:
        return "non-public"
    return None


def check_address(policy: Policy, entry: HttpHost, host: str, address: str) -> None:
    """One address ``host`` resolved to is fine for the entry that allowed the host."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    kind = address_kind(ip)
    if kind is None:
        return
    try:
        if ipaddress.ip_address(entry.host) == ip:
            return  # the admin named this very address
    except ValueError:
        pass
    if any(ip in net for net in policy.networks):
        return
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None and any(
            ip.ipv4_mapped in net for net in policy.networks):
        return
    net = ipaddress.ip_network(f"{ip}/{32 if ip.version == 4 else 128}")
    raise Refused(f"{host} resolves to {ip}, a {kind} address, which is refused unless listed; "
                  + ALLOW_HINT.format(example=str(net)))


def check_target(policy: Policy, uri: str, resolve: Callable[[str], str] = lambda path: path) -> Target:
    """Everything that can be decided without reading: local paths after ``resolve`` (the caller's realpath),
    s3 buckets and prefixes, http(s) hosts (the caller checks the addresses they resolve to)."""
    target = split_uri(uri)
    if isinstance(target, LocalUri):
        check_local(policy, resolve(target.path), uri)
    elif isinstance(target, S3Uri):
        check_s3(policy, target.bucket, target.key, uri)
    else:
        match_host(policy, target, uri)
    return target
