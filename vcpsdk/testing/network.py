"""Loopback-only networking for tests: free ports and the network rule.

Tests (and notebooks under test) only ever connect to 127.0.0.0/8.  Two guards enforce it:

* :func:`loopback_only` refuses (and records) every TCP/UDP connection to a non-loopback
  address, e.g. the 10.x addresses a fake cloud hands out;
* :func:`refuse_non_loopback_names` makes every host name but ``127.0.0.1``/``localhost``
  fail to resolve, so a client that defaults to a public endpoint cannot reach it.

Example::

    from vcpsdk.testing.network import loopback_only

    with loopback_only() as violations:
        ...  # run the code under test
    assert violations == []
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free right now (e.g. for sandbox nodes' SSH endpoints).

    Returns:
        The port number.
    """
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def loopback_only() -> Iterator[list[str]]:
    """Refuse (and record) every TCP/UDP connection to a non-loopback address.

    Yields:
        The list of refused ``host:port`` strings, filled while the block runs.
    """
    violations: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        host = address[0] if isinstance(address, tuple) else str(address)
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            violations.append(f"{host}:{address[1] if isinstance(address, tuple) else ''}")
            raise OSError(f"test network rule: connection to {host} refused (loopback only)")

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    try:
        yield violations
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]


def refuse_non_loopback_names(monkeypatch: Any) -> list[str]:
    """Make every host name but 127.0.0.1/localhost fail to resolve.

    Extension clients default to public endpoints: a test must never reach them.

    Args:
        monkeypatch: pytest's ``monkeypatch`` fixture (undoes the patch after the test).

    Returns:
        The list of refused names, filled as the test runs.
    """
    refused: list[str] = []
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("127.0.0.1", "localhost"):
            refused.append(name)
            raise socket.gaierror(socket.EAI_NONAME, f"blocked in tests: {name}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    return refused


@contextmanager
def network_rule(monkeypatch: Any, unset: tuple[str, ...] = ()) -> Iterator[list[str]]:
    """The network rule of one test: no connection outside 127.0.0.0/8 and no public name
    looked up (:func:`loopback_only` and :func:`refuse_non_loopback_names`), with the
    environment variables ``unset`` removed (a cloud SDK's credentials or endpoints).

    Args:
        monkeypatch: pytest's ``monkeypatch`` fixture.
        unset: environment variables to remove for the test.

    Yields:
        The list of refused names, filled as the test runs.

    Raises:
        AssertionError: after the block, when anything was refused.
    """
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    refused = refuse_non_loopback_names(monkeypatch)
    with loopback_only() as violations:
        yield refused
    assert not violations and not refused, f"non-loopback traffic: {violations} names: {refused}"
