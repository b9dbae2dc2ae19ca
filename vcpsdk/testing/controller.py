"""A real VC Controller in-process, for tests of the SDK and of your own notebooks.

Example (pytest)::

    from vcpsdk.testing import running_controller

    def test_my_notebook(tmp_path):
        with running_controller(tmp_path / "vcc") as vcc:
            token = vcc.create_token("alice")
            config_dir = vcc.write_config(tmp_path / "cfg")
            vcp = VcpSDK(token, config_dir=str(config_dir))
            ...

Only 127.0.0.1 is used; sandbox nodes boot instantly (``boot_delay=0``).  With
``tls=True`` the controller serves HTTPS with a self-signed certificate kept in its state
dir (``vcc.cert_path``), as ``vcc serve --tls-self-signed`` does; ``write_config`` then
writes ``scheme: https`` and ``insecure_request_warning: False``.

Every running controller carries :class:`~vcpsdk.testing.faults.Faults` (``vcc.faults``:
failing units, slow boots, HTTP errors and timeouts, applied by an ASGI middleware and by
wrapping the backend objects, never in the controller's own code) and can be restarted
with its state kept (``vcc.restart()``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
import yaml

from vcpsdk.controller.app import create_app
from vcpsdk.controller.auth import create_token
from vcpsdk.controller.runtime import Controller, build_controller
from vcpsdk.controller.settings import ControllerSettings
from vcpsdk.controller.tls import TlsFiles, self_signed
from vcpsdk.core.protocol import BASE_PATH
from vcpsdk.testing.faults import Faults
from vcpsdk.testing.network import free_port
from vcpsdk.testing.serving import LoopbackServer, serving


@dataclass
class RunningController(LoopbackServer):
    """A controller serving on 127.0.0.1 in a background thread.

    Attributes:
        state_dir: the controller's state dir.
        controller: the running controller (store, service, worker, backends).
        cert_path: the certificate it serves HTTPS with (``None``: plain http).
        faults: fault injection (see :mod:`vcpsdk.testing.faults`), disarmed by default.
    """

    state_dir: Path
    controller: Controller
    cert_path: Path | None = None
    faults: Faults = field(default_factory=Faults)
    _tls: TlsFiles | None = field(default=None, repr=False)
    _stack: ExitStack = field(default_factory=ExitStack, repr=False)

    def restart(self) -> None:
        """Stop the controller and start it again on the same port with the same state,
        as an operator's ``systemctl restart`` would: requests in flight fail, the nodes'
        SSH endpoints stop and come back (the backends' ``restore``), queued operations
        resume.  ``controller`` is the new one afterwards; armed faults stay armed.

        Example::

            unit = vcp.get_ugroup("g").create_unit("u", spec)
            live_controller.restart()
            assert vcp.get_ugroup("g").get_unit("u").state == "RUNNING"
        """
        self._stack.close()
        served = _serve(self.controller.settings, self.faults, self._tls, self.port)
        self.controller, self.port, self.server, self._stack = served

    @property
    def scheme(self) -> str:
        """``https`` when serving TLS, else ``http``."""
        return "https" if self.cert_path else "http"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/vcp/v1/occtr`` (``https://`` when serving TLS)."""
        return f"{self.origin}{BASE_PATH}"

    def create_token(self, user: str, superuser: bool = False) -> str:
        """A new access token for ``user``."""
        return create_token(self.controller.store, user, superuser=superuser)

    def write_config(self, config_dir: Path, **vcc: object) -> Path:
        """Write a ``vcp_config.yml`` pointing the SDK at this controller.

        Args:
            config_dir: the directory to write it in (created if needed).
            vcc: more (or other) keys of its ``vcc:`` section.

        Returns:
            ``config_dir``.
        """
        config_dir = Path(config_dir)
        config_dir.mkdir(parents=True, exist_ok=True)
        # no vault_port: the controller serves the cubbyhole itself and says so
        settings: dict[str, Any] = {"host": "127.0.0.1", "vcc_port": self.port, "scheme": self.scheme}
        if self.cert_path:  # self-signed: accept it, as NII's sample configs do
            settings["insecure_request_warning"] = False
        settings.update(vcc)
        (config_dir / "vcp_config.yml").write_text(yaml.safe_dump({"vcc": settings}))
        return config_dir


@contextmanager
def running_controller(
    state_dir: Path, boot_delay: float = 0.0, tls: bool | TlsFiles = False, **settings: object
) -> Iterator[RunningController]:
    """Serve a controller with its state in ``state_dir`` for the ``with`` block.

    Its sandbox nodes listen for SSH on a free port (``ssh_port`` overrides it), so
    several test controllers can hand out the same loopback addresses side by side.

    Args:
        state_dir: the controller's state dir.
        boot_delay: seconds a sandbox node takes to boot.
        tls: ``True`` serves HTTPS with a self-signed certificate for 127.0.0.1 kept in
            ``state_dir`` (made once, reused); a :class:`~vcpsdk.controller.tls.TlsFiles`
            serves with that certificate; ``False`` serves plain http.
        settings: more :class:`~vcpsdk.controller.settings.ControllerSettings` fields.

    Yields:
        the running controller.

    Example::

        with running_controller(tmp_path / "vcc", tls=True) as vcc:
            requests.get(vcc.base_url + "/vcs", verify=str(vcc.cert_path), ...)
    """
    settings.setdefault("ssh_port", free_port())
    files = tls if isinstance(tls, TlsFiles) else self_signed(Path(state_dir), "127.0.0.1") if tls else None
    if files:
        settings.update(tls_cert=files.cert, tls_key=files.key)
    config = ControllerSettings(state_dir=Path(state_dir), boot_delay=boot_delay, **settings)  # type: ignore[arg-type]
    faults = Faults()
    controller, port, server, stack = _serve(config, faults, files, 0)
    running = RunningController(
        port=port,
        server=server,
        state_dir=config.state_dir,
        controller=controller,
        cert_path=files.cert if files else None,
        faults=faults,
        _tls=files,
        _stack=stack,
    )
    try:
        yield running
    finally:
        running._stack.close()  # the one of the last (re)start


#: the files in a state dir that every replica on one database must share
REPLICA_KEYS = ("secrets.key", "controller_ed25519", "controller_ed25519.pub")


def share_keys(source: Path, target: Path) -> Path:
    """Give state dir ``target`` the keys of state dir ``source``, as every replica on one
    database must have them (docs/deployment.md, "Keys every replica shares").

    Args:
        source: the state dir of a controller that has started (its keys exist).
        target: the new replica's state dir (created if needed).

    Returns:
        ``target``, e.g. for ``running_controller(share_keys(a, b), database_url=url)``.
    """
    target.mkdir(parents=True, exist_ok=True)
    for name in REPLICA_KEYS:
        if (source / name).exists():
            shutil.copy2(source / name, target / name)
    return target


def _serve(
    settings: ControllerSettings, faults: Faults, tls: TlsFiles | None, port: int
) -> tuple[Controller, int, uvicorn.Server, ExitStack]:
    """Build a controller and serve it (behind ``faults``) on ``port`` of 127.0.0.1 (0: any).

    Returns:
        the controller, its port, the server and the stack that stops them.
    """
    controller = build_controller(settings)  # see vcpsdk.controller.runtime
    faults.attach(controller)
    with ExitStack() as stack:
        app = faults.http.wrap(create_app(controller))
        port, server = stack.enter_context(serving(app, "controller", tls=tls, port=port))
        return controller, port, server, stack.pop_all()
