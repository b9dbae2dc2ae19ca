"""The controller's own SSH key pair (``GET /publickey``).

On-premises servers install the public key so the controller can manage them.
The private key stays in the state dir with mode 0600.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEY_FILE = "controller_ed25519"


def controller_public_key(state_dir: Path) -> str:
    """OpenSSH public key of the controller, created on first use."""
    private_path = Path(state_dir) / KEY_FILE
    public_path = private_path.with_suffix(".pub")
    if not public_path.is_file():
        key = Ed25519PrivateKey.generate()
        private_bytes = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(private_bytes)
        public = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        public_path.write_bytes(public + b" vcc@sandbox\n")
    return public_path.read_text("utf-8").strip()
