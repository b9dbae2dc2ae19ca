"""Replicas starting at once on one state dir create its keys once: every process ends up
with the same sealing key, the same controller SSH key pair and the same self-signed TLS
pair (a certificate never meets another process's key), and nothing fails for being
second."""

from __future__ import annotations

import multiprocessing as mp
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from vcpsdk.controller.keys import KEY_FILE, controller_public_key
from vcpsdk.controller.secrets import SecretBox, create_file_once
from vcpsdk.controller.tls import fingerprint, self_signed

PROCESSES = 8
ROUNDS = 5


def _at_once(barrier: Any, queue: Any, make: Callable[[], str]) -> None:
    barrier.wait()
    try:
        queue.put(("ok", make()))
    except Exception as error:  # reported to the test
        queue.put(("error", f"{type(error).__name__}: {error}"))


def run_at_once(make: Callable[[], str]) -> list[str]:
    """``make()`` in :data:`PROCESSES` forked processes released together; their results."""
    context = mp.get_context("fork")
    barrier, queue = context.Barrier(PROCESSES), context.Queue()
    processes = [context.Process(target=_at_once, args=(barrier, queue, make)) for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    results = [queue.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    errors = [value for status, value in results if status == "error"]
    assert not errors
    return [value for _status, value in results]


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_one_sealing_key_for_replicas_starting_at_once(tmp_path: Path, round_no: int) -> None:
    sealed = run_at_once(lambda: SecretBox(tmp_path).seal_text("secret"))
    box = SecretBox(tmp_path)
    assert {box.open_text(text) for text in sealed} == {"secret"}
    assert (tmp_path / "secrets.key").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secrets.key"]  # no temporary file left


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_one_controller_key_pair_for_replicas_asking_at_once(tmp_path: Path, round_no: int) -> None:
    public_keys = run_at_once(lambda: controller_public_key(tmp_path))
    assert len(set(public_keys)) == 1
    private = serialization.load_ssh_private_key((tmp_path / KEY_FILE).read_bytes(), password=None)
    derived = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert public_keys[0].startswith(derived.decode())
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_one_self_signed_pair_for_replicas_starting_at_once(tmp_path: Path, round_no: int) -> None:
    def start() -> str:
        files = self_signed(tmp_path, "127.0.0.1")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(files.cert, files.key)  # the pair matches
        return fingerprint(files.cert)

    fingerprints = run_at_once(start)
    assert len(set(fingerprints)) == 1
    assert fingerprint(self_signed(tmp_path, "127.0.0.1").cert) == fingerprints[0]  # reused later
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tls"]  # no staging directory left


def test_a_self_signed_pair_for_another_address_replaces_the_old_one(tmp_path: Path) -> None:
    old = fingerprint(self_signed(tmp_path, "127.0.0.1").cert)
    files = self_signed(tmp_path, "127.0.0.2")
    assert fingerprint(files.cert) != old
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(files.cert, files.key)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tls"]


def test_create_file_once_keeps_the_first_content(tmp_path: Path) -> None:
    target = tmp_path / "key"
    assert create_file_once(target, b"first")
    assert not create_file_once(target, b"second")
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["key"]
