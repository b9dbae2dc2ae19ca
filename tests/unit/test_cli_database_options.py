"""``vcc``'s database options: ``--lease-seconds`` refuses what would flap or crash (an
argparse error, exit 2), and ``--database-url`` defaults to ``$VCC_DATABASE_URL`` so the
password stays off the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from vcpsdk.controller.cli import DATABASE_URL_ENV, build_parser, main


@pytest.mark.parametrize("value", ["0", "-1", "0.1", "1.9", "nan", "inf", "abc"])
def test_lease_seconds_below_two_is_an_argparse_error(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        build_parser().parse_args(["serve", "--state-dir", "x", f"--lease-seconds={value}"])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument --lease-seconds:" in err
    assert ">= 2" in err or "not a number" in err
    assert "Traceback" not in err


def test_lease_seconds_of_two_or_more_are_taken() -> None:
    args = build_parser().parse_args(["serve", "--state-dir", "x", "--lease-seconds", "2"])
    assert args.lease_seconds == 2.0
    assert build_parser().parse_args(["serve", "--state-dir", "x"]).lease_seconds == 15.0


@pytest.mark.parametrize("command", [["serve"], ["token", "create", "--user", "u"], ["token", "list"]])
def test_database_url_comes_from_the_environment_unless_given(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    assert build_parser().parse_args([*command, "--state-dir", "x"]).database_url == ""
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://vcc:pw@db/vcc")
    assert (
        build_parser().parse_args([*command, "--state-dir", "x"]).database_url == "postgresql://vcc:pw@db/vcc"
    )
    given = build_parser().parse_args([*command, "--state-dir", "x", "--database-url", "sqlite:///y.db"])
    assert given.database_url == "sqlite:///y.db"  # the flag wins


def test_help_names_the_environment_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://vcc:s3cret-pw@db/vcc")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["token", "list", "--help"])
    out = capsys.readouterr().out
    assert DATABASE_URL_ENV in out and "s3cret-pw" not in out


def test_token_commands_use_the_database_of_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, f"sqlite:///{tmp_path / 'fleet.db'}")
    elsewhere = str(tmp_path / "no-such-state-dir")  # SQLite there would refuse a missing dir
    assert main(["token", "create", "--user", "erin", "--state-dir", elsewhere]) == 0
    capsys.readouterr()
    assert main(["token", "list", "--state-dir", elsewhere]) == 0
    assert "erin" in capsys.readouterr().out
    assert (tmp_path / "fleet.db").is_file()  # the tokens live there, not in a vcc.db
