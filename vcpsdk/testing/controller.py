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
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vcpsdk.controller.app import create_app
from vcpsdk.controller.auth import create_token
from vcpsdk.controller.runtime import Controller, build_controller
from vcpsdk.controller.settings import ControllerSettings
from vcpsdk.controller.tls import TlsFiles, self_signed
from vcpsdk.core.protocol import BASE_PATH
from vcpsdk.testing.network import free_port
from vcpsdk.testing.serving import LoopbackServer, serving


@dataclass
class RunningController(LoopbackServer):
    """A controller serving on 127.0.0.1 in a background thread.

    Attributes:
        state_dir: the controller's state dir.
        controller: the running controller (store, service, worker, backends).
        cert_path: the certificate it serves HTTPS with (``None``: plain http).
    """

    state_dir: Path
    controller: Controller
    cert_path: Path | None = None

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
    controller = build_controller(config)  # see vcpsdk.controller.runtime
    with serving(create_app(controller), "controller", tls=files) as (port, server):
        yield RunningController(
            port=port,
            server=server,
            state_dir=config.state_dir,
            controller=controller,
            cert_path=files.cert if files else None,
        )
