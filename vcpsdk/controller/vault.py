"""A small Vault-compatible cubbyhole for each token, and ``vault://`` resolution.

Notebooks store secrets with ``POST {vcc_info()['vault_url']}/v1/cubbyhole/<path>`` and
header ``X-Vault-Token: <VCC token>``, and reference cloud credentials in
``vcp_config.yml`` as ``vault://cubbyhole/aws/access_key``.  The controller serves that
API (GET, POST/PUT, DELETE, LIST) on its own port, keeps each token's secrets private
and sealed, and resolves references when a cloud backend needs the credentials; a
missing one fails like the original (``VCPVaultReadException``, HTTP 403).
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from vcpsdk.controller.errors import ServiceError, User, conflict, over_limit, too_large
from vcpsdk.controller.secrets import SecretBox
from vcpsdk.controller.settings import Limits
from vcpsdk.controller.store import Store, VaultSecret
from vcpsdk.core.providers import get_provider

VAULT_EXC = "VCPVaultReadException"
PREFIX = "vault://cubbyhole/"


class Vault:
    """Cubbyhole secrets of every token, sealed at rest, within the token's quotas
    (``max_secret_bytes``, ``max_secrets_per_token``, ``max_secret_bytes_per_token`` of
    :class:`~vcpsdk.controller.settings.Limits`)."""

    #: the longest path (the ``vault_secrets.path`` column)
    MAX_PATH = 512

    def __init__(self, store: Store, secrets: SecretBox, limits: Limits | None = None) -> None:
        """Args:
        store: the controller's database.
        secrets: seals each secret before it is stored.
        limits: the cubbyhole quotas (default :class:`Limits`).
        """
        self.store = store
        self.secrets = secrets
        self.limits = limits or Limits()

    @staticmethod
    def _clean(path: str) -> str:
        return path.strip("/")

    def write(self, token_hash: str, path: str, data: dict[str, Any]) -> None:
        """Store ``data`` at ``path`` (replacing what was there).

        Raises:
            ServiceError: 413 for a secret over ``max_secret_bytes``; 400 when the token's
                entries or their stored bytes would go over ``max_secrets_per_token`` or
                ``max_secret_bytes_per_token`` (nothing is stored).
        """
        path = self._clean(path)
        text = json.dumps(data)
        limit = self.limits.max_secret_bytes
        if limit and len(text.encode("utf-8")) > limit:
            raise too_large(f"the secret ({len(text.encode('utf-8'))} bytes)", "max_secret_bytes", limit)
        sealed = self.secrets.seal_text(text)
        with self.store.transaction() as session:
            self._check_quota(session, token_hash, path, len(sealed))
            row = session.scalar(
                select(VaultSecret).where(VaultSecret.token_hash == token_hash, VaultSecret.path == path)
            )
            if row is None:
                session.add(VaultSecret(token_hash=token_hash, path=path, sealed=sealed))
            else:
                row.sealed = sealed

    def _check_quota(self, session: Session, token_hash: str, path: str, size: int) -> None:
        """Refuse a write that takes the token's other entries plus this one over its quotas."""
        entries, stored = session.execute(
            select(
                func.count(VaultSecret.path), func.coalesce(func.sum(func.length(VaultSecret.sealed)), 0)
            ).where(VaultSecret.token_hash == token_hash, VaultSecret.path != path)
        ).one()
        most, most_bytes = self.limits.max_secrets_per_token, self.limits.max_secret_bytes_per_token
        if most and entries + 1 > most:
            raise over_limit(f"{entries} + 1 secrets of this token", "max_secrets_per_token", most)
        if most_bytes and stored + size > most_bytes:
            what = f"{stored} + {size} stored bytes of this token's secrets"
            raise over_limit(what, "max_secret_bytes_per_token", most_bytes)

    def read(self, token_hash: str, path: str) -> dict[str, Any] | None:
        """The data at ``path``, or None."""
        with self.store.read() as session:
            sealed = session.scalar(
                select(VaultSecret.sealed).where(
                    VaultSecret.token_hash == token_hash, VaultSecret.path == self._clean(path)
                )
            )
        if sealed is None:
            return None
        try:
            text = self.secrets.open_text(sealed)
        except InvalidToken:  # the controller's secrets.key was replaced since it was written
            raise conflict(
                f"the secret at {self._clean(path)} was sealed with another key of this "
                "controller and cannot be read; write it again"
            ) from None
        data: dict[str, Any] = json.loads(text)
        return data

    def delete(self, token_hash: str, path: str) -> None:
        """Remove the secret at ``path`` (no error when absent)."""
        with self.store.transaction() as session:
            session.execute(
                delete(VaultSecret).where(
                    VaultSecret.token_hash == token_hash, VaultSecret.path == self._clean(path)
                )
            )

    def list(self, token_hash: str, prefix: str) -> list[str]:
        """Keys directly under ``prefix`` (sub-folders end with ``/``), like Vault's LIST."""
        prefix = self._clean(prefix)
        base = f"{prefix}/" if prefix else ""
        with self.store.read() as session:
            paths = session.scalars(
                select(VaultSecret.path).where(
                    VaultSecret.token_hash == token_hash, VaultSecret.path.startswith(base)
                )
            )
            keys = {p[len(base) :].split("/", 1)[0] + ("/" if "/" in p[len(base) :] else "") for p in paths}
        return sorted(keys)

    def resolve(self, user: User, provider: str, params: dict[str, Any]) -> dict[str, Any]:
        """``cloud_params`` with ``vault://cubbyhole/...`` credentials replaced by their values.

        Args:
            user: whose cubbyhole to read.
            provider: the unit's provider (its declaration lists the credential keys).
            params: the unit's ``cloud_params``.

        Raises:
            ServiceError: 403 ``VCPVaultReadException`` naming the path when it is missing.
        """
        resolved = dict(params)
        for key in get_provider(provider).credentials:
            value = params.get(key)
            if not isinstance(value, str) or not value.startswith("vault://"):
                continue
            path = value[len(PREFIX) :] if value.startswith(PREFIX) else None
            data = self.read(user.token_hash, path) if path else None
            secret = _value_of(data)
            if secret is None:
                shown = value[len("vault://") :]
                raise ServiceError(403, VAULT_EXC, f"{user.token_shown}:{shown} vault read is failed:")
            resolved[key] = secret
        return resolved


def _value_of(data: dict[str, Any] | None) -> str | None:
    """The secret in a cubbyhole entry: its ``value`` key, or its only key."""
    if not data:
        return None
    if "value" in data:
        return str(data["value"])
    if len(data) == 1:
        return str(next(iter(data.values())))
    return None
