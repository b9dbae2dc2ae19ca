"""``vcc serve --backends FILE``: an unusable backends file is one ``vcc:`` line and exit 2,
before anything listens (no traceback for the operator to read through)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from vcpsdk.controller.cli import main


def serve(tmp_path: Path, backends: str) -> list[str]:
    path = tmp_path / "backends.yml"
    path.write_text(backends, encoding="utf-8")
    return ["serve", "--state-dir", str(tmp_path / "state"), "--port", "0", "--backends", str(path)]


def test_an_unknown_backend_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(serve(tmp_path, "gcp:\n  region: x\n")) == 2
    err = capsys.readouterr().err
    assert err.startswith("vcc: unknown backend 'gcp'; known backends: aws, azure")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_missing_extra_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyVmomi", None)  # as if vcpsdk[vmware] were not installed
    monkeypatch.delitem(sys.modules, "vcpsdk.controller.backends.vmware.backend", raising=False)
    monkeypatch.delitem(sys.modules, "vcpsdk.controller.backends.vmware", raising=False)
    assert main(serve(tmp_path, "vmware:\n  vpn_catalog: {}\n")) == 2
    err = capsys.readouterr().err
    assert err.startswith("vcc: backend vmware") and "vcpsdk[vmware]" in err, err
    assert err.count("\n") == 1


def test_a_provider_claimed_twice_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "aws:\n  providers: [aws]\nazure:\n  providers: [aws]\n"
    assert main(serve(tmp_path, text)) == 2
    err = capsys.readouterr().err
    assert "provider aws is served by both" in err and err.count("\n") == 1
