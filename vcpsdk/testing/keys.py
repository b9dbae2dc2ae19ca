"""SSH keys for tests: a syntactically valid public key, or a real key pair.

Example::

    from vcpsdk.testing.keys import make_ssh_keypair, public_key_of

    private = make_ssh_keypair(tmp_path)       # OpenSSH ed25519, no passphrase
    spec.set_ssh_pubkey(str(public_key_of(private)))
"""

from __future__ import annotations

import base64
import itertools
import subprocess
from pathlib import Path

_keys = itertools.count(1)


def write_test_public_key(path: Path) -> Path:
    """Write a syntactically valid ``ssh-ed25519`` public key file (no private half).

    Args:
        path: the file to write.

    Returns:
        ``path``.
    """
    blob = (
        len(b"ssh-ed25519").to_bytes(4, "big") + b"ssh-ed25519" + (32).to_bytes(4, "big") + bytes(range(32))
    )
    path = Path(path)
    path.write_text("ssh-ed25519 " + base64.b64encode(blob).decode() + " test@vcpsdk\n")
    return path


def make_ssh_keypair(directory: Path) -> Path:
    """A new ed25519 key pair made by ``ssh-keygen`` (no passphrase).

    Args:
        directory: where to write ``id_ed25519_<n>`` and ``id_ed25519_<n>.pub``.

    Returns:
        The private key's path (:func:`public_key_of` gives the public half).

    Raises:
        subprocess.CalledProcessError: ``ssh-keygen`` failed.
    """
    path = Path(directory) / f"id_ed25519_{next(_keys)}"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)], check=True
    )
    return path


def public_key_of(private_key: Path) -> Path:
    """The public half of a key made by :func:`make_ssh_keypair` (``<private>.pub``)."""
    return private_key.parent / (private_key.name + ".pub")
