"""Access keys for the SageMaker API: an access key id and a secret access key that belong to a requester
(or an admin), verified by AWS Signature Version 4 (``labelloop.core.sigv4``).

An access key is a credential like the others (``api_tokens`` row, kind ``access_key``): ``labelloop tokens
list`` shows it and ``tokens revoke`` ends it, as ``keys revoke`` does. SigV4 needs the secret itself on the
server (a hash cannot verify an HMAC), so the secret is stored sealed: AES-256-GCM under a key derived from
the installation's secret key (``services.installation.secret_key``) with HMAC-SHA256, bound to its access
key id (the id is the associated data, so a sealed secret moved to another row does not open). The
secret is shown once, when the key is made. A key's ``token_hash`` is the hash of a random value nobody
holds: an access key is never a bearer token.

Changing ``LABELLOOP_SECRET_KEY`` makes every sealed secret unreadable: those keys then fail as unknown
(``UnrecognizedClientException``) until new ones are made.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, insert, select

from labelloop.core.access import Principal, Role
from labelloop.core.errors import Forbidden, NotFound, ValidationError
from labelloop.core.sigv4 import SigV4Identity, verify
from labelloop.db.models import ApiToken, User
from labelloop.services.context import Context
from labelloop.services.events import record
from labelloop.services.users import get_user, revoke_credential
from labelloop.services.views import AccessKeyView

KIND = "access_key"
ID_PREFIX = "LLAK"  # AWS's own start AKIA; 20 characters in all, as theirs
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_SEAL_INFO = b"labelloop access key secrets v1"
_SEAL_VERSION = "v1"


def _sealing_key(ctx: Context) -> bytes:
    return hmac.new(ctx.secret_key.encode(), _SEAL_INFO, hashlib.sha256).digest()


def seal(ctx: Context, access_key_id: str, secret: str) -> str:
    """The secret encrypted for storage: ``v1:`` + base64(nonce ‖ AES-GCM ciphertext and tag)."""
    nonce = os.urandom(12)
    sealed = AESGCM(_sealing_key(ctx)).encrypt(nonce, secret.encode(), access_key_id.encode())
    return f"{_SEAL_VERSION}:{base64.b64encode(nonce + sealed).decode()}"


def unseal(ctx: Context, access_key_id: str, sealed: str) -> str | None:
    """The secret, or None when it does not open (another installation key, another key id, tampered)."""
    version, _, body = sealed.partition(":")
    if version != _SEAL_VERSION:
        return None
    try:
        raw = base64.b64decode(body)
        return AESGCM(_sealing_key(ctx)).decrypt(raw[:12], raw[12:], access_key_id.encode()).decode()
    except (InvalidTag, ValueError):
        return None


def _new_key_id() -> str:
    return ID_PREFIX + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))


def create_key(ctx: Context, principal: Principal, *, user: str | None = None, name: str | None = None) -> AccessKeyView:
    """A new access key pair for ``principal`` (or, by an admin, for ``user``, a requester or admin): the
    secret is in the answer and nowhere else in clear."""
    if user is not None and user != principal.username and not principal.is_admin:
        raise Forbidden("only admins make access keys for other users", field="user")
    if name is not None and (len(name) > 128 or "\x00" in name):
        raise ValidationError("a key's name is at most 128 characters, without NUL", field="name")
    key_id, secret = _new_key_id(), secrets.token_urlsafe(30)
    sealed = seal(ctx, key_id, secret)
    now = ctx.clock()

    def unit(conn: Connection) -> tuple[int, str]:
        owner = get_user(conn, user) if user is not None else principal
        if owner.role not in (Role.REQUESTER, Role.ADMIN):
            raise ValidationError(f"access keys are for requesters and admins; '{owner.username}' is {owner.role}",
                                  field="user")
        unusable = hashlib.sha256(b"access-key:" + secrets.token_bytes(32)).hexdigest()
        cid = conn.execute(insert(ApiToken).values(
            user_id=owner.id, token_hash=unusable, kind=KIND, name=name, created_at=now, expires_at=None,
            access_key_id=key_id, secret_sealed=sealed)).inserted_primary_key[0]
        record(conn, "access_key.created", at=now, actor=principal.username, worker_id=owner.id,
               access_key_id=key_id, credential=cid)
        return int(cid), owner.username

    cid, username = ctx.write(unit)
    return AccessKeyView(id=cid, access_key_id=key_id, username=username, name=name, created_at=now,
                         secret_access_key=secret)


_KEYS = (select(ApiToken.id, ApiToken.access_key_id, ApiToken.name, ApiToken.created_at, User.username)
         .join(User, User.id == ApiToken.user_id).where(ApiToken.kind == KIND))


def list_keys(ctx: Context, principal: Principal, *, user: str | None = None) -> list[AccessKeyView]:
    """The access keys of ``principal`` (admins: of ``user``, or everyone's when ``user`` is "*"), oldest first."""
    if user is not None and user != principal.username and not principal.is_admin:
        raise Forbidden("only admins list other users' access keys", field="user")
    q = _KEYS
    with ctx.engine.connect() as conn:
        if user != "*":
            owner = get_user(conn, user) if user is not None else principal
            q = q.where(ApiToken.user_id == owner.id)
        rows = conn.execute(q.order_by(ApiToken.id)).all()
    return [AccessKeyView(id=r.id, access_key_id=r.access_key_id, username=r.username, name=r.name,
                          created_at=r.created_at) for r in rows]


def revoke_key(ctx: Context, principal: Principal, access_key_id: str) -> None:
    """End an access key by its id: one's own, or any for admins (others' are NotFound)."""
    with ctx.engine.connect() as conn:
        cid = conn.execute(select(ApiToken.id).where(ApiToken.kind == KIND,
                                                     ApiToken.access_key_id == access_key_id)).scalar()
    if cid is None:
        raise NotFound(f"no access key {access_key_id}", field="access_key_id")
    try:
        revoke_credential(ctx, principal, int(cid))
    except NotFound:
        raise NotFound(f"no access key {access_key_id}", field="access_key_id") from None


_BY_KEY = (select(ApiToken.secret_sealed, User.id, User.username, User.role)
           .join(User, User.id == ApiToken.user_id).where(ApiToken.kind == KIND))


def authenticate(ctx: Context, method: str, path: str, query: str, headers: Mapping[str, str], payload_sha256: str,
                 *, service: str, now: datetime | None = None) -> tuple[Principal, SigV4Identity]:
    """The principal whose access key signed this request (SigV4, ``core.sigv4.verify``), and the signature's
    identity; ``SigV4Error`` when it does not verify. ``now`` is the wall clock (signatures are made with
    the client's real clock, not a test's)."""
    found: dict[str, Principal] = {}

    def lookup(key_id: str) -> str | None:
        if not key_id or len(key_id) > 32 or "\x00" in key_id:
            return None
        with ctx.engine.connect() as conn:
            row = conn.execute(_BY_KEY.where(ApiToken.access_key_id == key_id)).first()
        if row is None or row.secret_sealed is None:
            return None
        secret = unseal(ctx, key_id, row.secret_sealed)
        if secret is not None:
            found[key_id] = Principal(row.id, row.username, row.role)
        return secret

    identity = verify(method, path, query, headers, payload_sha256, lookup, now or datetime.now(UTC), service)
    return found[identity.access_key_id], identity
