"""Locate, load and check ``vcp_config.yml`` and ``vcp_flavor.yml``.

The config directory is the ``config_dir`` argument, else ``$VCPSDK_CONFIG_DIR``,
else ``~/vcp_config``.  Errors name the file, the key and the allowed values.

Besides ``vcc:``, ``spec_options:`` and the providers' sections, ``vcp_config.yml`` may hold
``progress: false`` to switch off the live progress display of the waits (see
:mod:`vcpsdk.progress`; ``$VCPSDK_PROGRESS`` wins over it).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from vcpsdk.core.cci import DOCKER_OPT_KEYS, suggest, unknown_key
from vcpsdk.core.protocol import BASE_PATH
from vcpsdk.core.providers import PROVIDER_NAMES, get_provider
from vcpsdk.errors import VcpConfigError

CONFIG_FILE = "vcp_config.yml"
FLAVOR_FILE = "vcp_flavor.yml"
DEFAULT_WAIT_TIMEOUT_SEC = 1000
logger = logging.getLogger("vcp.sdk")

VCC_KEYS = {
    "host",
    "name",
    "insecure_request_warning",
    "vcc_port",
    "vault_port",
    "private_ip",
    "wait_timeout_sec",
    "scheme",
}
#: keys of ``spec_options``: the Base container's docker options, as in the unit CCI
SPEC_OPTION_KEYS = DOCKER_OPT_KEYS


#: the environment variable ``VcpSDK()`` reads its token from when none is given and
#: ``vcp_config.yml`` names a controller (the test kit's notebook kernels set it)
ACCESS_TOKEN_ENV = "VCPSDK_ACCESS_TOKEN"


def resolve_config_dir(config_dir: str | os.PathLike[str] | None = "") -> Path:
    """Directory holding ``vcp_config.yml``: argument → ``$VCPSDK_CONFIG_DIR`` → ``~/vcp_config``."""
    chosen = str(config_dir) if config_dir else os.environ.get("VCPSDK_CONFIG_DIR", "")
    return Path(chosen or "~/vcp_config").expanduser()


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise VcpConfigError(f"{path}: not valid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise VcpConfigError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    return data


@dataclass
class VccSettings:
    """The ``vcc:`` section: where the controller is and how to talk to it.

    ``insecure_request_warning`` is what the original client passes to ``requests`` as
    ``verify=``: ``True`` (the default) verifies the controller's certificate (against
    ``$REQUESTS_CA_BUNDLE`` when set), ``False`` accepts any certificate.
    """

    host: str
    name: str = ""
    scheme: str = "https"
    vcc_port: int | None = None
    vault_port: int | None = None
    private_ip: str = ""
    insecure_request_warning: bool | None = None
    wait_timeout_sec: int | None = None

    @property
    def netloc(self) -> str:
        """``host[:port]`` as used in URLs."""
        return f"{self.host}:{self.vcc_port}" if self.vcc_port else self.host

    @property
    def host_port(self) -> str:
        """``host:port`` with the REST port (default 443), as ``vcc_info()['host']`` shows it."""
        return f"{self.host}:{self.vcc_port or 443}"

    def vault_url(self, served_by_controller: bool = False) -> str:
        """The Vault address: ``vault_port`` when set; else the controller's own address when it
        serves the cubbyhole API itself (``served_by_controller``, as this project's controller
        says in its answers); else port 8443, the original's default."""
        port = self.vault_port or (
            (self.vcc_port or (443 if self.scheme == "https" else 80)) if served_by_controller else 8443
        )
        return f"{self.scheme}://{self.host}:{port}"

    @property
    def base_url(self) -> str:
        """The occtr base URL, e.g. ``https://10.0.0.1/vcp/v1/occtr``."""
        return f"{self.scheme}://{self.netloc}{BASE_PATH}"

    @property
    def verify(self) -> bool:
        """Whether the controller's certificate is verified: ``insecure_request_warning``
        (default ``True``), as the original client uses it."""
        return self.insecure_request_warning is not False

    @property
    def effective_wait_timeout(self) -> int:
        """``wait_timeout_sec`` or the default 1000 s."""
        return self.wait_timeout_sec or DEFAULT_WAIT_TIMEOUT_SEC


@dataclass
class VcpConfig:
    """Everything read from ``vcp_config.yml`` (empty when the file does not exist)."""

    config_dir: Path
    exists: bool
    vcc: VccSettings | None = None
    spec_options: dict[str, Any] = field(default_factory=dict)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    #: ``progress:`` (show the waits' progress); None when not set
    progress: bool | None = None
    #: ``vcc.wait_timeout_sec`` (None when not set), also without ``vcc.host``: then it is the
    #: local sandbox's
    wait_timeout_sec: int | None = None

    def provider_section(self, provider: str) -> dict[str, Any]:
        """Credentials/options for ``provider``: its own section, else its base provider's."""
        decl = get_provider(provider)
        for name in (provider, decl.config_section):
            if name and name in self.sections:
                return dict(self.sections[name])
        return {}


def load_config(config_dir: str | os.PathLike[str] | None = "") -> VcpConfig:
    """Read and check ``vcp_config.yml`` in the resolved config dir."""
    directory = resolve_config_dir(config_dir)
    path = directory / CONFIG_FILE
    if not path.is_file():
        return VcpConfig(config_dir=directory, exists=False)
    raw = _load_yaml(path)
    config = VcpConfig(config_dir=directory, exists=True, raw=raw)
    vcc = raw.get("vcc")
    if vcc is not None:
        config.vcc = _parse_vcc(path, vcc)
        config.wait_timeout_sec = _int_of(path, vcc, "wait_timeout_sec")
    spec_options = raw.get("spec_options") or {}
    if not isinstance(spec_options, dict):
        raise VcpConfigError(f"{path}: spec_options must be a mapping")
    for key in spec_options:
        if key not in SPEC_OPTION_KEYS:
            raise VcpConfigError(f"{path}: {unknown_key('spec_options', key, SPEC_OPTION_KEYS)}")
    config.spec_options = dict(spec_options)
    progress = raw.get("progress")
    if progress is not None and not isinstance(progress, bool):
        raise VcpConfigError(f"{path}: progress must be true or false, got {progress!r}")
    config.progress = progress
    for key, value in raw.items():
        if key in ("vcc", "spec_options", "progress"):
            continue
        if not isinstance(value, dict):
            raise VcpConfigError(f"{path}: section {key} must be a mapping")
        config.sections[key] = value
    return config


def _parse_vcc(path: Path, vcc: Any) -> VccSettings | None:
    if not isinstance(vcc, dict):
        raise VcpConfigError(f"{path}: vcc must be a mapping")
    for key in vcc:
        if key not in VCC_KEYS:
            raise VcpConfigError(f"{path}: {unknown_key('vcc', key, VCC_KEYS)}")
    host = vcc.get("host")
    if not host:
        return None
    scheme = str(vcc.get("scheme", "https"))
    if scheme not in ("http", "https"):
        raise VcpConfigError(f"{path}: vcc.scheme must be 'http' or 'https', got {scheme!r}")

    insecure = vcc.get("insecure_request_warning")
    if insecure is not None and not isinstance(insecure, bool):
        raise VcpConfigError(
            f"{path}: vcc.insecure_request_warning must be True (verify the certificate) or "
            f"False (accept any certificate), got {insecure!r}"
        )
    if insecure is True:
        _warn_verify_meaning()

    def as_int(key: str) -> int | None:
        return _int_of(path, vcc, key)

    return VccSettings(
        host=str(host),
        name=str(vcc.get("name", "")),
        scheme=scheme,
        vcc_port=as_int("vcc_port"),
        vault_port=as_int("vault_port"),
        private_ip=str(vcc.get("private_ip") or host),
        insecure_request_warning=insecure,
        wait_timeout_sec=as_int("wait_timeout_sec"),
    )


def _int_of(path: Path, vcc: dict[str, Any], key: str) -> int | None:
    """``vcc.<key>`` as an integer (None when not set)."""
    value = vcc.get(key)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise VcpConfigError(f"{path}: vcc.{key} must be an integer, got {value!r}") from None


@cache
def _warn_verify_meaning() -> None:
    """Once per process: a config sets ``insecure_request_warning: True``, which earlier
    versions of this SDK read the other way round."""
    logger.warning(
        "vcp_config.yml: insecure_request_warning: True means the controller's certificate is "
        "verified (the value is passed to requests as verify=, as in NII's SDK; earlier versions "
        "of this SDK read it the other way round). Set insecure_request_warning: False to accept a "
        "self-signed certificate, or point REQUESTS_CA_BUNDLE at your CA's certificate."
    )


# -- flavors ---------------------------------------------------------------------------


@cache
def default_flavors() -> dict[str, dict[str, dict[str, Any]]]:
    """The flavor catalog shipped with the SDK."""
    text = resources.files("vcpsdk.flavors").joinpath("default.yml").read_text("utf-8")
    data: dict[str, dict[str, dict[str, Any]]] = yaml.safe_load(text)
    return data


def load_flavors(config_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Default catalog merged with the user's ``vcp_flavor.yml`` (user values win)."""
    merged = {p: {f: dict(v or {}) for f, v in fl.items()} for p, fl in default_flavors().items()}
    path = config_dir / FLAVOR_FILE
    if not path.is_file():
        return merged
    user = _load_yaml(path)
    for provider, flavors in user.items():
        if provider not in PROVIDER_NAMES:
            raise VcpConfigError(
                f"{path}: unknown provider {provider!r}{suggest(provider, PROVIDER_NAMES)}; "
                f"known providers: {', '.join(PROVIDER_NAMES)}"
            )
        if not isinstance(flavors, dict):
            raise VcpConfigError(f"{path}: {provider} must map flavor names to values")
        decl = get_provider(provider)
        for flavor, values in flavors.items():
            values = values or {}
            if not isinstance(values, dict):
                raise VcpConfigError(f"{path}: {provider}.{flavor} must be a mapping")
            for key, value in values.items():
                f = decl.field_for_flavor_key(key)
                if f is None:
                    allowed = [fd.flavor for fd in decl.fields]
                    raise VcpConfigError(
                        f"{path}: unknown key {provider}.{flavor}.{key}{suggest(key, allowed)}; "
                        f"allowed: {', '.join(allowed)}"
                    )
                try:
                    f.check(value, provider)
                except ValueError as e:
                    raise VcpConfigError(f"{path}: {provider}.{flavor}: {e}") from None
            merged.setdefault(provider, {}).setdefault(str(flavor), {}).update(values)
    return merged


#: set by ``vcc sandbox run`` for its command: the file holding the sandbox's token, and the
#: sandbox's occtr base URL (the token is only used for a config that points at that URL)
SANDBOX_TOKEN_FILE_ENV = "VCPSDK_SANDBOX_TOKEN_FILE"
SANDBOX_URL_ENV = "VCPSDK_SANDBOX_URL"


def sandbox_run_token(vcc: VccSettings) -> str:
    """The token of the ``vcc sandbox run`` sandbox when ``vcc`` points at it, else ``''``.

    Inside ``vcc sandbox run`` the command's ``vcp_config.yml`` names the run's controller,
    and ``$VCPSDK_SANDBOX_TOKEN_FILE`` / ``$VCPSDK_SANDBOX_URL`` say where its token is and
    which controller it belongs to; ``VcpSDK()`` without a token reads it from there.  A
    config naming another controller never gets this token.

    Args:
        vcc: the ``vcc:`` section of ``vcp_config.yml``.

    Returns:
        the token, or ``''`` outside ``vcc sandbox run`` or for another controller.

    Example:
        >>> sandbox_run_token(load_config().vcc)  # doctest: +SKIP
    """
    token_file = os.environ.get(SANDBOX_TOKEN_FILE_ENV)
    url = os.environ.get(SANDBOX_URL_ENV, "").rstrip("/")
    if not token_file or not url or vcc.base_url.rstrip("/") != url:
        return ""
    try:
        return Path(token_file).read_text(encoding="utf-8").strip()
    except OSError:
        return ""
