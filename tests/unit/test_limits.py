"""The limits of a shared controller, piece by piece (issue 14); tests/integration/test_limits.py
checks them over HTTP."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from vcpsdk.controller.app import load_json
from vcpsdk.controller.backends.toolkit.ratelimit import RateLimiter
from vcpsdk.controller.cli import _settings as cli_settings
from vcpsdk.controller.cli import build_parser
from vcpsdk.controller.settings import NAME_COLUMN_LENGTH, Limits
from vcpsdk.core.cci import CciError, YamlLimits, check_yaml, parse_unit_cci, parse_vc_cci
from vcpsdk.core.polling import FakeClock
from vcpsdk.core.protocol import BASE_PATH, allowed_methods


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def alias_bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines)


def test_defaults_are_documented_numbers_and_names_fit_the_columns() -> None:
    limits = Limits()
    assert limits.max_body_bytes == 1024 * 1024
    assert limits.max_name_length == NAME_COLUMN_LENGTH == 255
    assert limits.requests_per_second > 0 and limits.request_burst >= limits.requests_per_second
    with pytest.raises(ValueError, match="max_name_length must be 1..255"):
        Limits(max_name_length=300)
    with pytest.raises(ValueError, match="max_body_bytes must be a number >= 0"):
        Limits(max_body_bytes=-1)


def test_updated_converts_text_and_refuses_unknown_names() -> None:
    limits = Limits().updated({"max_body_bytes": "2048", "requests_per_second": "2.5"})
    assert (limits.max_body_bytes, limits.requests_per_second) == (2048, 2.5)
    with pytest.raises(ValueError, match="unknown limit 'max_bodies'"):
        Limits().updated({"max_bodies": 1})
    with pytest.raises(ValueError, match="limit max_depth must be a number"):
        Limits().updated({"max_depth": "deep"})


def test_vcc_serve_reads_a_limits_file_then_limit_flags(tmp_path: Path) -> None:
    file = tmp_path / "limits.yml"
    file.write_text("max_nodes_per_user: 50\nmax_body_bytes: 4096\n")
    args = build_parser().parse_args(
        ["serve", "--state-dir", str(tmp_path / "s"), "--limits", str(file), "--limit", "max_body_bytes=8192"]
    )
    limits = cli_settings(args).limits
    assert (limits.max_nodes_per_user, limits.max_body_bytes) == (50, 8192)
    args = build_parser().parse_args(["serve", "--state-dir", str(tmp_path / "s"), "--limit", "nope=1"])
    with pytest.raises(SystemExit, match="unknown limit 'nope'"):
        cli_settings(args)


def test_an_alias_bomb_is_refused_before_it_is_expanded() -> None:
    check_yaml(alias_bomb(3), "info", YamlLimits())  # 1,000 scalars: allowed
    with pytest.raises(CciError, match=r"info: CCI is larger than max_yaml_bytes=262144"):
        check_yaml(alias_bomb(9), "info", YamlLimits())  # 10^9 scalars once expanded


def test_nesting_deeper_than_max_depth_is_refused() -> None:
    check_yaml("a: {b: {c: 1}}", "cci", YamlLimits(max_depth=3))
    with pytest.raises(CciError, match="cci: CCI nesting is deeper than max_depth=2"):
        check_yaml("a: {b: {c: 1}}", "cci", YamlLimits(max_depth=2))
    with pytest.raises(CciError, match="cci"):
        parse_vc_cci(b64("[" * 20000 + "]" * 20000))


@pytest.mark.parametrize("payload", ["ü" * 8, "bm90\u00a0eWFtbA==", "*"])
def test_non_ascii_or_invalid_base64_is_a_cci_error(payload: str) -> None:
    with pytest.raises(CciError, match="cci is not valid base64"):
        parse_vc_cci(payload)


def test_num_nodes_null_means_one_and_a_short_mac_list_is_refused() -> None:
    spec = parse_unit_cci(b64("- unit: {name: u, cloud_provider: aws, num_nodes: null}"))
    assert spec.count == 1
    info = json.dumps(
        [
            {
                "unit": {
                    "name": "u",
                    "cloud_provider": "vmware",
                    "num_nodes": 3,
                    "cloud_params": {"mac_address_list": ["02:00:00:00:00:01"]},
                }
            }
        ]
    )
    with pytest.raises(CciError, match=r"mac_address_list has 1 address\(es\) but num_nodes=3"):
        parse_unit_cci(b64(info))


def test_load_json_refuses_depth_and_lone_surrogates() -> None:
    assert load_json(b'{"a": [1, {"b": "c"}]}', 3) == {"a": [1, {"b": "c"}]}
    with pytest.raises(ValueError, match="max_depth=2"):
        load_json(b'{"a": [1, {"b": "c"}]}', 2)
    with pytest.raises(ValueError, match="max_depth=32"):
        load_json(b"[" * 100_000 + b"]" * 100_000, 32)
    with pytest.raises(ValueError, match="lone surrogate"):
        load_json(b'{"\\ud800": 1}', 32)
    with pytest.raises(ValueError, match="NUL"):
        load_json(b'{"owner": "a\\u0000b"}', 32)
    with pytest.raises(ValueError, match="not valid JSON"):
        load_json(b"{", 32)


def test_try_acquire_refuses_without_sleeping_or_taking() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, burst=2, clock=clock)
    assert [limiter.try_acquire() for _ in range(3)] == [0.0, 0.0, 0.5]
    assert limiter.waited == 0.0
    clock.sleep(0.5)
    assert limiter.try_acquire() == 0.0
    assert RateLimiter(0).try_acquire() == 0.0


def test_allowed_methods_come_from_the_route_table() -> None:
    assert allowed_methods(BASE_PATH + "/vcs") == ["GET", "HEAD", "POST"]  # HEAD wherever GET is
    assert allowed_methods(BASE_PATH + "/vcs/abc") == ["DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"]
    assert allowed_methods(BASE_PATH + "/vcs/a/b/c/backup") == ["GET", "HEAD"]  # not …/{operation}
    assert allowed_methods("/elsewhere") == []


@pytest.mark.parametrize("scalar", ['"a\\0b"', '"\\ud800"'])
def test_cci_text_a_database_cannot_store_is_refused(scalar: str) -> None:
    with pytest.raises(CciError, match="cci"):
        parse_vc_cci(b64(f"- vc: {{name: {scalar}}}"))
