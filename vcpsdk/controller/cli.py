"""``vcc``: run the VC Controller and manage its tokens.

vcc serve --host 127.0.0.1 --port 8080 --state-dir DIR [--boot-delay S] [--allow-unconfined-nodes]
          [--tls-self-signed | --tls-cert FILE --tls-key FILE]
          [--limits FILE] [--limit NAME=VALUE ...] [--metrics {open,superuser,off}]
          [--print-limits]
vcc token create --user NAME [--superuser] --state-dir DIR
(serve and token take --database-url URL, default $VCC_DATABASE_URL, else SQLite in the state dir)
vcc token list --state-dir DIR
vcc token revoke (--user NAME | --id ID | --token TOKEN) --state-dir DIR
vcc sandbox start [--boot-delay S] | stop | status | token   (each takes --help)
vcc sandbox run [--data-dir DIR] [--config-dir DIR] [--boot-delay S] -- COMMAND...
vcc fake-cloud {aws,azure,oracle,sakura,vmware} --port PORT --backends-out FILE [--state-dir DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import ssl
import sys
from pathlib import Path
from typing import Any

import yaml

from vcpsdk.controller.settings import DEFAULT_LEASE_SECONDS, MIN_LEASE_SECONDS, ControllerSettings, Limits

#: the environment variable ``--database-url`` defaults to (keeps the password out of ``ps``)
DATABASE_URL_ENV = "VCC_DATABASE_URL"


def lease_seconds(text: str) -> float:
    """The ``--lease-seconds`` argparse type: a number of seconds, at least
    :data:`MIN_LEASE_SECONDS`.

    Raises:
        argparse.ArgumentTypeError: not a number, or below the minimum (argparse prints
            ``error: argument --lease-seconds: ...`` and exits 2).

    Example:
        >>> lease_seconds("15")
        15.0
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= MIN_LEASE_SECONDS or value == float("inf"):  # also refuses nan
        raise argparse.ArgumentTypeError(
            f"{text} is out of range: give a number of seconds >= {MIN_LEASE_SECONDS:g}"
        )
    return value


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
        metrics=getattr(args, "metrics", "open"),
        lease_seconds=getattr(args, "lease_seconds", DEFAULT_LEASE_SECONDS),
        sandbox_host=getattr(args, "sandbox_host", True),
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
    """Run the controller in the foreground until interrupted (``--print-limits``: print the
    effective limits as a ``--limits`` YAML file and exit)."""
    from vcpsdk.controller.server import serve_forever

    settings = _settings(args)
    if args.print_limits:
        print(yaml.safe_dump(dataclasses.asdict(settings.limits), sort_keys=False), end="")
        return 0
    notes = [confinement_line(settings), f"limits {settings.limits.summary()}"]
    serve_forever(settings, args.host, args.port, args.port_file, args.log_level, notes)
    return 0


def confinement_line(settings: ControllerSettings) -> str:
    """One line saying whether sandbox node sessions are confined on this host, and if not,
    what the controller does about it (docs/sandbox.md §4)."""
    from vcpsdk.controller.backends.sandbox.confine import OPT_OUT_FLAG, Confinement

    confinement = Confinement(settings.sandbox_bwrap)
    if confinement.probe():
        return f"sandbox nodes are confined (bubblewrap {confinement.bwrap})"
    policy = (
        f"nodes of several users are allowed ({OPT_OUT_FLAG})"
        if settings.allow_unconfined_nodes
        else f"only one user's nodes are hosted at a time ({OPT_OUT_FLAG} allows several)"
    )
    return f"sandbox nodes are NOT confined: {confinement.reason}; {policy}"


def _token_settings(args: argparse.Namespace) -> ControllerSettings:
    """The settings of a ``vcc token`` command: with the default database (SQLite in the
    state dir) the state dir must exist (a mistyped ``--state-dir`` must not silently start
    a new, empty controller state); with ``--database-url`` the tokens live in that database."""
    if not getattr(args, "database_url", "") and not Path(args.state_dir).expanduser().is_dir():
        raise SystemExit(
            f"vcc: --state-dir {args.state_dir} does not exist; give the --state-dir of vcc serve "
            "(it is created when the controller first starts)"
        )
    return _settings(args)


def token_create(args: argparse.Namespace) -> int:
    """Print a new token on stdout (nothing else goes to stdout)."""
    from vcpsdk.controller.runtime import issue_token

    if not args.user.strip():
        print("vcc: --user must name a user (it is empty)", file=sys.stderr)
        return 2
    print(issue_token(_token_settings(args), args.user, superuser=args.superuser))
    return 0


def token_list(args: argparse.Namespace) -> int:
    """Print the tokens (id, user, superuser, created) of a state dir, one a line."""
    from vcpsdk.controller.runtime import list_tokens

    rows = list_tokens(_token_settings(args))
    print(f"{'ID':<14}{'USER':<20}{'SUPERUSER':<11}CREATED (UTC)")
    for row in rows:
        print(f"{row.id:<14}{row.user:<20}{'yes' if row.superuser else 'no':<11}{row.created}")
    return 0


def token_revoke(args: argparse.Namespace) -> int:
    """Revoke tokens by user, id or token; a running controller refuses them within
    ``TOKEN_CACHE_SECONDS``."""
    from vcpsdk.controller.auth import TOKEN_CACHE_SECONDS
    from vcpsdk.controller.runtime import revoke_tokens

    settings = _token_settings(args)
    try:
        count = revoke_tokens(settings, user=args.user, token_id=args.id, token=args.token)
    except ValueError as error:
        print(f"vcc: {error}", file=sys.stderr)
        return 2
    print(
        f"vcc: revoked {count} token(s); running controllers refuse them within "
        f"{TOKEN_CACHE_SECONDS:g} s (the time they remember a token)",
        file=sys.stderr,
    )
    return 0 if count else 1


def sandbox(args: argparse.Namespace) -> int:
    """Start, stop or show the embedded sandbox that ``VcpSDK()`` uses."""
    from vcpsdk import embedded

    if args.sandbox_command == "run":  # a private network namespace (docs/sandbox.md §8)
        from vcpsdk.controller.netns import run

        return run(args.run_args)
    options = _sandbox_options(args.sandbox_command, args.run_args)  # --help; else exit 2 on extras
    if options.boot_delay is not None:
        os.environ["VCPSDK_SANDBOX_BOOT_DELAY"] = str(options.boot_delay)  # the started server's
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
    status = embedded.sandbox_status()  # running/stopped, PID, URL, SSH port, UnitGroups, nodes
    print("\n".join(status.lines()))  # the report itself: stdout (| grep running)
    return 0 if status.running else 3  # 3: "not running", as service managers report it


#: what each of ``vcc sandbox start|stop|status|token`` does (its --help)
SANDBOX_COMMANDS = {
    "start": "start the local sandbox (if it does not run yet) and say where it runs",
    "stop": "stop the local sandbox (its UnitGroups are kept for the next start)",
    "status": "running or stopped, PID, URL, SSH port, UnitGroups and nodes, boot delay "
    "(exit status 3 when stopped)",
    "token": "print your sandbox token on stdout",
}


def _sandbox_options(command: str, argv: list[str]) -> argparse.Namespace:
    """The options of ``vcc sandbox start|stop|status|token`` (``--help`` exits 0, unknown
    arguments exit 2, as argparse does)."""
    parser = argparse.ArgumentParser(prog=f"vcc sandbox {command}", description=SANDBOX_COMMANDS[command])
    if command == "start":
        parser.add_argument(
            "--boot-delay",
            type=float,
            default=None,
            help="seconds a sandbox node takes to boot (default 0.5, or $VCPSDK_SANDBOX_BOOT_DELAY); "
            "applies when this command starts the sandbox",
        )
    parser.set_defaults(boot_delay=None)
    return parser.parse_args(argv)


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
        p.add_argument(
            "--database-url",
            default=os.environ.get(DATABASE_URL_ENV, ""),
            help=f"SQLAlchemy URL, e.g. postgresql://vcc:PASSWORD@HOST/vcc (default: ${DATABASE_URL_ENV}, "
            "else a SQLite file in the state dir); prefer the variable, which ps does not show",
        )

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
        "--metrics",
        default="open",
        choices=["open", "superuser", "off"],
        help="who may read /metrics (default open)",
    )
    p_serve.add_argument(
        "--lease-seconds",
        type=lease_seconds,
        default=DEFAULT_LEASE_SECONDS,
        help="replicas on one database: a replica silent this long is taken over (default %(default)s)",
    )
    p_serve.add_argument(
        "--sandbox-host",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="may hold the sandbox lease and run sandbox node endpoints (default yes)",
    )
    p_serve.add_argument(
        "--print-limits",
        action="store_true",
        help="print the effective limits (defaults, --limits, --limit) as YAML and exit",
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
    p_list = token_sub.add_parser("list", help="list the tokens: id, user, superuser, created")
    state_options(p_list)
    p_list.set_defaults(func=token_list)
    p_revoke = token_sub.add_parser("revoke", help="revoke tokens (and their cubbyhole secrets) at once")
    which = p_revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--user", default=None, help="every token of this user")
    which.add_argument("--id", default=None, help="the token whose id (vcc token list) starts with this")
    which.add_argument("--token", default=None, help="this token")
    state_options(p_revoke)
    p_revoke.set_defaults(func=token_revoke)

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
    one another controller serves or with another key than the other replicas', or a
    database that cannot be opened; 2 for a backends file the registry refuses)."""
    from sqlalchemy.exc import OperationalError

    from vcpsdk.controller.backends.registry import BackendConfigError
    from vcpsdk.controller.replica import ReplicaConflict
    from vcpsdk.controller.secrets import KeyMismatch
    from vcpsdk.controller.store.schema import SchemaError

    try:
        result: int = args.func(args)
    except (SchemaError, ReplicaConflict, KeyMismatch) as e:
        print(f"vcc: {e}", file=sys.stderr)
        return 1
    except OperationalError as e:  # wrong password, server down, no such database: one line
        print(f"vcc: {database_problem(getattr(args, 'database_url', ''), e)}", file=sys.stderr)
        return 1
    except BackendConfigError as e:  # the operator's backends file: one line, no traceback
        print(f"vcc: {e}", file=sys.stderr)
        return 2
    return result


def database_problem(url: str, error: Exception) -> str:
    """``cannot open the database <url>: <the driver's message>``, the password hidden.

    Example:
        >>> database_problem("postgresql://vcc:s3cret@db/vcc", OSError("x\\nFATAL: no"))
        'cannot open the database postgresql://vcc:***@db/vcc: x FATAL: no'
    """
    from sqlalchemy.engine import make_url

    from vcpsdk.controller.store.database import driver_message

    shown = make_url(url).render_as_string(hide_password=True) if url else "(SQLite in the state dir)"
    return f"cannot open the database {shown}: {driver_message(error)}"


if __name__ == "__main__":
    sys.exit(main())
