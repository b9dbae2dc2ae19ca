"""``vcc``: run the VC Controller and manage its tokens.

vcc serve --host 127.0.0.1 --port 8080 --state-dir DIR [--boot-delay S] [--allow-unconfined-nodes]
          [--tls-self-signed | --tls-cert FILE --tls-key FILE]
          [--limits FILE] [--limit NAME=VALUE ...]
vcc token create --user NAME [--superuser] --state-dir DIR
vcc sandbox run [--data-dir DIR] [--config-dir DIR] [--boot-delay S] -- COMMAND...
vcc fake-cloud {aws,azure,oracle,sakura,vmware} --port PORT --backends-out FILE [--state-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import ssl
import sys
from pathlib import Path
from typing import Any

import yaml

from vcpsdk.controller.settings import ControllerSettings, Limits


def _settings(args: argparse.Namespace) -> ControllerSettings:
    return ControllerSettings(
        state_dir=Path(args.state_dir),
        database_url=getattr(args, "database_url", "") or "",
        name=getattr(args, "name", "vcc-sandbox"),
        boot_delay=getattr(args, "boot_delay", 0.5),
        vpn_catalog_file=Path(args.vpn_catalog) if getattr(args, "vpn_catalog", None) else None,
        backends=_backends_file(getattr(args, "backends", None)),
        ssh_port=getattr(args, "ssh_port", 22),
        fallback_ssh_port=getattr(args, "fallback_ssh_port", 2222),
        limits=_limits(getattr(args, "limits", None), getattr(args, "limit", None)),
        allow_unconfined_nodes=getattr(args, "allow_unconfined_nodes", False),
        **_tls_files(args),
    )


def _limits(path: str | None, pairs: list[str] | None) -> Limits:
    """The defaults, changed by a ``--limits`` YAML file, then by each ``--limit NAME=VALUE``."""
    values: dict[str, Any] = {}
    if path:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise SystemExit(f"vcc: {path}: the top level must map limit names to numbers")
        values.update(data)
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"vcc: --limit {pair}: use NAME=VALUE, e.g. max_body_bytes=2097152")
        values[name.strip()] = value.strip()
    try:
        return Limits().updated(values)
    except ValueError as error:
        raise SystemExit(f"vcc: {error}") from None


def _tls_files(args: argparse.Namespace) -> dict[str, Any]:
    """``tls_cert``/``tls_key`` of the settings: the operator's files, or the self-signed
    certificate kept in the state dir (created on the first start)."""
    if getattr(args, "tls_self_signed", False):
        from vcpsdk.controller.tls import self_signed

        files = self_signed(Path(args.state_dir), args.host)
        return {"tls_cert": files.cert, "tls_key": files.key}
    cert, key = getattr(args, "tls_cert", None), getattr(args, "tls_key", None)
    if not cert and not key:
        return {}
    if not (cert and key):
        raise SystemExit("vcc: --tls-cert and --tls-key go together")
    for path in (cert, key):
        if not Path(path).is_file():
            raise SystemExit(f"vcc: {path}: no such file")
    _check_tls_pair(Path(cert), Path(key))
    return {"tls_cert": Path(cert), "tls_key": Path(key)}


def _check_tls_pair(cert: Path, key: Path) -> None:
    """Refuse, before anything is served or printed, a pair the server could not load."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:  # the empty password makes an encrypted key fail here instead of prompting
        context.load_cert_chain(cert, key, password=lambda: b"")
    except (ssl.SSLError, OSError, ValueError) as error:
        raise SystemExit(
            f"vcc: --tls-cert {cert} / --tls-key {key}: not a PEM certificate with its matching, "
            f"unencrypted private key ({getattr(error, 'reason', None) or error})"
        ) from None


def _backends_file(paths: list[str] | None) -> dict[str, Any]:
    """The operator's cloud backend configuration (YAML mappings name → settings), the
    sections of every ``--backends`` file merged; a backend named in two files is refused."""
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for path in paths or []:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise SystemExit(f"vcc: {path}: the top level must map backend names to settings")
        for name, section in data.items():
            if name in merged:
                raise SystemExit(f"vcc: backend {name!r} is configured in both {origin[name]} and {path}")
            merged[name], origin[name] = section, path
    return merged


def serve(args: argparse.Namespace) -> int:
    """Run the controller in the foreground until interrupted."""
    from vcpsdk.controller.server import serve_forever

    serve_forever(_settings(args), args.host, args.port, args.port_file, args.log_level)
    return 0


def token_create(args: argparse.Namespace) -> int:
    """Print a new token on stdout (nothing else goes to stdout)."""
    from vcpsdk.controller.runtime import issue_token

    print(issue_token(_settings(args), args.user, superuser=args.superuser))
    return 0


def sandbox(args: argparse.Namespace) -> int:
    """Start, stop or show the embedded sandbox that ``VcpSDK()`` uses."""
    from vcpsdk import embedded

    if args.sandbox_command == "run":  # a private network namespace (docs/sandbox.md §8)
        from vcpsdk.controller.netns import run

        return run(args.run_args)
    if args.run_args:
        print(
            f"vcc sandbox {args.sandbox_command}: unexpected arguments {' '.join(args.run_args)}",
            file=sys.stderr,
        )
        return 2
    if args.sandbox_command == "stop":
        stopped = embedded.stop_sandbox()
        print("sandbox stopped" if stopped else "no sandbox was running", file=sys.stderr)
        return 0
    if args.sandbox_command == "start":
        info = embedded.ensure_sandbox()
        print(f"sandbox running at {info.base_url} (pid {info.pid}, state {info.data_dir})", file=sys.stderr)
        return 0
    if args.sandbox_command == "token":
        print(embedded.ensure_sandbox().token)
        return 0
    running = embedded.running_sandbox()
    if running is None:
        print(f"sandbox not running (state {embedded.data_dir()})", file=sys.stderr)
        return 3  # "not running", as service managers report it
    print(
        f"sandbox running at {embedded.sandbox_url(running['port'])} (pid {running['pid']}, "
        f"state {embedded.data_dir()})",
        file=sys.stderr,
    )
    print(f"sandbox {embedded.node_confinement()}", file=sys.stderr)
    return 0


def fake_cloud(args: argparse.Namespace) -> int:
    """Run a cloud's local stand-in until SIGTERM/SIGINT, then print its leftovers (rehearsal mode)."""
    from vcpsdk.controller.rehearsal import RehearsalError, run_fake_cloud

    state_dir = Path(args.state_dir) if args.state_dir else None
    try:
        return run_fake_cloud(args.cloud, args.port, Path(args.backends_out), state_dir)
    except RehearsalError as error:
        print(f"vcc: {error}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    """The ``vcc`` argument parser."""
    parser = argparse.ArgumentParser(prog="vcc", description="VC Controller of vcpsdk")
    sub = parser.add_subparsers(dest="command", required=True)

    def state_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--state-dir", required=True, help="directory of the controller's state")
        p.add_argument("--database-url", default="", help="SQLAlchemy URL (default: SQLite file)")

    p_serve = sub.add_parser("serve", help="run the controller in the foreground")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8080, help="0 = any free port")
    p_serve.add_argument("--port-file", default="", help="write {host, port, pid} JSON here")
    p_serve.add_argument("--name", default="vcc-sandbox", help="controller name for version()")
    p_serve.add_argument(
        "--boot-delay", type=float, default=0.5, help="seconds a sandbox node takes to boot (default 0.5)"
    )
    p_serve.add_argument("--vpn-catalog", default=None, help="YAML file replacing the catalog")
    p_serve.add_argument(
        "--backends",
        action="append",
        default=None,
        help="YAML file enabling cloud backends, e.g. aws (docs/backends.md); may be given several times",
    )
    p_serve.add_argument(
        "--ssh-port",
        type=int,
        default=22,
        help="SSH port of the sandbox nodes on their own addresses (default 22)",
    )
    p_serve.add_argument(
        "--fallback-ssh-port",
        type=int,
        default=2222,
        help="SSH port used when --ssh-port cannot be bound (default 2222)",
    )
    p_serve.add_argument(
        "--allow-unconfined-nodes",
        action="store_true",
        help="host several users' sandbox nodes even if bubblewrap cannot confine them here",
    )
    tls = p_serve.add_mutually_exclusive_group()
    tls.add_argument("--tls-cert", default=None, help="serve HTTPS with this certificate (PEM)")
    tls.add_argument(
        "--tls-self-signed",
        action="store_true",
        help="serve HTTPS with a self-signed certificate for --host, kept in the state dir",
    )
    p_serve.add_argument("--tls-key", default=None, help="the private key (PEM) of --tls-cert")
    p_serve.add_argument(
        "--limits", default=None, help="YAML file of limits {name: value} (docs/protocol.md)"
    )
    p_serve.add_argument(
        "--limit",
        action="append",
        default=None,
        metavar="NAME=VALUE",
        help="change one limit; may be repeated",
    )
    p_serve.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )
    state_options(p_serve)
    p_serve.set_defaults(func=serve)

    p_token = sub.add_parser("token", help="manage access tokens")
    token_sub = p_token.add_subparsers(dest="token_command", required=True)
    p_create = token_sub.add_parser("create", help="print a new token on stdout")
    p_create.add_argument("--user", required=True, help="user name the token belongs to")
    p_create.add_argument("--superuser", action="store_true", help="the token may use privileged mode")
    state_options(p_create)
    p_create.set_defaults(func=token_create)

    p_sandbox = sub.add_parser("sandbox", help="the embedded sandbox used by VcpSDK()")
    p_sandbox.add_argument(
        "sandbox_command",
        choices=["start", "stop", "status", "token", "run"],
        help="token prints your sandbox token on stdout; run [options] -- COMMAND runs COMMAND and a "
        "sandbox in a private network (vcc sandbox run --help)",
    )
    p_sandbox.add_argument("run_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p_sandbox.set_defaults(func=sandbox)

    p_fake = sub.add_parser(
        "fake-cloud", help="run a local stand-in of a cloud on 127.0.0.1 (rehearsal mode, docs/backends.md)"
    )
    p_fake.add_argument("cloud", help="the cloud to stand in for: aws, azure, oracle, sakura or vmware")
    p_fake.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1 (0 = any free port)")
    p_fake.add_argument(
        "--backends-out", required=True, help="write the backends file for vcc serve --backends here"
    )
    p_fake.add_argument("--state-dir", default=None, help="directory for the stand-in's files")
    p_fake.set_defaults(func=fake_cloud)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``vcc`` command (``VCPSDK_LOOPBACK_ONLY=1``: see
    :func:`vcpsdk.testing.serve.loopback_only_run`)."""
    args = build_parser().parse_args(argv)
    if os.environ.get("VCPSDK_LOOPBACK_ONLY") == "1":  # tests: nothing off 127.0.0.0/8
        from vcpsdk.testing.serve import loopback_only_run

        return loopback_only_run(lambda: run_command(args))
    return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed ``vcc`` command (its exit status; 1 for a state dir of a newer vcpsdk,
    2 for a backends file the registry refuses)."""
    from vcpsdk.controller.backends.registry import BackendConfigError
    from vcpsdk.controller.store.schema import SchemaError

    try:
        result: int = args.func(args)
    except SchemaError as e:
        print(f"vcc: {e}", file=sys.stderr)
        return 1
    except BackendConfigError as e:  # the operator's backends file: one line, no traceback
        print(f"vcc: {e}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
