"""Legacy module of 2018 notebooks: ``from vcpsdk import vcp_config; vcp_config.block_storage_id``.

Attributes are read from the top level of ``vcp_config.yml`` in the default config dir
(``$VCPSDK_CONFIG_DIR``, else ``~/vcp_config``).
"""

from __future__ import annotations

from typing import Any

from vcpsdk.config import load_config


def __getattr__(name: str) -> Any:
    raw = load_config("").raw
    if name in raw:
        return raw[name]
    raise AttributeError(f"vcp_config has no setting {name!r}; add '{name}: ...' to vcp_config.yml")
