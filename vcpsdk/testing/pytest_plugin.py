"""pytest fixtures for testing notebooks and code that use vcpsdk, against a real
controller running in-process on 127.0.0.1 (the sandbox backend: nothing is created
in any cloud, nodes boot instantly and are real SSH endpoints).

Enable it in your top-level ``conftest.py``::

    pytest_plugins = ["vcpsdk.testing.pytest_plugin"]

Then, in a test::

    def test_my_group(vcp_sdk, vcp_pubkey):
        spec = vcp_sdk.get_spec("aws", "small")
        spec.set_ssh_pubkey(str(vcp_pubkey))
        unit = vcp_sdk.create_ugroup("mine").create_unit("web", spec)
        assert unit.state == "RUNNING"

Fixtures:

* ``live_controller`` (session): the in-process controller (a
  :class:`~vcpsdk.testing.RunningController`);
* ``vcp_controller_settings`` (session): more ``ControllerSettings`` of ``live_controller``
  (none by default: SQLite in its state dir); override it in a ``conftest.py``, e.g. with a
  ``database_url`` (this project's ``pytest --vcp-database postgres`` does, tests/conftest.py);
* ``vcp_user``: a user name no other test uses; ``vcp_token``: that user's token;
* ``vcp_config_dir``: a config dir whose ``vcp_config.yml`` points at the controller;
* ``vcp_sdk``: a ``VcpSDK`` of that user;
* ``make_vcp_sdk``: ``make_vcp_sdk(superuser=False, user=None)`` → the SDK of another new user
  (its name in ``.user``);
* ``vcp_pubkey``: a syntactically valid SSH public key file (no private half);
* ``ssh_keypair``: a real ed25519 key pair (``.private``, ``.public``) made by ``ssh-keygen``;
* ``make_running_unit``: ``make_running_unit(ugroup=None, unit="u", provider="aws",
  num_nodes=1, **spec attributes)`` → ``(group, unit, nodes)`` of ``vcp_sdk``, the nodes
  authorizing ``vcp_pubkey``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from vcpsdk.testing.controller import RunningController, running_controller
from vcpsdk.testing.keys import make_ssh_keypair, public_key_of, write_test_public_key
from vcpsdk.testing.units import RunningUnit, connect_sdk, create_running_unit

if TYPE_CHECKING:
    from vcpsdk.vcpsdk import VcpSDK

_users = itertools.count(1)
_extra_users = itertools.count(1)


@dataclass(frozen=True)
class SshKeyPair:
    """A private key file and its public half (``<private>.pub``)."""

    private: Path
    public: Path


@pytest.fixture(scope="session")
def vcp_controller_settings() -> dict[str, Any]:
    """More ``ControllerSettings`` fields of ``live_controller`` (override it to change them)."""
    return {}


@pytest.fixture(scope="session")
def live_controller(
    tmp_path_factory: pytest.TempPathFactory, vcp_controller_settings: dict[str, Any]
) -> Iterator[RunningController]:
    """A real controller (sandbox backend, zero boot delay) on 127.0.0.1, one per session."""
    state_dir = tmp_path_factory.mktemp("live-controller")
    with running_controller(state_dir, **vcp_controller_settings) as running:
        yield running


@pytest.fixture
def vcp_user() -> str:
    """A user name no other test uses, so UnitGroups never collide."""
    return f"user{next(_users)}"


@pytest.fixture
def vcp_token(live_controller: RunningController, vcp_user: str) -> str:
    """A regular token of ``vcp_user``."""
    return live_controller.create_token(vcp_user)


@pytest.fixture
def vcp_config_dir(live_controller: RunningController, tmp_path: Path) -> Path:
    """A config dir whose ``vcp_config.yml`` points at ``live_controller``."""
    return live_controller.write_config(tmp_path / "vcp_config")


@pytest.fixture
def vcp_sdk(vcp_token: str, vcp_config_dir: Path) -> VcpSDK:
    """A VcpSDK of ``vcp_user`` against ``live_controller``."""
    from vcpsdk.vcpsdk import VcpSDK

    return VcpSDK(vcp_token, config_dir=str(vcp_config_dir))


@pytest.fixture
def make_vcp_sdk(live_controller: RunningController, tmp_path: Path) -> Callable[..., VcpSDK]:
    """``make_vcp_sdk(superuser=False, user=None)``: a VcpSDK of another fresh user (its name
    in ``.user``) against ``live_controller``."""

    def make(superuser: bool = False, user: str | None = None) -> VcpSDK:
        name = user or f"extra{next(_extra_users)}{'su' if superuser else ''}"
        return connect_sdk(live_controller, tmp_path / f"cfg-{name}", name, superuser=superuser)

    return make


@pytest.fixture
def vcp_pubkey(tmp_path: Path) -> Path:
    """A syntactically valid SSH public key file (no private half)."""
    return write_test_public_key(tmp_path / "id_test.pub")


@pytest.fixture
def ssh_keypair(tmp_path: Path) -> SshKeyPair:
    """A real ed25519 key pair without passphrase, for logging in to sandbox nodes."""
    private = make_ssh_keypair(tmp_path)
    return SshKeyPair(private, public_key_of(private))


@pytest.fixture
def make_running_unit(vcp_sdk: VcpSDK, vcp_pubkey: Path) -> Callable[..., RunningUnit]:
    """``make_running_unit(ugroup=None, unit="u", provider="aws", num_nodes=1, **attrs)``:
    a RUNNING compute unit of ``vcp_sdk`` → ``(group, unit, nodes)``."""

    def make(*args: Any, **kwargs: Any) -> RunningUnit:
        return create_running_unit(vcp_sdk, vcp_pubkey, *args, **kwargs)

    return make
