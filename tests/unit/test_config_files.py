"""vcp_config.yml / vcp_flavor.yml: location, checks and merge."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from vcpsdk.config import load_config, load_flavors, resolve_config_dir
from vcpsdk.errors import VcpConfigError
from vcpsdk.vcpsdk import VcpSDK


def test_config_dir_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("VCPSDK_CONFIG_DIR", raising=False)
    assert resolve_config_dir("") == tmp_path / "vcp_config"
    monkeypatch.setenv("VCPSDK_CONFIG_DIR", str(tmp_path / "env"))
    assert resolve_config_dir("") == tmp_path / "env"
    assert resolve_config_dir(str(tmp_path / "arg")) == tmp_path / "arg"


def test_wait_timeout_without_a_host_is_the_sandboxs(tmp_path: Path) -> None:
    """Trial 15, finding 7: ``vcc: {wait_timeout_sec: 3}`` alone is not ignored."""
    (tmp_path / "vcp_config.yml").write_text("vcc:\n  wait_timeout_sec: 3\n")
    config = load_config(tmp_path)
    assert config.vcc is None  # still the local sandbox
    assert config.wait_timeout_sec == 3
    (tmp_path / "vcp_config.yml").write_text("vcc:\n  wait_timeout_sec: soon\n")
    with pytest.raises(VcpConfigError, match="wait_timeout_sec must be an integer"):
        load_config(tmp_path)


def test_vcc_section_and_https_default(tmp_path: Path) -> None:
    (tmp_path / "vcp_config.yml").write_text("vcc:\n  host: 127.0.0.1\n  vcc_port: 8443\n")
    config = load_config(tmp_path)
    assert config.vcc is not None
    assert config.vcc.base_url == "https://127.0.0.1:8443/vcp/v1/occtr"
    assert config.vcc.effective_wait_timeout == 1000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("vcc:\n  host: h\n  sheme: http\n", "unknown key vcc.sheme (did you mean 'scheme'?)"),
        ("vcc:\n  host: h\n  scheme: ftp\n", "vcc.scheme must be 'http' or 'https'"),
        ("vcc:\n  host: h\n  vcc_port: abc\n", "vcc.vcc_port must be an integer"),
        ("spec_options:\n  dnss: [1]\n", "unknown key spec_options.dnss"),
        ("vcc: [1\n", "not valid YAML"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "vcp_config.yml").write_text(text)
    with pytest.raises(VcpConfigError, match=re.escape(message)):
        load_config(tmp_path)


def test_user_flavors_override_and_extend_the_catalog(tmp_path: Path) -> None:
    (tmp_path / "vcp_flavor.yml").write_text(
        "aws:\n  small: {volume_size: 16}\n  huge: {instance_type: m5.24xlarge, volume_size: 500}\n"
    )
    flavors = load_flavors(tmp_path)["aws"]
    assert flavors["small"] == {"instance_type": "m4.large", "volume_type": "gp2", "volume_size": 16}
    assert flavors["huge"]["instance_type"] == "m5.24xlarge"
    assert "medium" in flavors


def test_df_flavors_on_the_class_uses_the_default_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VCPSDK_CONFIG_DIR", str(tmp_path))
    (tmp_path / "vcp_flavor.yml").write_text("aws:\n  tiny: {instance_type: t3.nano}\n")
    frame = VcpSDK.df_flavors("aws")
    assert list(frame.columns) == ["flavor", "instance_type", "volume_type", "volume_size"]
    assert list(frame["flavor"]) == ["small", "medium", "large", "gpu", "tiny"]
    spec = VcpSDK.get_spec("aws", "tiny")
    assert spec.instance_type == "t3.nano"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("amazon:\n  small: {}\n", "unknown provider 'amazon'"),
        ("aws:\n  small: {instance: m4}\n", "unknown key aws.small.instance"),
        ("aws:\n  small: {volume_type: fast}\n", "aws.volume_type must be one of"),
    ],
)
def test_flavor_file_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "vcp_flavor.yml").write_text(text)
    with pytest.raises(VcpConfigError, match=message):
        load_flavors(tmp_path)


@pytest.mark.parametrize(("line", "verify"), [("", True), ("  insecure_request_warning: True\n", True)])
def test_insecure_request_warning_is_verify_as_in_the_original(
    tmp_path: Path, line: str, verify: bool
) -> None:
    (tmp_path / "vcp_config.yml").write_text(f"vcc:\n  host: 127.0.0.1\n{line}")
    config = load_config(tmp_path)
    assert config.vcc is not None
    assert config.vcc.verify is verify


def test_insecure_request_warning_false_accepts_any_certificate(tmp_path: Path) -> None:
    (tmp_path / "vcp_config.yml").write_text("vcc:\n  host: 127.0.0.1\n  insecure_request_warning: False\n")
    config = load_config(tmp_path)
    assert config.vcc is not None
    assert config.vcc.verify is False
    assert config.vcc.scheme == "https"


def test_insecure_request_warning_true_warns_once_about_the_meaning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from vcpsdk import config as config_module

    config_module._warn_verify_meaning.cache_clear()
    (tmp_path / "vcp_config.yml").write_text("vcc:\n  host: 127.0.0.1\n  insecure_request_warning: True\n")
    caplog.set_level(logging.WARNING, logger="vcp.sdk")
    load_config(tmp_path)
    load_config(tmp_path)
    warnings = [r for r in caplog.records if r.name == "vcp.sdk" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "certificate is verified" in text
    assert "insecure_request_warning: False" in text
    assert "REQUESTS_CA_BUNDLE" in text


def test_insecure_request_warning_false_or_unset_does_not_warn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from vcpsdk import config as config_module

    config_module._warn_verify_meaning.cache_clear()
    caplog.set_level(logging.WARNING, logger="vcp.sdk")
    for line in ("", "  insecure_request_warning: False\n"):
        (tmp_path / "vcp_config.yml").write_text(f"vcc:\n  host: 127.0.0.1\n{line}")
        load_config(tmp_path)
    assert not [r for r in caplog.records if r.name == "vcp.sdk"]


def test_insecure_request_warning_must_be_a_boolean(tmp_path: Path) -> None:
    (tmp_path / "vcp_config.yml").write_text("vcc:\n  host: 127.0.0.1\n  insecure_request_warning: 'no'\n")
    with pytest.raises(VcpConfigError, match="insecure_request_warning must be True"):
        load_config(tmp_path)
