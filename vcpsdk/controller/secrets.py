"""Cloud credentials at rest: sealed in the store, opened only for a backend.

A unit CCI may carry literal credentials (``secret_key: ...``) merged from the
user's ``vcp_config.yml``.  The controller seals them with a Fernet key kept in
``<state dir>/secrets.key`` (mode 0600) before they reach the database, keeps the
stored CCI (``info``) with those values redacted, and opens them only when a
backend needs them.  ``vault://`` references are not secrets and stay as they are.
"""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from cryptography.fernet import Fernet, InvalidToken

from vcpsdk.core.providers import get_provider

SEALED = "sealed:"
REDACTED = "(stored encrypted on the controller)"


def create_file_once(path: Path, data: bytes, mode: int = 0o600) -> bool:
    """Create ``path`` with ``data`` unless it exists, atomically: a reader never sees it
    empty or half written, and of processes creating it at once exactly one wins.

    The data goes to a temporary file in the same directory, which is then hard-linked
    to ``path`` (a link never replaces an existing file) and removed.

    Args:
        path: the file to create.
        data: its content.
        mode: its permissions (default 0600: keys).

    Returns:
        True when this call created it, False when it existed (its content is the winner's).

    Example::

        create_file_once(state_dir / "secrets.key", Fernet.generate_key())
    """
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(temporary)


class KeyMismatch(RuntimeError):
    """This state dir's ``secrets.key`` is not the key the database's credentials are sealed
    with (a replica whose key was not copied from the others)."""


#: ``meta`` key of a text sealed with the key of the first controller on a database
KEY_CHECK_META = "secrets_key_check"
_KEY_CHECK_TEXT = "vcc secrets.key check"


class SecretBox:
    """Seal and open credential values with the controller's own key."""

    def __init__(self, state_dir: Path) -> None:
        key_file = self.key_file = Path(state_dir) / "secrets.key"
        if not key_file.exists():  # replicas starting at once on one state dir: one key wins
            create_file_once(key_file, Fernet.generate_key())
        self._fernet = Fernet(key_file.read_bytes())

    @staticmethod
    def _secret_keys(provider: str, params: dict[str, Any]) -> list[str]:
        decl = get_provider(provider)
        return [
            k
            for k in decl.secrets
            if isinstance(params.get(k), str) and params[k] and not params[k].startswith(("vault://", SEALED))
        ]

    def seal(self, provider: str, params: dict[str, Any]) -> dict[str, Any]:
        """``cloud_params`` with literal credentials replaced by sealed values."""
        sealed = dict(params)
        for key in self._secret_keys(provider, params):
            sealed[key] = SEALED + self._fernet.encrypt(params[key].encode()).decode()
        return sealed

    def open(self, params: dict[str, Any]) -> dict[str, Any]:
        """``cloud_params`` with sealed values opened (for a backend only)."""
        opened = dict(params)
        for key, value in params.items():
            if isinstance(value, str) and value.startswith(SEALED):
                try:
                    opened[key] = self._fernet.decrypt(value[len(SEALED) :].encode()).decode()
                except InvalidToken:
                    raise ValueError(
                        f"cloud_params.{key} cannot be opened with this "
                        "controller's key (secrets.key was replaced)"
                    ) from None
        return opened

    def seal_text(self, text: str) -> str:
        """An opaque sealed form of ``text``."""
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def open_text(self, sealed: str) -> str:
        """The text :meth:`seal_text` sealed."""
        return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")

    def check(self, recorded: str) -> None:
        """Check that this key opens ``recorded`` (:meth:`check_text` of the first controller
        on the database): replicas must share one key.

        Raises:
            KeyMismatch: naming the key file and what to do.
        """
        try:
            self.open_text(recorded)
        except InvalidToken:
            raise KeyMismatch(
                f"{self.key_file} is not the key the other replicas on this database use (the "
                "credentials they sealed cannot be opened with it); copy their secrets.key "
                "(docs/deployment.md, Keys every replica shares)"
            ) from None

    def check_text(self) -> str:
        """A text sealed with this key, for :meth:`check` by the other replicas."""
        return self.seal_text(_KEY_CHECK_TEXT)

    @staticmethod
    def redact_info(provider: str, document: dict[str, Any]) -> str:
        """The unit CCI, base64, with literal credentials redacted (what is stored and served)."""
        unit = dict(document)
        params = dict(unit.get("cloud_params") or {})
        for key in SecretBox._secret_keys(provider, params):
            params[key] = REDACTED
        unit["cloud_params"] = params
        # libyaml's emitter when PyYAML has it: the same text, several times faster
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        text = yaml.dump([{"unit": unit}], Dumper=dumper, sort_keys=False, allow_unicode=True)
        return base64.b64encode(text.encode("utf-8")).decode("ascii")
