"""``VcNode``: a node (or a disk of a storage unit) as returned by ``find_nodes``.

The node operations (``suspend``, ``power_off``, ...) and the docker helpers (``docker_ps``,
``docker_exec``, ...) are generated from the two tables in the class body, one row a method:
each row yields a plain function with the documented signature (``inspect.signature``,
``help()``) and a docstring composed from the row.

The docstrings' examples run in a sandbox notebook after the tutorial's first cells, as
those of :mod:`vcpsdk.vcpsdk` (whose module docstring lists the names they use).
"""

# mypy: disable-error-code="empty-body"
# (the generated methods' stubs have ``...`` bodies: their decorators replace them)

from __future__ import annotations

import inspect
import json
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Generic, ParamSpec, Protocol, TypedDict, TypeVar, Unpack

from vcpsdk import remote
from vcpsdk._generate import Arguments, docstring, implement, keywords
from vcpsdk.core import protocol as routes
from vcpsdk.errors import VcpInvalidArgumentError, VcpRemoteCommandError, VcpSDKError, raise_error

if TYPE_CHECKING:
    import pandas as pd

DOCKER = "/usr/local/bin/docker"
#: docker management commands whose sub-command comes second (``docker image ls``)
DOCKER_GROUPS = frozenset({"image", "network", "volume", "container"})

R = TypeVar("R")
P = ParamSpec("P")


class UnitGroupRecord(Protocol):
    """What a node reads of its UnitGroup record (``vcpsdk.records.Vc``)."""

    vcid: str
    vcc_id: str
    client: Any
    read_privileged: bool


class UnitRecord(Protocol):
    """What a node reads of its unit record (``vcpsdk.records.VcUnit``)."""

    name: str
    type: str
    error_message: str

    @property
    def vc(self) -> UnitGroupRecord: ...


def _operation(self: Any, privileged: bool = False) -> bool:
    """The typed signature of every node operation (``suspend``, ...)."""
    ...


def _node_operation(
    name: str,
    summary: str,
    *,
    route: routes.Route = routes.NODE_OPERATION,
    compute_only: bool = True,
    refused: str = "a node in the wrong state or a busy unit",
    details: str = (
        "Sends one request and returns True without waiting; call ``unit.wait_nodes_applied()`` "
        "to wait and :meth:`config` to refresh this object."
    ),
) -> Callable[[Callable[P, bool]], Callable[P, bool]]:
    """One row of the node operation table: the method ``name`` (applied to :func:`_operation`,
    its typed signature) sends ``route`` for this node.

    Args:
        name: method name, also the ``{operation}`` of :data:`~vcpsdk.core.protocol.NODE_OPERATION`.
        summary: first line of the docstring.
        route: the route (default NODE_OPERATION; NODE_DELETE, NODE_BACKUP).
        compute_only: refuse a disk with ``<name> only compute node`` (default True).
        refused: the example refusal in the docstring.
        details: second paragraph of the docstring.

    Returns:
        the decorator of the typed stub (:func:`_operation`).
    """
    return lambda stub: _operation_method(stub, name, summary, route, compute_only, refused, details)


#: the example lines of an operation's docstring that bring the node into a state it allows
_EXAMPLE_BEFORE = {
    "resume": ">>> node.suspend()\nTrue\n>>> unit.wait_nodes_applied()\n",
    "stop": ">>> node.suspend()\nTrue\n>>> unit.wait_nodes_applied()\n",
    "start": ">>> node.suspend()\nTrue\n>>> unit.wait_nodes_applied()\n>>> node.stop()\nTrue\n"
    ">>> unit.wait_nodes_applied()\n",
    "power_on": ">>> node.power_off()\nTrue\n>>> unit.wait_nodes_applied()\n",
}


def _operation_method(
    stub: Callable[P, bool],
    name: str,
    summary: str,
    route: routes.Route,
    compute_only: bool,
    refused: str,
    details: str,
) -> Callable[P, bool]:
    operation = name if route is routes.NODE_OPERATION else None
    errmsg = route.message(operation=name)
    disk = f"; ``{name} only compute node`` for a disk" if compute_only else ""
    doc = docstring(
        summary,
        details,
        [
            (
                "privileged",
                "send the request in privileged mode, needed for another user's node (superuser "
                "tokens only; default False, also for nodes read in privileged mode).",
            )
        ],
        "bool: True once the controller accepted the request.",
        [
            (
                "VcpSDKError",
                f"``{errmsg}`` when the controller refuses (subclass by HTTP status, e.g. "
                f"VcpConflictError for {refused}; the status is kept in "
                f"``last_error_http_status``){disk}.",
            )
        ],
        f"{_EXAMPLE_BEFORE.get(name, '')}>>> node.{name}()\nTrue",
    )

    def body(node: VcNode, a: Arguments) -> bool:
        only = name if compute_only else None
        return node._request(route, a["privileged"], only, operation)

    return implement(doc, body, ["privileged"], owner="VcNode", name=name)(stub)


@dataclass(frozen=True)
class _Output(Generic[R]):
    """What a docker helper returns: annotation, Returns text and conversion of the output."""

    annotation: str
    returns: str
    convert: Callable[[str, str], R]
    #: ask docker for one JSON object a line (``--format '{{json .}}'``)
    json_lines: bool = False


def _json_lines(out: str, err: str) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame([json.loads(line) for line in out.splitlines() if line.strip()])


def _first_object(out: str, err: str) -> dict[str, Any]:
    data = json.loads(out)
    result: dict[str, Any] = data[0] if isinstance(data, list) and data else data
    return result


def _stdout(out: str, err: str) -> str:
    return out


def _joined(out: str, err: str) -> str:
    return out + err


def _both(out: str, err: str) -> tuple[str, str]:
    return out, err


_TABLE: _Output[pd.DataFrame] = _Output(
    "pd.DataFrame",
    "pandas.DataFrame: one row per line of ``--format '{{{{json .}}}}'`` output, columns as docker "
    "names them ({columns}); empty when there is none.",
    _json_lines,
    json_lines=True,
)
_OBJECT: _Output[dict[str, Any]] = _Output(
    "dict[str, Any]", "dict: the first object of the JSON list ``docker {command}`` prints.", _first_object
)
_STDOUT: _Output[str] = _Output("str", "str: the command's standard output.", _stdout)
_LOGS: _Output[str] = _Output("str", "str: the container's stdout followed by its stderr.", _joined)
_BOTH: _Output[tuple[str, str]] = _Output("tuple[str, str]", "tuple[str, str]: ``(stdout, stderr)``.", _both)

#: Args text of the operands, unless a row gives its own (``"image: image to run."``)
_OPERANDS = {
    "container": "container name or id.",
    "image": "image name or id.",
    "network": "network name or id.",
    "volume": "volume name.",
}


class _Ssh(TypedDict, total=False):
    """The last parameters of every docker helper (``**ssh`` of its stub)."""

    ssh_user_name: str
    private_key_path: str | None


_SSH = keywords(_Ssh, {"ssh_user_name": "root", "private_key_path": None})
_DOCKER_RAISES = [
    (
        "VcpSDKError",
        "``docker is not available on node <address>: no Docker engine runs there (sandbox nodes "
        "have none; use a cloud node)`` (exit status 127 or no daemon), or an :meth:`ssh_exec` "
        "error (disk node, no address yet).",
    ),
    ("VcpRemoteCommandError", "the docker command failed (``exit_status``, ``stderr``)."),
]


#: the typed signatures of the docker helpers (``**ssh``: ``ssh_user_name``, ``private_key_path``)
def _listing(self: Any, options: list[str] | None = None, **ssh: Unpack[_Ssh]) -> Any: ...
def _on_container(
    self: Any, container: str, options: list[str] | None = None, **ssh: Unpack[_Ssh]
) -> Any: ...
def _on_image(self: Any, image: str, options: list[str] | None = None, **ssh: Unpack[_Ssh]) -> Any: ...
def _on_network(self: Any, network: str, options: list[str] | None = None, **ssh: Unpack[_Ssh]) -> Any: ...
def _on_volume(self: Any, volume: str, options: list[str] | None = None, **ssh: Unpack[_Ssh]) -> Any: ...
def _cp(
    self: Any,
    src: str,
    dest: str,
    options: list[str] | None = None,
    cwd: str | None = None,
    **ssh: Unpack[_Ssh],
) -> Any: ...
def _run(
    self: Any, image: str, options: list[str] | None = None, cmd: list[str] | None = None, **ssh: Unpack[_Ssh]
) -> Any: ...
def _image_tag(self: Any, src_image: str, dest_image: str, **ssh: Unpack[_Ssh]) -> Any: ...
def _exec(
    self: Any,
    container: str,
    options: list[str] | None = None,
    cmd: list[str] | None = None,
    **ssh: Unpack[_Ssh],
) -> Any: ...


def _docker_command(
    command: str,
    output: _Output[R],
    summary: str,
    example: str,
    *,
    options: str = "extra docker options",
    cmd: str = "",
    columns: str = "",
    **operands: str,
) -> Callable[[Callable[P, Any]], Callable[P, R]]:
    """One row of the docker helper table: decorates the typed stub ``def docker_<command>(self,
    ...)``, a method that runs ``docker <command>`` over SSH (``docker_image_ls``: ``image ls``).

    The stub's parameters are the operands (required), then ``options`` (unless the command takes none),
    ``cmd`` (when the row documents it), ``cwd`` (``cd <cwd>`` first, when the stub has it),
    ``ssh_user_name`` and ``private_key_path``.

    Args:
        output: what the method returns (_TABLE, _OBJECT, _STDOUT, _LOGS or _BOTH).
        summary: first line of the docstring, before `` (``docker <command>``).``.
        example: the docstring's example call.
        options: Args text of ``options``.
        cmd: Args text of a ``cmd`` parameter (empty: none).
        columns: the table's columns for the Returns text (_TABLE only).
        operands: Args text of the operands not in _OPERANDS (or worded otherwise), by name.

    Returns:
        the decorator.
    """
    return lambda stub: _docker_method(
        stub, command, output, summary, example, operands, options, cmd, columns
    )


def _docker_method(
    stub: Callable[P, Any],
    command: str,
    output: _Output[R],
    summary: str,
    example: str,
    operands: dict[str, str],
    options_doc: str,
    cmd: str,
    columns: str,
) -> Callable[P, R]:
    stub_parameters = inspect.signature(stub).parameters
    options, cwd = "options" in stub_parameters, "cwd" in stub_parameters
    required = [
        n for n, p in stub_parameters.items() if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    operand_docs = [(n, operands.get(n) or _OPERANDS[n]) for n in required[1:]]
    args = [*operand_docs]
    if options:
        args.append(("options", f"{options_doc} (default None)."))
    if cmd:
        args.append(("cmd", cmd))
    if cwd:
        args.append(("cwd", "directory on the node for relative paths (default None)."))
    args += [
        ("ssh_user_name", "login user on the node (default ``'root'``)."),
        ("private_key_path", "private key for the node (default None: your SSH agent or default keys)."),
    ]
    shown = "".join(
        [
            " [options]" if options else "",
            *(f" <{n}>" for n, _ in operand_docs),
            " [cmd...]" if cmd else "",
            " --format '{{json .}}'" if output.json_lines else "",
        ]
    )
    after_cd = ", after ``cd <cwd>`` when ``cwd`` is given" if cwd else ""
    doc = docstring(
        f"{summary} (``docker {command}``).",
        f"Runs ``docker {command}{shown}`` on the node over SSH{after_cd}.",
        args,
        output.returns.format(columns=columns, command=command),
        _DOCKER_RAISES,
        f"Not run by the tests: sandbox nodes have no Docker engine.\n\n>>> {example}  # doctest: +SKIP",
    )
    words = command.split()
    suffix = ["--format", "{{json .}}"] if output.json_lines else []

    def body(node: VcNode, a: Arguments) -> R:
        argv = [*words, *(a[n] for n, _ in operand_docs), *(a.get("cmd") or []), *suffix]
        out, err = node._docker(
            argv, a.get("options"), a["ssh_user_name"], a["private_key_path"], a.get("cwd")
        )
        return output.convert(out, err)

    name = "docker_" + command.replace(" ", "_")
    needs = [name for name, _ in args]

    def signature(stub_signature: inspect.Signature) -> inspect.Signature:
        return _SSH(stub_signature).replace(return_annotation=output.annotation)

    method = implement(doc, body, needs, owner="VcNode", name=name, signature=signature)(stub)
    return method


class VcNode:
    """One node of a unit: a VM running the Base container, or a disk of a storage unit.

    Obtain nodes from ``find_nodes`` (or ``add_nodes``, ``delete_nodes``, ...).  A node is
    a snapshot: its attributes keep the values read then, and :meth:`config` re-reads
    them.  Operations (:meth:`suspend`, :meth:`power_off`, ...) send one request and
    return True without waiting; the controller refuses another operation on the unit
    until it settles, so follow each with ``unit.wait_nodes_applied()``.  A node read in
    privileged mode keeps refreshing in privileged mode, but operations need
    ``privileged=True`` each time.  The SSH and docker helpers use the local OpenSSH
    client (key authentication only).

    Attributes (compute): ``no``, ``id``, ``state``, ``cloud_instance_address``,
    ``cloud_instance_id``, ``volumes`` (``[{'volume_id', 'device_name'}]``),
    ``boot_date``, ``container_date``, ``watch_mode``, ``name``, ``error_message``,
    ``ssh_user_name`` (default ``root``), ``ssh_port`` (default 22).
    Attributes (storage): ``no``, ``id``, ``state``, ``cloud_disk_id``,
    ``cloud_disk_size``, ``used_state`` (``in-use``/``un-use``), ``cdate``.
    Both: ``type`` (``compute``/``storage``), ``unit`` and ``vc`` (the unit and UnitGroup
    records), ``node_json`` (the controller's data) and ``last_error_http_status`` (HTTP
    status of the last refused operation, else None).

    Args:
        unit: the unit record (``vcpsdk.records.VcUnit``) the node belongs to.
        node_json: the node (or disk) as the controller returned it.

    Example:
        >>> node = unit.find_nodes()[0]
        >>> print(node)
        [VcNode]
        ...
        >>> node.cloud_instance_address
        '127.30.2.10'
    """

    def __init__(self, unit: UnitRecord, node_json: dict[str, Any]) -> None:
        self.unit = unit
        self.vc: UnitGroupRecord = unit.vc
        self._load(node_json)

    def _load(self, node_json: dict[str, Any]) -> None:
        self.node_json = node_json
        self.type: str = self.unit.type
        self.state: str = node_json.get("state", "")
        self.name: str = node_json.get("name", "")
        self.error_message: str = node_json.get("error_message") or ""
        self.last_error_http_status: int | None = None
        self.ssh_user_name: str = node_json.get("ssh_user_name") or "root"
        self.ssh_port: int = int(node_json.get("ssh_port") or 22)
        if self.type == "storage":
            self.no: Any = node_json.get("disk_no")
            self.id: str = node_json.get("disk_id", "")
            self.cdate: str = node_json.get("cdate", "")
            self.used_state = "in-use" if node_json.get("in_use") else "un-use"
            self.cloud_disk_id: str = node_json.get("cloud_disk_id", "")
            self.cloud_disk_size = node_json.get("cloud_disk_size")
            self.cloud_instance_address = ""
            self.cloud_instance_id = ""
            self.volumes: list[dict[str, str]] = []
        else:
            self.no = node_json.get("node_no")
            self.id = node_json.get("node_id", "")
            self.cloud_instance_address = node_json.get("cloud_instance_address", "")
            self.cloud_instance_id = node_json.get("cloud_instance_id", "")
            self.volumes = list(node_json.get("volumes") or [])
            self.boot_date: str = node_json.get("boot_date", "")
            self.container_date: str = node_json.get("container_date", "")
            self.watch_mode = bool(node_json.get("watch_mode", True))

    def __str__(self) -> str:
        if self.type == "storage":
            text = (
                f"[VcNode]\n+ type[storage] no({self.no}) state[{self.state}] id[{self.id}] "
                f"cdate[{self.cdate}] used_state[{self.used_state}] "
                f"cloud_disk_id[{self.cloud_disk_id}] cloud_disk_size[{self.cloud_disk_size}]"
            )
        else:
            text = (
                f"[VcNode]\n+ type[compute] no({self.no}) state[{self.state}] id[{self.id}] "
                f"cloud_instance_address[{self.cloud_instance_address}] "
                f"cloud_instance_id[{self.cloud_instance_id}] boot_date[{self.boot_date}] "
                f"container_date[{self.container_date}] watch_mode[{self.watch_mode}]"
            )
            for volume in self.volumes:
                text += (
                    f"\n\tvolume_id[{volume.get('volume_id', '')}] "
                    f"device_name[{volume.get('device_name', '')}]"
                )
        if self.error_message:
            text += f"\n*** HAS ERROR:\n---\n{self.error_message}\n---"
        return text

    def __repr__(self) -> str:
        where = self.cloud_disk_id if self.type == "storage" else self.cloud_instance_address
        return f"<VcNode {self.type} unit={self.unit.name} no={self.no} state={self.state} at={where}>"

    def _repr_html_(self) -> str:  # notebook view of the node as last read (no request)
        from vcpsdk._html import node_html

        return node_html(self)

    # -- node operations (through the controller) ------------------------------------------

    @property
    def occtr(self) -> Any:
        """The controller client (``OcctrClient``) this node was read with, used by its
        operations; None for a node not attached to a controller (operations then raise
        VcpSDKError ``<message>: this node is not attached to a controller``).

        Example:
            >>> node.occtr.base_url
            'http://127.0.0.1:.../vcp/v1/occtr'
        """
        return self.vc.client

    def _where(self) -> dict[str, Any]:
        return {"vcid": self.vc.vcid, "unit_name": self.unit.name, "node_id": self.id}

    def _request(
        self,
        route: routes.Route,
        privileged: bool,
        compute_only: str | None = None,
        operation: str | None = None,
    ) -> bool:
        if compute_only and self.type != "compute":
            raise_error(VcpSDKError, f"{compute_only} only compute node")
        where = self._where() if operation is None else {**self._where(), "operation": operation}
        if self.occtr is None:
            raise_error(VcpSDKError, f"{route.message(**where)}: this node is not attached to a controller")
        try:
            self.occtr.call(route, privileged=privileged, **where)
        except VcpSDKError as e:
            self.last_error_http_status = e.http_status
            raise
        return True

    def config(self, privileged: bool = False) -> bool:
        """Re-read this node from the controller and update its attributes (one request).

        Args:
            privileged: read in privileged mode (superuser tokens only; default False); a
                node read in privileged mode reads that way anyway.

        Returns:
            bool: True; False when the node is gone (``state`` is then ``'DELETED'``).

        Raises:
            VcpSDKError: ``config node failed`` when the request fails (subclass by HTTP
                status) or the node is not attached to a controller.

        Example:
            >>> node.suspend()
            True
            >>> unit.wait_nodes_applied()
            >>> node.config()
            True
            >>> node.state
            'SUSPENDED'
        """
        if self.occtr is None:
            raise_error(VcpSDKError, "config node failed: this node is not attached to a controller")
        body = self.occtr.call(
            routes.NODE_GET,
            privileged=privileged or self.vc.read_privileged,
            allow_404=True,
            **self._where(),
        )
        if body is None:
            self.state = "DELETED"
            return False
        self._load(body)
        return True

    # one row a node operation: name, first docstring line, how it differs from the rest
    delete = _node_operation(
        "delete",
        "Delete this node (or disk); the unit shrinks (→ DELETING, then gone).",
        route=routes.NODE_DELETE,
        compute_only=False,
        refused="a busy unit or a disk still attached to a node",
    )(_operation)
    suspend = _node_operation(
        "suspend", "Stop the Base container and keep the host (RUNNING → SUSPENDING → SUSPENDED)."
    )(_operation)
    resume = _node_operation(
        "resume", "Start the Base container again (SUSPENDED or CONTAINER_ERROR → RESUMING → RUNNING)."
    )(_operation)
    stop = _node_operation(
        "stop",
        "Release the host: delete the cloud instance (SUSPENDED, CONTAINER_ERROR or HOST_ERROR → "
        "STOPPING → STOPPED); :meth:`start` re-creates it at the same address.",
    )(_operation)
    start = _node_operation(
        "start", "Re-create a stopped node's host at the same address (STOPPED → BOOTING → RUNNING)."
    )(_operation)
    power_off = _node_operation(
        "power_off",
        "Power the host off (RUNNING, CONTAINER_ERROR, SUSPENDED or HOST_ERROR → SHUTTING_DOWN → "
        "POWER_OFF); providers with the Power API only.",
    )(_operation)
    power_on = _node_operation("power_on", "Power the host on again (POWER_OFF → BOOTING → RUNNING).")(
        _operation
    )
    watch = _node_operation(
        "watch", "Enable the controller's liveness monitoring of this node (``watch_mode`` True)."
    )(_operation)
    unwatch = _node_operation(
        "unwatch", "Disable the controller's liveness monitoring of this node (``watch_mode`` False)."
    )(_operation)
    backup = _node_operation(
        "backup",
        "Ask the controller to back up the node's Base container image.",
        route=routes.NODE_BACKUP,
        refused="a node that is not RUNNING",
        details=(
            "Sends one request and returns True once the controller accepted it; the backup itself "
            "runs on the controller."
        ),
    )(_operation)

    def error(self) -> str:
        """The node's error message, else its unit's (no request).

        Returns:
            str: the message, ``''`` when neither has one.

        Example:
            >>> if node.state.endswith('ERROR'):
            ...     print(node.error())
        """
        return self.error_message or self.unit.error_message

    # -- remote helpers (local OpenSSH client) ---------------------------------------------

    def _target(self, op: str, ssh_user_name: str | None) -> str:
        if self.type != "compute":
            raise_error(VcpSDKError, f"{op} only compute node")
        if not self.cloud_instance_address:
            raise_error(VcpSDKError, f"{op}: node {self.no} has no address yet (state {self.state})")
        return f"{ssh_user_name or self.ssh_user_name}@{self.cloud_instance_address}"

    def ssh_exec(
        self,
        cmd: str | list[str],
        cwd: str | None = None,
        private_key_path: str | None = None,
        stdin_fd: IO[Any] | int | None = None,
        output_decode: bool = True,
        ssh_user_name: str | None = None,
    ) -> tuple[Any, Any]:
        """Run ``cmd`` on the node over SSH (local ``ssh`` command) and return its output.

        Args:
            cmd: a shell command line, or an argument list (quoted for you).
            cwd: directory to run in: ``cd <cwd> && <cmd>`` (default None).
            private_key_path: private key for the node (default None: your SSH agent or
                default keys).
            stdin_fd: a file object or descriptor fed to the command's stdin (default None:
                empty input).
            output_decode: return ``str`` (default True) or ``bytes``.
            ssh_user_name: login user (default None: the node's ``ssh_user_name``,
                ``root``).

        Returns:
            tuple: ``(stdout, stderr)``, ``str`` or ``bytes`` as ``output_decode`` says.

        Raises:
            VcpSDKError: ``ssh_exec only compute node`` for a disk, ``ssh_exec: node <no> has
                no address yet (state <state>)``, or the ``ssh`` command is not installed.
            VcpRemoteCommandError: ``ssh_exec on <address> failed: exit status <n>`` for a
                non-zero exit status (``exit_status``, ``stdout`` and ``stderr`` attributes;
                255 means SSH itself failed).

        Example:
            >>> out, err = node.ssh_exec('uname -a', private_key_path='~/.ssh/id_rsa')
            >>> out, _ = node.ssh_exec(['ls', '-l'], cwd='/tmp')
        """
        target = self._target("ssh_exec", ssh_user_name)
        argv = [
            "ssh",
            *remote.ssh_options(self.ssh_port, private_key_path),
            target,
            remote.remote_command(cmd, cwd),
        ]
        return remote.run(
            argv, f"ssh_exec on {self.cloud_instance_address}", stdin=stdin_fd, decode=output_decode
        )

    def scp(
        self, src: str, dst: str, private_key_path: str | None = None, ssh_user_name: str | None = None
    ) -> None:
        """Copy local file ``src`` to ``dst`` on the node (local ``scp`` command).

        Args:
            src: local file path (``~`` is expanded).
            dst: path on the node; relative paths are under the login user's home.
            private_key_path: private key for the node (default None: your SSH agent or
                default keys).
            ssh_user_name: login user (default None: the node's ``ssh_user_name``,
                ``root``).

        Returns:
            None.

        Raises:
            VcpSDKError: ``scp only compute node`` for a disk, ``scp: node <no> has no
                address yet (state <state>)``, or ``scp`` is not installed.
            VcpRemoteCommandError: ``scp to <address> failed: exit status <n>``.

        Example:
            >>> with open('input.csv', 'w') as f:
            ...     print('a,b', file=f)
            >>> node.scp('input.csv', '/tmp/input.csv', private_key_path='~/.ssh/id_rsa')
        """
        target = self._target("scp", ssh_user_name)
        argv = [
            "scp",
            "-q",
            *remote.ssh_options(self.ssh_port, private_key_path),
            str(Path(src).expanduser()),
            f"{target}:{dst}",
        ]
        remote.run(argv, f"scp to {self.cloud_instance_address}")

    def add_publickey(
        self, add_publickey_path: str, private_key_path: str | None = None, ssh_user_name: str | None = None
    ) -> None:
        """Append a public key to ``~/.ssh/authorized_keys`` of the login user on the node.

        Another person or tool can then log in with the matching private key.

        Args:
            add_publickey_path: local public key file to add (``~`` is expanded).
            private_key_path: the key you log in with now (default None: your SSH agent or
                default keys).
            ssh_user_name: the user whose ``authorized_keys`` grows, also the login user
                (default None: the node's ``ssh_user_name``, ``root``).

        Returns:
            None.

        Raises:
            OSError: ``add_publickey_path`` cannot be read (e.g. FileNotFoundError).
            VcpSDKError: ``add_publickey only compute node`` for a disk, ``add_publickey:
                node <no> has no address yet (state <state>)``.
            VcpRemoteCommandError: ``add_publickey on <address> failed: exit status <n>``.

        Example:
            >>> node.add_publickey('~/.ssh/id_rsa.pub', private_key_path='~/.ssh/id_rsa')
        """
        try:
            key = Path(add_publickey_path).expanduser().read_bytes()
        except OSError as e:
            raise_error(VcpInvalidArgumentError, f"public_key_path[{add_publickey_path}] can't open ({e})")
        if not key.endswith(b"\n"):
            key += b"\n"
        self._target("add_publickey", ssh_user_name)
        argv = [
            "ssh",
            *remote.ssh_options(self.ssh_port, private_key_path),
            f"{ssh_user_name or self.ssh_user_name}@{self.cloud_instance_address}",
            "mkdir -p .ssh && chmod 700 .ssh && cat >> .ssh/authorized_keys",
        ]
        remote.run(argv, f"add_publickey on {self.cloud_instance_address}", input_bytes=key)

    def local_exec(
        self, cmd: str, env: dict[str, str] | None = None, stdin_fd: IO[Any] | int | None = None
    ) -> tuple[str, str]:
        """Run ``cmd`` with ``/bin/sh`` on this machine (the notebook's, not the node).

        Args:
            cmd: a shell command line.
            env: environment of the command, replacing the current one (default None:
                inherit it).
            stdin_fd: a file object or descriptor fed to the command's stdin (default None:
                empty input).

        Returns:
            tuple[str, str]: ``(stdout, stderr)``.

        Raises:
            VcpRemoteCommandError: ``local_exec failed: exit status <n>``.

        Example:
            >>> out, err = node.local_exec(f'ping -c 1 {node.cloud_instance_address}')
        """
        merged = {**os.environ, **env} if env is not None else None
        out, err = remote.run(["/bin/sh", "-c", cmd], "local_exec", stdin=stdin_fd, env=merged)
        return out, err

    # -- docker helpers: docker commands run over SSH on the node -----------------------

    def _docker(
        self,
        args: list[str],
        options: list[str] | None,
        ssh_user_name: str | None,
        private_key_path: str | None,
        cwd: str | None = None,
    ) -> tuple[str, str]:
        # options go after the whole command: ``docker image ls -a``, not ``docker image -a ls``
        split = 2 if args[0] in DOCKER_GROUPS else 1
        argv = [DOCKER, *args[:split], *(options or []), *args[split:]]
        try:
            out, err = self.ssh_exec(
                shlex.join(argv),
                cwd=cwd,
                private_key_path=private_key_path,
                ssh_user_name=ssh_user_name or "root",
            )
        except VcpRemoteCommandError as e:
            stderr = e.stderr if isinstance(e.stderr, str) else e.stderr.decode(errors="replace")
            if e.exit_status == 127 or "Cannot connect to the Docker daemon" in stderr:
                raise_error(
                    VcpSDKError,
                    f"docker is not available on node "
                    f"{self.cloud_instance_address}: no Docker engine runs "
                    "there (sandbox nodes have none; use a cloud node)",
                )
            raise
        return out, err

    # one row a docker helper: command, what it returns, summary, example, operands, extras
    docker_ps = _docker_command(
        "ps",
        _TABLE,
        "The node's containers as a table",
        "node.docker_ps(['-a'])",
        options="extra docker options, e.g. ``['-a']``",
        columns="``ID``, ``Image``, ``Names``, ``Status``, ...",
    )(_listing)
    docker_image_ls = _docker_command(
        "image ls",
        _TABLE,
        "The node's images as a table",
        "node.docker_image_ls()",
        columns="``Repository``, ``Tag``, ``ID``, ``Size``, ...",
    )(_listing)
    docker_network_ls = _docker_command(
        "network ls",
        _TABLE,
        "The node's docker networks as a table",
        "node.docker_network_ls()",
        columns="``ID``, ``Name``, ``Driver``, ...",
    )(_listing)
    docker_volume_ls = _docker_command(
        "volume ls",
        _TABLE,
        "The node's docker volumes as a table",
        "node.docker_volume_ls()",
        columns="``Driver``, ``Name``, ...",
    )(_listing)
    docker_inspect = _docker_command(
        "inspect",
        _OBJECT,
        "Low-level information on a container",
        "node.docker_inspect('web')['State']['Status']",
    )(_on_container)
    docker_image_inspect = _docker_command(
        "image inspect",
        _OBJECT,
        "Low-level information on an image",
        "node.docker_image_inspect('nginx:latest')['Id']",
    )(_on_image)
    docker_network_inspect = _docker_command(
        "network inspect",
        _OBJECT,
        "Low-level information on a docker network",
        "node.docker_network_inspect('bridge')['IPAM']",
    )(_on_network)
    docker_volume_inspect = _docker_command(
        "volume inspect",
        _OBJECT,
        "Low-level information on a docker volume",
        "node.docker_volume_inspect('data')['Mountpoint']",
    )(_on_volume)
    docker_info = _docker_command(
        "info", _STDOUT, "The node's Docker engine information", "print(node.docker_info())"
    )(_listing)
    docker_logs = _docker_command(
        "logs", _LOGS, "The logs of a container", "print(node.docker_logs('web', ['--tail', '20']))"
    )(_on_container)
    docker_cp = _docker_command(
        "cp",
        _STDOUT,
        "Copy files between a container and the node's file system",
        "node.docker_cp('web:/etc/nginx/nginx.conf', '/tmp/nginx.conf')",
        src="source, ``<container>:<path>`` or a path on the node.",
        dest="destination, ``<container>:<path>`` or a path on the node.",
    )(_cp)
    docker_run = _docker_command(
        "run",
        _BOTH,
        "Run a new container",
        "node.docker_run('nginx', ['-d', '--name', 'web', '-p', '80:80'])",
        options="docker run options, e.g. ``['-d', '--name', 'web', '-p', '80:80']``",
        cmd="command and arguments for the container (default None: the image's).",
        image="image to run.",
    )(_run)
    docker_exec = _docker_command(
        "exec",
        _BOTH,
        "Run a command in a running container",
        "out, err = node.docker_exec('web', cmd=['nginx', '-v'])",
        cmd="command and arguments (default None).",
    )(_exec)
    docker_restart = _docker_command("restart", _STDOUT, "Restart a container", "node.docker_restart('web')")(
        _on_container
    )
    docker_stop = _docker_command("stop", _STDOUT, "Stop a container", "node.docker_stop('web')")(
        _on_container
    )
    docker_start = _docker_command("start", _STDOUT, "Start a stopped container", "node.docker_start('web')")(
        _on_container
    )
    docker_rm = _docker_command("rm", _STDOUT, "Remove a container", "node.docker_rm('web', ['-f'])")(
        _on_container
    )
    docker_pull = _docker_command(
        "pull",
        _STDOUT,
        "Pull an image onto the node",
        "node.docker_pull('nginx:latest')",
        image="image name, e.g. ``'nginx:latest'``.",
    )(_on_image)
    docker_push = _docker_command(
        "push",
        _STDOUT,
        "Push an image from the node to its registry",
        "node.docker_push('10.0.0.1:5001/myapp:1')",
        image="image name including the registry, e.g. ``'10.0.0.1:5001/myapp:1'``.",
    )(_on_image)
    docker_image_tag = _docker_command(
        "image tag",
        _STDOUT,
        "Tag an image",
        "node.docker_image_tag('myapp:latest', '10.0.0.1:5001/myapp:1')",
        src_image="existing image name or id.",
        dest_image="new name, e.g. ``'10.0.0.1:5001/myapp:1'``.",
    )(_image_tag)
    docker_image_rm = _docker_command(
        "image rm", _STDOUT, "Remove an image from the node", "node.docker_image_rm('nginx:latest')"
    )(_on_image)
