"""A real VC Controller in-process, for tests of the SDK and of your own notebooks.

Example (pytest)::

    from vcpsdk.testing import running_controller

    def test_my_notebook(tmp_path):
        with running_controller(tmp_path / "vcc") as vcc:
            token = vcc.create_token("alice")
            config_dir = vcc.write_config(tmp_path / "cfg")
            vcp = VcpSDK(token, config_dir=str(config_dir))
            ...

Only 127.0.0.1 is used; sandbox nodes boot instantly (``boot_delay=0``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from vcpsdk.controller.app import create_app
from vcpsdk.controller.auth import create_token
from vcpsdk.controller.runtime import Controller, build_controller
from vcpsdk.controller.settings import ControllerSettings
from vcpsdk.core.protocol import BASE_PATH
from vcpsdk.testing.network import free_port
from vcpsdk.testing.serving import LoopbackServer, serving


@dataclass
class RunningController(LoopbackServer):
    """A controller serving on 127.0.0.1 in a background thread."""

    state_dir: Path
    controller: Controller

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/vcp/v1/occtr``."""
        return f"{self.origin}{BASE_PATH}"

    def create_token(self, user: str, superuser: bool = False) -> str:
        """A new access token for ``user``."""
        return create_token(self.controller.store, user, superuser=superuser)

    def write_config(self, config_dir: Path, **vcc: object) -> Path:
        """Write a ``vcp_config.yml`` pointing the SDK at this controller."""
        config_dir = Path(config_dir)
        config_dir.mkdir(parents=True, exist_ok=True)
        # the controller also serves the Vault cubbyhole API on its own port
        settings = {
            "host": "127.0.0.1",
            "vcc_port": self.port,
            "vault_port": self.port,
            "scheme": "http",
            **vcc,
        }
        (config_dir / "vcp_config.yml").write_text(yaml.safe_dump({"vcc": settings}))
        return config_dir


@contextmanager
def running_controller(
    state_dir: Path, boot_delay: float = 0.0, **settings: object
) -> Iterator[RunningController]:
    """Serve a controller with its state in ``state_dir`` for the ``with`` block.

    Its sandbox nodes listen for SSH on a free port (``ssh_port`` overrides it), so
    several test controllers can hand out the same loopback addresses side by side.
    """
    settings.setdefault("ssh_port", free_port())
    config = ControllerSettings(state_dir=Path(state_dir), boot_delay=boot_delay, **settings)  # type: ignore[arg-type]
    controller = build_controller(config)  # see vcpsdk.controller.runtime
    with serving(create_app(controller), "controller") as (port, server):
        yield RunningController(port=port, server=server, state_dir=config.state_dir, controller=controller)
