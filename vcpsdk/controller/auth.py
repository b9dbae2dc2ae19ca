"""Access tokens: created once, stored only as SHA-256 hashes, looked up per request.

Tokens are random UUID-like strings (122 bits of entropy), so a plain SHA-256
hash is enough to keep a stolen database from revealing them.
"""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import select

from vcpsdk.controller.errors import AUTH_EXC, ServiceError, User
from vcpsdk.controller.store import Store, Token


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


def token_prefix(token: str) -> str:
    """The part of a token that messages may show (as the original controller does)."""
    return token.strip()[:8]


def create_token(store: Store, user_name: str, superuser: bool = False) -> str:
    """Mint a token for ``user_name`` and return it (it is not stored in clear)."""
    if not user_name or not user_name.strip():
        raise ValueError("user name must not be empty")
    token = str(uuid.uuid4())
    with store.transaction() as session:
        session.add(Token(token_hash=hash_token(token), user_name=user_name.strip(), superuser=superuser))
    return token


def authenticate(store: Store, token: str | None, privileged_header: str | None) -> User:
    """The user of ``token``; 403 ``VCPAuthException`` when unknown or not allowed."""
    token = (token or "").strip()
    row = None
    if token:
        with store.read() as session:
            row = session.scalar(select(Token).where(Token.token_hash == hash_token(token)))
    if row is None:
        raise ServiceError(403, AUTH_EXC, f"{token_prefix(token)}:token lookup is failed: permission denied")
    privileged = str(privileged_header or "").strip().lower() == "true"
    if privileged and not row.superuser:
        raise ServiceError(
            403,
            AUTH_EXC,
            f"{token_prefix(token)}:privileged mode is allowed only for superuser: permission denied",
        )
    return User(
        name=row.user_name,
        superuser=row.superuser,
        privileged=privileged,
        token_hash=row.token_hash,
        token_shown=token_prefix(token),
    )
