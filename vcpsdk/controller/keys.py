"""The controller's own SSH key pair (``GET /publickey``).

On-premises servers install the public key so the controller can manage them.
The private key stays in the state dir with mode 0600.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vcpsdk.controller.secrets import create_file_once

KEY_FILE = "controller_ed25519"


def controller_public_key(state_dir: Path) -> str:
    """OpenSSH public key of the controller, created on first use.

    Safe when several processes (replicas on one state dir) ask at once: the private key
    is created once (:func:`~vcpsdk.controller.secrets.create_file_once`), and the public
    key is always derived from the private key that won.
    """
    private_path = Path(state_dir) / KEY_FILE
    public_path = private_path.with_suffix(".pub")
    if not public_path.is_file():
        if not private_path.is_file():
            private_bytes = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.OpenSSH,
                serialization.NoEncryption(),
            )
            create_file_once(private_path, private_bytes)
        key = serialization.load_ssh_private_key(private_path.read_bytes(), password=None)
        public = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        create_file_once(public_path, public + b" vcc@sandbox\n", mode=0o644)
    return public_path.read_text("utf-8").strip()
