"""``VcNode``: a node (or a disk of a storage unit) as returned by ``find_nodes``."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pandas as pd

from vcpsdk import remote
from vcpsdk.core import protocol as routes
from vcpsdk.errors import VcpInvalidArgumentError, VcpRemoteCommandError, VcpSDKError, raise_error

if TYPE_CHECKING:
    from vcpsdk.records import Vc, VcUnit

DOCKER = "/usr/local/bin/docker"
#: docker management commands whose sub-command comes second (``docker image ls``)
DOCKER_GROUPS = frozenset({"image", "network", "volume", "container"})


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
        >>> node = unit.find_nodes()[0]  # doctest: +SKIP
        >>> print(node)  # doctest: +SKIP
        >>> node.cloud_instance_address  # doctest: +SKIP
        '172.30.2.10'
    """

    def __init__(self, unit: VcUnit, node_json: dict[str, Any]) -> None:
        self.unit = unit
        self.vc: Vc = unit.vc
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
            self.no = node_json.get("disk_no")
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

    # -- node operations (through the controller) ------------------------------------------

    @property
    def occtr(self) -> Any:
        """The controller client (``OcctrClient``) this node was read with, used by its
        operations; None for a node not attached to a controller (operations then raise
        VcpSDKError ``<message>: this node is not attached to a controller``).

        Example:
            >>> node.occtr.base_url  # doctest: +SKIP
            'https://10.0.0.1/vcp/v1/occtr'
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
            >>> node.suspend()  # doctest: +SKIP
            >>> unit.wait_nodes_applied()  # doctest: +SKIP
            >>> node.config()  # doctest: +SKIP
            True
            >>> node.state  # doctest: +SKIP
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

    def delete(self, privileged: bool = False) -> bool:
        """Delete this node (or disk); the unit shrinks (→ DELETING, then gone).

        Sends one request and returns True without waiting; call ``unit.wait_nodes_applied()`` to
        wait and :meth:`config` to refresh this object.

        Args:
            privileged: send the request in privileged mode, needed for another user's node
                (superuser tokens only; default False, also for nodes read in privileged mode).

        Returns:
            bool: True once the controller accepted the request.

        Raises:
            VcpSDKError: ``delete node failed`` when the controller refuses (subclass by HTTP
                status, e.g. VcpConflictError for a busy unit or a disk still attached to a node;
                the status is kept in ``last_error_http_status``).

        Example:
            >>> node.delete()  # doctest: +SKIP
            True
        """
        return self._request(routes.NODE_DELETE, privileged)

    def suspend(self, privileged: bool = False) -> bool:
        """Stop the Base container and keep the host (RUNNING → SUSPENDING → SUSPENDED).

        Sends one request and returns True without waiting; call ``unit.wait_nodes_applied()`` to
        wait and :meth:`config` to refresh this object.

        Args:
            privileged: send the request in privileged mode, needed for another user's node
                (superuser tokens only; default False, also for nodes read in privileged mode).

        Returns:
            bool: True once the controller accepted the request.

        Raises:
            VcpSDKError: ``suspend node failed`` when the controller refuses (subclass by HTTP
                status, e.g. VcpConflictError for a node in the wrong state or a busy unit; the
                status is kept in ``last_error_http_status``); ``suspend only compute node`` for a
                disk.

        Example:
            >>> node.suspend()  # doctest: +SKIP
            True
        """
        return self._request(routes.NODE_OPERATION, privileged, "suspend", "suspend")

    def resume(self, privileged: bool = False) -> bool:
        """Start the Base container again (SUSPENDED or CONTAINER_ERROR → RESUMING → RUNNING).

        Sends one request and returns True without waiting; call ``unit.wait_nodes_applied()`` to
        wait and :meth:`config` to refresh this object.

        Args:
            privileged: send the request in privileged mode, needed for another user's node
                (superuser tokens only; default False, also for nodes read in privileged mode).

        Returns:
            bool: True once the controller accepted the request.

        Raises:
            VcpSDKError: ``resume node failed`` when the controller refuses (subclass by HTTP
                status, e.g. VcpConflictError for a node in the wrong state or a busy unit; the
                status is kept in ``last_error_http_status``); ``resume only compute node`` for a
                disk.

        Example:
            >>> node.resume()  # doctest: +SKIP
            True
        """
        return self._request(routes.NODE_OPERATION, privileged, "resume", "resume")

    def stop(self, privileged: bool = False) -> bool:
        """Release the host: delete the cloud instance (SUSPENDED, CONTAINER_ERROR or HOST_ERROR →
        STOPPING → STOPPED); :meth:`start` re-creates it at the same address.

        Sends one request and returns True without waiting; call ``unit.wait_nodes_applied()`` to
        wait and :meth:`config` to refresh this object.

        Args:
            privileged: send the request in privileged mode, needed for another user's node
                (superuser tokens only; default False, also for nodes read in privileged mode).

        Returns:
            bool: True once the controller accepted the request.

        Raises:
            VcpSDKError: ``stop node failed`` when the controller refuses (subclass by HTTP
                status, e.g. VcpConflictError for a node in the wrong state or a busy unit; the
                status is kept in ``last_error_http_status``); ``stop only compute node`` for a
                disk.

        Example:
            >>> node.stop()  # doctest: +SKIP
            True
        """
        return self._request(routes.NODE_OPERATION, privileged, "stop", "stop")

    def start(self, privileged: bool = False) -> bool:
        """Re-create a stopped node's host at the same address (STOPPED → BOOTING → RUNNING).

        Sends one request and returns True without waiting; call ``unit.wait_nodes_applied()`` to
        wait and :meth:`config` to refresh this object.

        Args:
            privileged: send the request in privileged mode, needed for another user's node
                (superuser tokens only; default False, also for nodes read in privileged mode).

        Returns:
            bool: True once the controller accepted the request.

        Raises:
            VcpSDKError: ``start node failed`` when the controller refuses (subclass by HTTP
                status, e.g. VcpConflictError for a node in the wrong state or a busy unit; the
                status is kept in ``last_error_http_status``); ``start only compute node`` for a
                disk.

        Example:
            >>> node.start()  # doctest: +SKIP
            True
        """
        return self._request(routes.NODE_OPERATION, privileged, "start", "start")

    def power_off(self, privileged: bool = False) -> bool:
        """Power the host off (RUNNING, CONTAINER_ERROR, SUSPENDED or HOST_ERROR → SHUTTING_DOWN →
        POWER_OFF); providers with the Power API only.

        Sends one request and returns True without waiting; call ``unit.wait_nodes_applied()`` to
        wait and :meth:`config` to refresh this object.

        Args:
            privileged: send the request in privileged mode, needed for another user's node
                (superuser tokens only; default False, also for nodes read in privileged mode).

        Returns:
            bool: True once the controller accepted the request.

        Raises:
            VcpSDKError: ``power_off failed`` when the controller refuses (subclass by HTTP
                status, e.g. VcpConflictError for a node in the wrong state or a busy unit; the
                status is kept in ``last_error_http_status``); ``power_off only compute node`` for
                a disk.

        Example:
            >>> node.power_off()  # doctest: +SKIP
            True
        """
        return self._request(routes.NODE_OPERATION, privileged, "power_off", "power_off")

    def power_on(self, privileged: bool = False) -> bool:
        """Power the host on again (POWER_OFF → BOOTING → RUNNING).

        Sends one request and returns True without waiting; call ``unit.wait_nodes_applied()`` to
        wait and :meth:`config` to refresh this object.

        Args:
            privileged: send the request in privileged mode, needed for another user's node
                (superuser tokens only; default False, also for nodes read in privileged mode).

        Returns:
            bool: True once the controller accepted the request.

        Raises:
            VcpSDKError: ``power_on failed`` when the controller refuses (subclass by HTTP status,
                e.g. VcpConflictError for a node in the wrong state or a busy unit; the status is
                kept in ``last_error_http_status``); ``power_on only compute node`` for a disk.

        Example:
            >>> node.power_on()  # doctest: +SKIP
            True
        """
        return self._request(routes.NODE_OPERATION, privileged, "power_on", "power_on")

    def watch(self, privileged: bool = False) -> bool:
        """Enable the controller's liveness monitoring of this node (``watch_mode`` True).

        Sends one request and returns True without waiting; call ``unit.wait_nodes_applied()`` to
        wait and :meth:`config` to refresh this object.

        Args:
            privileged: send the request in privileged mode, needed for another user's node
                (superuser tokens only; default False, also for nodes read in privileged mode).

        Returns:
            bool: True once the controller accepted the request.

        Raises:
            VcpSDKError: ``watch failed`` when the controller refuses (subclass by HTTP status,
                e.g. VcpConflictError for a node in the wrong state or a busy unit; the status is
                kept in ``last_error_http_status``); ``watch only compute node`` for a disk.

        Example:
            >>> node.watch()  # doctest: +SKIP
            True
        """
        return self._request(routes.NODE_OPERATION, privileged, "watch", "watch")

    def unwatch(self, privileged: bool = False) -> bool:
        """Disable the controller's liveness monitoring of this node (``watch_mode`` False).

        Sends one request and returns True without waiting; call ``unit.wait_nodes_applied()`` to
        wait and :meth:`config` to refresh this object.

        Args:
            privileged: send the request in privileged mode, needed for another user's node
                (superuser tokens only; default False, also for nodes read in privileged mode).

        Returns:
            bool: True once the controller accepted the request.

        Raises:
            VcpSDKError: ``unwatch failed`` when the controller refuses (subclass by HTTP status,
                e.g. VcpConflictError for a node in the wrong state or a busy unit; the status is
                kept in ``last_error_http_status``); ``unwatch only compute node`` for a disk.

        Example:
            >>> node.unwatch()  # doctest: +SKIP
            True
        """
        return self._request(routes.NODE_OPERATION, privileged, "unwatch", "unwatch")

    def backup(self, privileged: bool = False) -> bool:
        """Ask the controller to back up the node's Base container image.

        Sends one request and returns True once the controller accepted it; the backup itself runs
        on the controller.

        Args:
            privileged: send the request in privileged mode, needed for another user's node
                (superuser tokens only; default False, also for nodes read in privileged mode).

        Returns:
            bool: True once the controller accepted the request.

        Raises:
            VcpSDKError: ``backup failed`` when the controller refuses (subclass by HTTP status,
                e.g. VcpConflictError for a node that is not RUNNING; the status is kept in
                ``last_error_http_status``); ``backup only compute node`` for a disk.

        Example:
            >>> node.backup()  # doctest: +SKIP
            True
        """
        return self._request(routes.NODE_BACKUP, privileged, "backup")

    def error(self) -> str:
        """The node's error message, else its unit's (no request).

        Returns:
            str: the message, ``''`` when neither has one.

        Example:
            >>> if node.state.endswith('ERROR'):  # doctest: +SKIP
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
            >>> out, err = node.ssh_exec('uname -a', private_key_path='~/.ssh/id_rsa')  # doctest: +SKIP
            >>> out, _ = node.ssh_exec(['ls', '-l'], cwd='/tmp')  # doctest: +SKIP
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
            >>> node.scp('input.csv', '/tmp/input.csv', private_key_path='~/.ssh/id_rsa')  # doctest: +SKIP
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
            private_key_path: private key for the node (default None: your SSH agent or
                default keys).
            ssh_user_name: login user (default None: the node's ``ssh_user_name``,
                ``root``).

        Returns:
            None.

        Raises:
            OSError: ``add_publickey_path`` cannot be read (e.g. FileNotFoundError).
            VcpSDKError: ``add_publickey only compute node`` for a disk, ``add_publickey:
                node <no> has no address yet (state <state>)``.
            VcpRemoteCommandError: ``add_publickey on <address> failed: exit status <n>``.

        Example:
            >>> node.add_publickey('~/.ssh/colleague.pub', private_key_path='~/.ssh/id_rsa')  # doctest: +SKIP
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
            >>> out, err = node.local_exec(f'ping -c 1 {node.cloud_instance_address}')  # doctest: +SKIP
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

    def _docker_table(
        self,
        args: list[str],
        options: list[str] | None,
        ssh_user_name: str | None,
        private_key_path: str | None,
    ) -> pd.DataFrame:
        out, _ = self._docker([*args, "--format", "{{json .}}"], options, ssh_user_name, private_key_path)
        return pd.DataFrame([json.loads(line) for line in out.splitlines() if line.strip()])

    def _docker_object(
        self,
        args: list[str],
        options: list[str] | None,
        ssh_user_name: str | None,
        private_key_path: str | None,
    ) -> dict[str, Any]:
        out, _ = self._docker(args, options, ssh_user_name, private_key_path)
        data = json.loads(out)
        result: dict[str, Any] = data[0] if isinstance(data, list) and data else data
        return result

    def docker_ps(
        self,
        options: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> pd.DataFrame:
        """The node's containers as a table (``docker ps``).

        Runs ``docker ps [options] --format '{{json .}}'`` on the node over SSH.

        Args:
            options: extra docker options, e.g. ``['-a']`` (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            pandas.DataFrame: one row per line of ``--format '{{json .}}'`` output, columns as
            docker names them (``ID``, ``Image``, ``Names``, ``Status``, ...); empty when there is
            none.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_ps(['-a'])  # doctest: +SKIP
        """
        return self._docker_table(["ps"], options, ssh_user_name, private_key_path)

    def docker_image_ls(
        self,
        options: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> pd.DataFrame:
        """The node's images as a table (``docker image ls``).

        Runs ``docker image ls [options] --format '{{json .}}'`` on the node over SSH.

        Args:
            options: extra docker options (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            pandas.DataFrame: one row per line of ``--format '{{json .}}'`` output, columns as
            docker names them (``Repository``, ``Tag``, ``ID``, ``Size``, ...); empty when there
            is none.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_image_ls()  # doctest: +SKIP
        """
        return self._docker_table(["image", "ls"], options, ssh_user_name, private_key_path)

    def docker_network_ls(
        self,
        options: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> pd.DataFrame:
        """The node's docker networks as a table (``docker network ls``).

        Runs ``docker network ls [options] --format '{{json .}}'`` on the node over SSH.

        Args:
            options: extra docker options (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            pandas.DataFrame: one row per line of ``--format '{{json .}}'`` output, columns as
            docker names them (``ID``, ``Name``, ``Driver``, ...); empty when there is none.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_network_ls()  # doctest: +SKIP
        """
        return self._docker_table(["network", "ls"], options, ssh_user_name, private_key_path)

    def docker_volume_ls(
        self,
        options: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> pd.DataFrame:
        """The node's docker volumes as a table (``docker volume ls``).

        Runs ``docker volume ls [options] --format '{{json .}}'`` on the node over SSH.

        Args:
            options: extra docker options (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            pandas.DataFrame: one row per line of ``--format '{{json .}}'`` output, columns as
            docker names them (``Driver``, ``Name``, ...); empty when there is none.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_volume_ls()  # doctest: +SKIP
        """
        return self._docker_table(["volume", "ls"], options, ssh_user_name, private_key_path)

    def docker_inspect(
        self,
        container: str,
        options: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> dict[str, Any]:
        """Low-level information on a container (``docker inspect``).

        Runs ``docker inspect [options] <container>`` on the node over SSH.

        Args:
            container: container name or id.
            options: extra docker options (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            dict: the first object of the JSON list ``docker inspect`` prints.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_inspect('web')['State']['Status']  # doctest: +SKIP
        """
        return self._docker_object(["inspect", container], options, ssh_user_name, private_key_path)

    def docker_image_inspect(
        self,
        image: str,
        options: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> dict[str, Any]:
        """Low-level information on an image (``docker image inspect``).

        Runs ``docker image inspect [options] <image>`` on the node over SSH.

        Args:
            image: image name or id.
            options: extra docker options (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            dict: the first object of the JSON list ``docker image inspect`` prints.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_image_inspect('nginx:latest')['Id']  # doctest: +SKIP
        """
        return self._docker_object(["image", "inspect", image], options, ssh_user_name, private_key_path)

    def docker_network_inspect(
        self,
        network: str,
        options: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> dict[str, Any]:
        """Low-level information on a docker network (``docker network inspect``).

        Runs ``docker network inspect [options] <network>`` on the node over SSH.

        Args:
            network: network name or id.
            options: extra docker options (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            dict: the first object of the JSON list ``docker network inspect`` prints.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_network_inspect('bridge')['IPAM']  # doctest: +SKIP
        """
        return self._docker_object(["network", "inspect", network], options, ssh_user_name, private_key_path)

    def docker_volume_inspect(
        self,
        volume: str,
        options: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> dict[str, Any]:
        """Low-level information on a docker volume (``docker volume inspect``).

        Runs ``docker volume inspect [options] <volume>`` on the node over SSH.

        Args:
            volume: volume name.
            options: extra docker options (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            dict: the first object of the JSON list ``docker volume inspect`` prints.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_volume_inspect('data')['Mountpoint']  # doctest: +SKIP
        """
        return self._docker_object(["volume", "inspect", volume], options, ssh_user_name, private_key_path)

    def docker_info(
        self,
        options: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> str:
        """The node's Docker engine information (``docker info``).

        Runs ``docker info [options]`` on the node over SSH.

        Args:
            options: extra docker options (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            str: the command's standard output.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> print(node.docker_info())  # doctest: +SKIP
        """
        return self._docker(["info"], options, ssh_user_name, private_key_path)[0]

    def docker_logs(
        self,
        container: str,
        options: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> str:
        """The logs of a container (``docker logs``).

        Runs ``docker logs [options] <container>`` on the node over SSH.

        Args:
            container: container name or id.
            options: extra docker options (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            str: the container's stdout followed by its stderr.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> print(node.docker_logs('web', ['--tail', '20']))  # doctest: +SKIP
        """
        out, err = self._docker(["logs", container], options, ssh_user_name, private_key_path)
        return out + err

    def docker_cp(
        self,
        src: str,
        dest: str,
        options: list[str] | None = None,
        cwd: str | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> str:
        """Copy files between a container and the node's file system (``docker cp``).

        Runs ``docker cp [options] <src> <dest>`` on the node over SSH, after ``cd <cwd>`` when
        ``cwd`` is given.

        Args:
            src: source, ``<container>:<path>`` or a path on the node.
            dest: destination, ``<container>:<path>`` or a path on the node.
            options: extra docker options (default None).
            cwd: directory on the node for relative paths (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            str: the command's standard output.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_cp('web:/etc/nginx/nginx.conf', '/tmp/nginx.conf')  # doctest: +SKIP
        """
        return self._docker(["cp", src, dest], options, ssh_user_name, private_key_path, cwd)[0]

    def docker_run(
        self,
        image: str,
        options: list[str] | None = None,
        cmd: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> tuple[str, str]:
        """Run a new container (``docker run``).

        Runs ``docker run [options] <image> [cmd...]`` on the node over SSH.

        Args:
            image: image to run.
            options: docker run options, e.g. ``['-d', '--name', 'web', '-p', '80:80']`` (default
                None).
            cmd: command and arguments for the container (default None: the image's).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            tuple[str, str]: ``(stdout, stderr)``.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_run('nginx', ['-d', '--name', 'web', '-p', '80:80'])  # doctest: +SKIP
        """
        return self._docker(["run", image, *(cmd or [])], options, ssh_user_name, private_key_path)

    def docker_exec(
        self,
        container: str,
        options: list[str] | None = None,
        cmd: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> tuple[str, str]:
        """Run a command in a running container (``docker exec``).

        Runs ``docker exec [options] <container> [cmd...]`` on the node over SSH.

        Args:
            container: container name or id.
            options: extra docker options (default None).
            cmd: command and arguments (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            tuple[str, str]: ``(stdout, stderr)``.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> out, err = node.docker_exec('web', cmd=['nginx', '-v'])  # doctest: +SKIP
        """
        return self._docker(["exec", container, *(cmd or [])], options, ssh_user_name, private_key_path)

    def docker_restart(
        self,
        container: str,
        options: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> str:
        """Restart a container (``docker restart``).

        Runs ``docker restart [options] <container>`` on the node over SSH.

        Args:
            container: container name or id.
            options: extra docker options (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            str: the command's standard output.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_restart('web')  # doctest: +SKIP
        """
        return self._docker(["restart", container], options, ssh_user_name, private_key_path)[0]

    def docker_stop(
        self,
        container: str,
        options: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> str:
        """Stop a container (``docker stop``).

        Runs ``docker stop [options] <container>`` on the node over SSH.

        Args:
            container: container name or id.
            options: extra docker options (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            str: the command's standard output.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_stop('web')  # doctest: +SKIP
        """
        return self._docker(["stop", container], options, ssh_user_name, private_key_path)[0]

    def docker_start(
        self,
        container: str,
        options: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> str:
        """Start a stopped container (``docker start``).

        Runs ``docker start [options] <container>`` on the node over SSH.

        Args:
            container: container name or id.
            options: extra docker options (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            str: the command's standard output.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_start('web')  # doctest: +SKIP
        """
        return self._docker(["start", container], options, ssh_user_name, private_key_path)[0]

    def docker_rm(
        self,
        container: str,
        options: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> str:
        """Remove a container (``docker rm``).

        Runs ``docker rm [options] <container>`` on the node over SSH.

        Args:
            container: container name or id.
            options: extra docker options (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            str: the command's standard output.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_rm('web', ['-f'])  # doctest: +SKIP
        """
        return self._docker(["rm", container], options, ssh_user_name, private_key_path)[0]

    def docker_pull(
        self,
        image: str,
        options: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> str:
        """Pull an image onto the node (``docker pull``).

        Runs ``docker pull [options] <image>`` on the node over SSH.

        Args:
            image: image name, e.g. ``'nginx:latest'``.
            options: extra docker options (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            str: the command's standard output.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_pull('nginx:latest')  # doctest: +SKIP
        """
        return self._docker(["pull", image], options, ssh_user_name, private_key_path)[0]

    def docker_push(
        self,
        image: str,
        options: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> str:
        """Push an image from the node to its registry (``docker push``).

        Runs ``docker push [options] <image>`` on the node over SSH.

        Args:
            image: image name including the registry, e.g. ``'10.0.0.1:5001/myapp:1'``.
            options: extra docker options (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            str: the command's standard output.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_push('10.0.0.1:5001/myapp:1')  # doctest: +SKIP
        """
        return self._docker(["push", image], options, ssh_user_name, private_key_path)[0]

    def docker_image_rm(
        self,
        image: str,
        options: list[str] | None = None,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> str:
        """Remove an image from the node (``docker image rm``).

        Runs ``docker image rm [options] <image>`` on the node over SSH.

        Args:
            image: image name or id.
            options: extra docker options (default None).
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            str: the command's standard output.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_image_rm('nginx:latest')  # doctest: +SKIP
        """
        return self._docker(["image", "rm", image], options, ssh_user_name, private_key_path)[0]

    def docker_image_tag(
        self,
        src_image: str,
        dest_image: str,
        ssh_user_name: str = "root",
        private_key_path: str | None = None,
    ) -> str:
        """Tag an image (``docker image tag``).

        Runs ``docker image tag <src_image> <dest_image>`` on the node over SSH.

        Args:
            src_image: existing image name or id.
            dest_image: new name, e.g. ``'10.0.0.1:5001/myapp:1'``.
            ssh_user_name: login user on the node (default ``'root'``).
            private_key_path: private key for the node (default None: your SSH agent or default
                keys).

        Returns:
            str: the command's standard output.

        Raises:
            VcpSDKError: ``docker is not available on node <address>: no Docker engine runs there
                (sandbox nodes have none; use a cloud node)`` (exit status 127 or no daemon), or
                an :meth:`ssh_exec` error (disk node, no address yet).
            VcpRemoteCommandError: the docker command failed (``exit_status``, ``stderr``).

        Example:
            >>> node.docker_image_tag('myapp:latest', '10.0.0.1:5001/myapp:1')  # doctest: +SKIP
        """
        return self._docker(["image", "tag", src_image, dest_image], None, ssh_user_name, private_key_path)[0]
