"""pytest fixtures for testing notebooks and code that use vcpsdk, against a real
controller running in-process on 127.0.0.1 (the sandbox backend: nothing is created
in any cloud, nodes boot instantly and are real SSH endpoints).

Installing vcpsdk registers the plugin (a ``pytest11`` entry point named after this
module): nothing to enable, and a ``conftest.py`` that still lists it in
``pytest_plugins`` keeps working.  It costs nothing until a test asks for one of its
fixtures (the controller is imported and started on first use);
``-p no:vcpsdk.testing.pytest_plugin`` turns it off.

In a test::

    def test_my_group(vcp_sdk, vcp_pubkey):
        spec = vcp_sdk.get_spec("aws", "small")
        spec.set_ssh_pubkey(str(vcp_pubkey))
        unit = vcp_sdk.create_ugroup("mine").create_unit("web", spec)
        assert unit.state == "RUNNING"

Fixtures:

* ``live_controller`` (session): the in-process controller (a
  :class:`~vcpsdk.testing.RunningController`; ``live_controller.restart()`` restarts it
  with its state kept);
* ``vcp_controller_settings`` (session): more ``ControllerSettings`` of ``live_controller``
  (none by default: SQLite in its state dir); override it in a ``conftest.py``, e.g. with a
  ``database_url`` (this project's ``pytest --vcp-database postgres`` does, tests/conftest.py);
* ``vcp_faults``: its fault injection (:class:`~vcpsdk.testing.faults.Faults`:
  ``fail_next_unit``, ``boot_delay``, ``http_error``, ``timeout``), disarmed after the test;
* ``vcp_user``: a user name no other test uses; ``vcp_token``: that user's token;
* ``vcp_config_dir``: a config dir whose ``vcp_config.yml`` points at the controller;
* ``vcp_sdk``: a ``VcpSDK`` of that user;
* ``make_vcp_sdk``: ``make_vcp_sdk(superuser=False, user=None)`` → the SDK of another new user
  (its name in ``.user``);
* ``vcp_pubkey``: a syntactically valid SSH public key file (no private half);
* ``ssh_keypair``: a real ed25519 key pair (``.private``, ``.public``) made by ``ssh-keygen``;
* ``make_running_unit``: ``make_running_unit(ugroup=None, unit="u", provider="aws",
  num_nodes=1, **spec attributes)`` → ``(group, unit, nodes)`` of ``vcp_sdk``, the nodes
  authorizing ``vcp_pubkey``;
* ``run_vcp_notebook``: ``run_vcp_notebook(path, **options)`` → the executed notebook, run
  against ``live_controller`` (see :func:`vcpsdk.testing.notebooks.run_notebook`).

Notebooks as tests: ``pytest --vcp-notebooks notebooks/`` (or ``vcp_notebooks = true`` in
the ini file) collects every ``.ipynb`` among the paths pytest collects as one test, run
against ``live_controller`` with the token prompt answered (needs the ``notebook`` extra).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from vcpsdk.testing.controller import RunningController
    from vcpsdk.testing.faults import Faults
    from vcpsdk.testing.notebooks import NotebookFailed
    from vcpsdk.testing.units import RunningUnit
    from vcpsdk.vcpsdk import VcpSDK

_users = itertools.count(1)
_extra_users = itertools.count(1)


@dataclass(frozen=True)
class SshKeyPair:
    """A private key file and its public half (``<private>.pub``)."""

    private: Path
    public: Path


class _SessionController:
    """The session's in-process controller, started on first use and stopped at the end.

    One per pytest session (per xdist worker): ``live_controller`` and the notebook items
    share it.
    """

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._stack = ExitStack()
        self._running: RunningController | None = None

    def get(self, settings: dict[str, Any] | None = None) -> RunningController:
        """The running controller, started now (with more ``ControllerSettings`` fields
        ``settings``) if it is not yet."""
        if self._running is None:
            from vcpsdk.testing.controller import running_controller

            state = self.mktemp("live-controller")
            self._running = self._stack.enter_context(running_controller(state, **(settings or {})))
        return self._running

    def mktemp(self, name: str) -> Path:
        """A new directory of the session's temporary directories."""
        return self._factory.mktemp(name)

    def close(self) -> None:
        """Stop the controller if it was started."""
        self._stack.close()
        self._running = None


_session_controller = pytest.StashKey[_SessionController]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The options of notebook collection (``--vcp-notebooks``)."""
    group = parser.getgroup("vcpsdk", "vcpsdk notebooks (vcpsdk.testing)")
    group.addoption(
        "--vcp-notebooks",
        action="store_true",
        default=None,
        help="collect every .ipynb among the collected paths as a test run against an in-process "
        "VC Controller (the token prompt answered)",
    )
    group.addoption(
        "--vcp-notebook-timeout",
        type=float,
        default=None,
        help="seconds one notebook cell may run (default 600)",
    )
    parser.addini(
        "vcp_notebooks", "collect .ipynb files as vcpsdk notebook tests", type="bool", default=False
    )
    parser.addini("vcp_notebook_timeout", "seconds one notebook cell may run", default="600")


def _session(config: pytest.Config) -> _SessionController:
    if _session_controller not in config.stash:
        # the session's TempPathFactory (pytest's tmpdir plugin), as tmp_path_factory gives it
        factory = getattr(config, "_tmp_path_factory", None) or pytest.TempPathFactory.from_config(
            config, _ispytest=True
        )
        config.stash[_session_controller] = _SessionController(factory)
    return config.stash[_session_controller]


def stop_live_controller(config: pytest.Config) -> None:
    """Stop the session's controller now (if a test started it); e.g. from the finalizer of
    a ``vcp_controller_settings`` override whose database must outlive it."""
    holder = config.stash.get(_session_controller, None)
    if holder is not None:
        holder.close()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the session's controller (if a test started it)."""
    stop_live_controller(session.config)


@pytest.fixture(scope="session")
def vcp_controller_settings() -> dict[str, Any]:
    """More ``ControllerSettings`` fields of ``live_controller`` (override it to change them)."""
    return {}


@pytest.fixture(scope="session")
def live_controller(
    pytestconfig: pytest.Config, vcp_controller_settings: dict[str, Any]
) -> RunningController:
    """A real controller (sandbox backend, zero boot delay) on 127.0.0.1, one per session.

    ``live_controller.restart()`` restarts it with its state kept (same port).
    """
    return _session(pytestconfig).get(vcp_controller_settings)


@pytest.fixture
def vcp_faults(live_controller: RunningController, monkeypatch: pytest.MonkeyPatch) -> Iterator[_TestFaults]:
    """Fault injection of ``live_controller`` for this test (disarmed afterwards).

    ``fail_next_unit(message)``, ``boot_delay(seconds)``, ``http_error(status, times=1,
    route=None, method=None)``, ``timeout(times=1, route=None, method=None,
    client_timeout=1.0)``; see :class:`vcpsdk.testing.faults.Faults`.
    """
    faults = _TestFaults(live_controller.faults, monkeypatch)
    try:
        yield faults
    finally:
        live_controller.faults.clear()


class _TestFaults:
    """:class:`~vcpsdk.testing.faults.Faults` of the session's controller, for one test:
    ``timeout`` also shortens the SDK's read timeout in this test process."""

    def __init__(self, faults: Faults, monkeypatch: pytest.MonkeyPatch) -> None:
        self._faults = faults
        self._monkeypatch = monkeypatch

    def __getattr__(self, name: str) -> Any:
        return getattr(self._faults, name)

    def timeout(
        self, times: int = 1, route: Any = None, method: str | None = None, client_timeout: float = 1.0
    ) -> Any:
        """Like :meth:`Faults.timeout`; during the test the SDK of this process (also one made
        before) waits ``client_timeout`` seconds for an answer instead of 120 s (the
        long-poll reads of waits keep their own, longer, timeout)."""
        from vcpsdk.occtr import OcctrClient

        self._monkeypatch.setattr(OcctrClient, "READ_TIMEOUT", client_timeout)
        return self._faults.timeout(times=times, route=route, method=method)


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
    from vcpsdk.testing.units import connect_sdk

    def make(superuser: bool = False, user: str | None = None) -> VcpSDK:
        name = user or f"extra{next(_extra_users)}{'su' if superuser else ''}"
        return connect_sdk(live_controller, tmp_path / f"cfg-{name}", name, superuser=superuser)

    return make


@pytest.fixture
def vcp_pubkey(tmp_path: Path) -> Path:
    """A syntactically valid SSH public key file (no private half)."""
    from vcpsdk.testing.keys import write_test_public_key

    return write_test_public_key(tmp_path / "id_test.pub")


@pytest.fixture
def ssh_keypair(tmp_path: Path) -> SshKeyPair:
    """A real ed25519 key pair without passphrase, for logging in to sandbox nodes."""
    from vcpsdk.testing.keys import make_ssh_keypair, public_key_of

    private = make_ssh_keypair(tmp_path)
    return SshKeyPair(private, public_key_of(private))


@pytest.fixture
def make_running_unit(vcp_sdk: VcpSDK, vcp_pubkey: Path) -> Callable[..., RunningUnit]:
    """``make_running_unit(ugroup=None, unit="u", provider="aws", num_nodes=1, **attrs)``:
    a RUNNING compute unit of ``vcp_sdk`` → ``(group, unit, nodes)``."""
    from vcpsdk.testing.units import create_running_unit

    def make(*args: Any, **kwargs: Any) -> RunningUnit:
        return create_running_unit(vcp_sdk, vcp_pubkey, *args, **kwargs)

    return make


@pytest.fixture
def run_vcp_notebook(
    live_controller: RunningController, vcp_user: str, tmp_path: Path
) -> Callable[..., NotebookNode]:
    """``run_vcp_notebook(path, **options)``: execute a notebook against ``live_controller``
    as ``vcp_user`` (its ``getpass()`` answered with the user's token) and return it
    executed; options as :func:`vcpsdk.testing.notebooks.run_notebook`."""
    from vcpsdk.testing.notebooks import run_notebook

    def run(path: str | Path, **options: Any) -> NotebookNode:
        options.setdefault("user", vcp_user)
        options.setdefault("work_dir", tmp_path / "notebook-config")
        return run_notebook(path, controller=live_controller, **options)

    return run


# -- notebooks as test items -----------------------------------------------------------


def _collect_notebooks(config: pytest.Config) -> bool:
    option = config.getoption("vcp_notebooks")
    return bool(option if option is not None else config.getini("vcp_notebooks"))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A ``.ipynb`` is a test file when notebook collection is on (``--vcp-notebooks``)."""
    if file_path.suffix != ".ipynb" or ".ipynb_checkpoints" in file_path.parts:
        return None
    if not _collect_notebooks(parent.config):
        return None
    file: NotebookFile = NotebookFile.from_parent(parent, path=file_path)
    return file


class NotebookFile(pytest.File):
    """A notebook collected as a test file: one :class:`NotebookItem`."""

    def collect(self) -> Iterator[pytest.Item]:
        """The one test of the notebook."""
        yield NotebookItem.from_parent(self, name=self.path.name)


class NotebookItem(pytest.Item):
    """One notebook run top to bottom against the session's controller; it fails on the
    first cell that raises, and the report shows that cell and its error."""

    def runtest(self) -> None:
        """Execute the notebook (in its own directory, as Jupyter would)."""
        from vcpsdk.testing.notebooks import run_notebook

        config = self.config
        timeout = config.getoption("vcp_notebook_timeout") or float(config.getini("vcp_notebook_timeout"))
        session = _session(config)
        run_notebook(
            self.path,
            controller=session.get(),
            user=f"nb{next(_users)}",
            timeout=timeout,
            work_dir=session.mktemp("vcp-notebook"),
        )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        """The failing cell and its error (not the runner's traceback)."""
        from vcpsdk.testing.notebooks import NotebookFailed

        if isinstance(excinfo.value, NotebookFailed):
            failed: NotebookFailed = excinfo.value
            return failed.report()
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Where the test is: the notebook file."""
        return self.path, None, f"notebook {self.path.name}"
