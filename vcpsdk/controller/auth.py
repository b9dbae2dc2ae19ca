"""Access tokens: created once, stored only as SHA-256 hashes, looked up per request.

Tokens are random UUID-like strings (122 bits of entropy), so a plain SHA-256
hash is enough to keep a stolen database from revealing them.

The HTTP app remembers a token's user for :data:`TOKEN_CACHE_SECONDS` (a
:class:`TokenCache`), so that most requests do not read the database to learn who
sent them.  Only tokens found are remembered (a token created a moment ago by
``vcc token create`` in another process works at once), and a token removed from the
database stops working within :data:`TOKEN_CACHE_SECONDS` at the latest
(:meth:`TokenCache.forget` makes it stop at once in this process).
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

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


#: seconds a :class:`TokenCache` answers for a token without reading the database: the
#: longest a token removed from the database (by another process) still works
TOKEN_CACHE_SECONDS = 5.0
#: tokens a :class:`TokenCache` remembers at most (all are forgotten when it is full)
TOKEN_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class TokenOwner:
    """Who a token belongs to (a row of ``tokens``, without the session it came from)."""

    token_hash: str
    user_name: str
    superuser: bool


class TokenCache:
    """The owners of recently used tokens, each remembered for ``seconds``.

    Only tokens found in the database are remembered: an unknown token is looked up
    again on its next use.  Thread-safe.

    Example:
        >>> cache = TokenCache(seconds=5.0)
        >>> cache.owner("abc", lambda: TokenOwner("abc", "alice", False)).user_name
        'alice'
        >>> cache.owner("abc", lambda: None).user_name  # remembered: not looked up again
        'alice'
    """

    def __init__(
        self,
        seconds: float = TOKEN_CACHE_SECONDS,
        size: int = TOKEN_CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Args:
        seconds: how long an owner is remembered (0: never).
        size: owners remembered at most.
        clock: monotonic seconds (tests pass a fake one).
        """
        self.seconds = seconds
        self.size = size
        self._clock = clock
        self._owners: dict[str, tuple[float, TokenOwner]] = {}
        self._lock = threading.Lock()

    def cached(self, token_hash: str) -> TokenOwner | None:
        """The remembered owner of ``token_hash``, or None (unknown or remembered too long)."""
        with self._lock:
            entry = self._owners.get(token_hash)
            if entry is None:
                return None
            if self._clock() >= entry[0]:
                del self._owners[token_hash]
                return None
            return entry[1]

    def owner(self, token_hash: str, lookup: Callable[[], TokenOwner | None]) -> TokenOwner | None:
        """The owner of ``token_hash``: remembered, or ``lookup()`` (remembered if found).

        Args:
            token_hash: :func:`hash_token` of the token.
            lookup: reads the owner from the database (None: no such token).

        Returns:
            The owner, or None for an unknown token.
        """
        found = self.cached(token_hash)
        if found is not None:
            return found
        found = lookup()
        if found is not None and self.seconds > 0:
            with self._lock:
                if len(self._owners) >= self.size:
                    self._owners.clear()
                self._owners[token_hash] = (self._clock() + self.seconds, found)
        return found

    def forget(self, token_hash: str | None = None) -> None:
        """Forget one token's owner (``token_hash``), or every owner (None)."""
        with self._lock:
            if token_hash is None:
                self._owners.clear()
            else:
                self._owners.pop(token_hash, None)


def lookup_token(store: Store, token_hash: str) -> TokenOwner | None:
    """The owner of ``token_hash`` in ``store``, or None."""
    with store.read() as session:
        row = session.scalar(select(Token).where(Token.token_hash == token_hash))
        return TokenOwner(row.token_hash, row.user_name, row.superuser) if row is not None else None


def authenticate(
    store: Store, token: str | None, privileged_header: str | None, cache: TokenCache | None = None
) -> User:
    """The user of ``token``; 403 ``VCPAuthException`` when unknown or not allowed.

    Args:
        store: the database the tokens are in.
        token: the ``x-vcc-access-token`` header.
        privileged_header: the ``x-vcc-privileged`` header.
        cache: remembers recent tokens' owners (see :class:`TokenCache`); None reads the
            database every time.

    Returns:
        The user, privileged when asked for and allowed.

    Raises:
        ServiceError: 403 for an unknown token, or privileged mode asked by a regular user.
    """
    token = (token or "").strip()
    owner = None
    if token:
        digest = hash_token(token)
        if cache is None:
            owner = lookup_token(store, digest)
        else:
            owner = cache.owner(digest, lambda: lookup_token(store, digest))
    return user_for(owner, token, privileged_header)


def user_for(owner: TokenOwner | None, token: str | None, privileged_header: str | None) -> User:
    """The :class:`User` of a token whose ``owner`` was looked up (403 as :func:`authenticate`)."""
    token = (token or "").strip()
    if owner is None:
        raise ServiceError(403, AUTH_EXC, f"{token_prefix(token)}:token lookup is failed: permission denied")
    privileged = str(privileged_header or "").strip().lower() == "true"
    if privileged and not owner.superuser:
        raise ServiceError(
            403,
            AUTH_EXC,
            f"{token_prefix(token)}:privileged mode is allowed only for superuser: permission denied",
        )
    return User(
        name=owner.user_name,
        superuser=owner.superuser,
        privileged=privileged,
        token_hash=owner.token_hash,
        token_shown=token_prefix(token),
    )
