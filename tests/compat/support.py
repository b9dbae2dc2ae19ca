"""Helpers of the compatibility suite (imported by its modules, not a conftest)."""

from __future__ import annotations

import itertools
import re
import socket
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

_names = itertools.count(1)

#: What our SDK may append to a reference message: a "did you mean" hint and/or a
#: "; <explanation>" tail.  The reference text itself must come first, unchanged.
_HINT_TAIL = re.compile(r"( \(did you mean .*\?\))?(; .*)?", re.S)


def unique(prefix: str) -> str:
    """A name no other test of this worker uses."""
    return f"{prefix}{next(_names)}"


def matches_reference(actual: str, expected: str | re.Pattern[str]) -> bool:
    """True when ``actual`` is the reference message (a regex for messages with
    system-dependent parts), optionally followed by one of our hints."""
    if isinstance(expected, re.Pattern):
        found = expected.match(actual)
        return bool(found) and bool(_HINT_TAIL.fullmatch(actual[found.end() :]))
    return actual.startswith(expected) and bool(_HINT_TAIL.fullmatch(actual[len(expected) :]))


def keyscan(address: str, port: int) -> str:
    """The ed25519 host key (base64 blob) ``ssh-keyscan -p PORT ADDRESS`` reports."""
    result = subprocess.run(
        ["ssh-keyscan", "-T", "10", "-t", "ed25519", "-p", str(port), address],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    keys = [line.split() for line in result.stdout.splitlines() if not line.startswith("#")]
    assert len(keys) == 1, (result.returncode, result.stdout, result.stderr)
    return keys[0][2]


def create_failed_unit(sdk: Any, group: Any, pubkey: Path, unit: str, host: int, port: int) -> Any:
    """Try to create ``unit`` (one ``abc`` node at 127.29.1.<host>) while that address's
    SSH port is taken: the sandbox cannot start the node and the unit ends in ERROR.

    Returns the exception ``create_unit`` raised (``failed (<unit>)``).  ``abc`` is used
    because no other test gives its range fixed addresses.
    """
    spec = sdk.get_spec("abc", str(sdk.df_flavors("abc")["flavor"].iloc[0]))
    spec.set_ssh_pubkey(str(pubkey))
    address = f"127.29.1.{host}"
    spec.ip_addresses = [address]
    with occupied(address, port):
        try:
            group.create_unit(unit, spec)
        except Exception as e:
            return e
    raise AssertionError(f"unit {unit} was created although {address}:{port} was taken")


@contextmanager
def occupied(address: str, port: int) -> Iterator[None]:
    """Listen on ``address:port`` ourselves, so a sandbox node cannot be created there
    (its SSH endpoint fails to bind and the unit ends in ERROR)."""
    with closing(socket.socket()) as sock:
        sock.bind((address, port))
        sock.listen()
        yield
