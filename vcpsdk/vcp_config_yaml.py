"""``VcpConfigYaml``: read ``vcp_config.yml`` / ``vcp_flavor.yml`` as plain dicts.

Notebooks do ``VcpConfigYaml(vcp.config_dir).load_config('vcp_config')`` to read
their own settings next to the SDK's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vcpsdk.config import _load_yaml, resolve_config_dir
from vcpsdk.errors import VcpConfigError


class VcpConfigYaml:
    """Loader of the YAML files of a config directory, as plain dicts.

    Notebooks read their own settings next to the SDK's with it.

    Args:
        config_dir: the directory (default ``''``: ``$VCPSDK_CONFIG_DIR``, else
            ``~/vcp_config``).

    Example:
        >>> from vcpsdk.vcp_config_yaml import VcpConfigYaml
        >>> VcpConfigYaml(vcp.config_dir).config_dir == vcp.config_dir
        True
    """

    def __init__(self, config_dir: str = "") -> None:
        self.config_dir = str(resolve_config_dir(config_dir))

    def _path(self, name: str) -> Path:
        file_name = name if name.endswith((".yml", ".yaml")) else f"{name}.yml"
        return Path(self.config_dir) / file_name

    def load_config(self, name: str = "vcp_config") -> dict[str, Any]:
        """The YAML file ``<config_dir>/<name>.yml`` as a dict (no validation).

        Args:
            name: file name without ``.yml`` (a ``.yml`` or ``.yaml`` suffix is also
                accepted); default ``'vcp_config'``.

        Returns:
            dict: the file's top-level mapping; ``{}`` for an empty file.

        Raises:
            VcpConfigError: ``<path>: file not found``, ``<path>: not valid YAML: ...`` or
                ``<path>: the top level must be a mapping, got <type>``.

        Example:
            >>> from pathlib import Path
            >>> from vcpsdk.vcp_config_yaml import VcpConfigYaml
            >>> Path(vcp.config_dir).mkdir(exist_ok=True)
            >>> Path(vcp.config_dir, 'my_settings.yml').write_text('dataset: census')
            15
            >>> VcpConfigYaml(vcp.config_dir).load_config('my_settings')['dataset']
            'census'
        """
        path = self._path(name)
        try:
            return _load_yaml(path)  # the SDK's own reader: same messages
        except FileNotFoundError:
            raise VcpConfigError(f"{path}: file not found") from None

    def load(self, name: str) -> dict[str, Any]:
        """Same as :meth:`load_config` (the 2018 name), without a default name.

        Args:
            name: file name without ``.yml`` (a ``.yml`` or ``.yaml`` suffix is also accepted).

        Returns:
            dict: the file's top-level mapping; ``{}`` for an empty file.

        Raises:
            VcpConfigError: as :meth:`load_config`.

        Example:
            >>> import pathlib, vcpsdk.vcp_config_yaml
            >>> settings = pathlib.Path(vcp.config_dir) / 'my_settings.yml'
            >>> settings.parent.mkdir(exist_ok=True)
            >>> settings.write_text('dataset: census')
            15
            >>> vcpsdk.vcp_config_yaml.VcpConfigYaml(vcp.config_dir).load('my_settings.yml')
            {'dataset': 'census'}
        """
        return self.load_config(name)
