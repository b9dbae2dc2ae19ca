"""``VcNode``: a node (or a disk of a storage unit) as returned by ``find_nodes``."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pandas as pd

from vcpsdk import remote
from vcpsdk.errors import VcpRemoteCommandError, VcpSDKError, raise_error

if TYPE_CHECKING:
    from vcpsdk.records import Vc, VcUnit

DOCKER = "/usr/local/bin/docker"


class VcNode:
    """One node of a unit: a VM running the Base container, or a disk.

    Attributes (compute): ``no``, ``id``, ``state``, ``cloud_instance_address``,
    ``cloud_instance_id``, ``volumes``, ``boot_date``, ``container_date``,
    ``watch_mode``, ``name``, ``error_message``, ``ssh_user_name``.
    Attributes (storage): ``no``, ``id``, ``state``, ``cloud_disk_id``,
    ``cloud_disk_size``, ``used_state`` (``in-use``/``un-use``), ``cdate``.
    ``unit`` and ``vc`` are the unit and UnitGroup records the node belongs to.
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
        """The controller client this node was read with."""
        return self.vc.client

    def _path(self) -> str:
        return f"/vcs/{self.vc.vcid}/{self.unit.name}/{self.id}"

    def _request(self, method: str, suffix: str, errmsg: str, privileged: bool,
                 compute_only: str | None = None, expected: tuple[int, ...] | None = None) -> bool:
        if compute_only and self.type != "compute":
            raise_error(VcpSDKError, f"{compute_only} only compute node")
        if self.occtr is None:
            raise_error(VcpSDKError, f"{errmsg}: this node is not attached to a controller")
        try:
            self.occtr.request(method, self._path() + suffix, errmsg, privileged=privileged,
                               expected=expected)
        except VcpSDKError as e:
            self.last_error_http_status = e.http_status
            raise
        return True

    def config(self, privileged: bool = False) -> bool:
        """Refresh this object from the controller; False when the node is gone."""
        if self.occtr is None:
            raise_error(VcpSDKError, "config node failed: this node is not attached to a controller")
        body = self.occtr.get(self._path(), "config node failed",
                              privileged=privileged or self.vc.read_privileged, allow_404=True)
        if body is None:
            self.state = "DELETED"
            return False
        self._load(body)
        return True

    def delete(self, privileged: bool = False) -> bool:
        """Delete this node (or disk); the unit shrinks.  Does not wait."""
        return self._request("DELETE", "", "delete node failed", privileged)

    def suspend(self, privileged: bool = False) -> bool:
        """Stop the Base container, keeping the host (RUNNING → SUSPENDED).  Does not wait."""
        return self._request("PATCH", "/suspend", "suspend node failed", privileged, "suspend")

    def resume(self, privileged: bool = False) -> bool:
        """Start the Base container again (SUSPENDED → RUNNING).  Does not wait."""
        return self._request("PATCH", "/resume", "resume node failed", privileged, "resume")

    def stop(self, privileged: bool = False) -> bool:
        """Release the host (SUSPENDED → STOPPED); ``start()`` re-creates it at the same address."""
        return self._request("PATCH", "/stop", "stop node failed", privileged, "stop")

    def start(self, privileged: bool = False) -> bool:
        """Re-create a stopped node's host at the same address (STOPPED → RUNNING)."""
        return self._request("PATCH", "/start", "start node failed", privileged, "start")

    def power_off(self, privileged: bool = False) -> bool:
        """Power the host off (→ POWER_OFF).  Does not wait."""
        return self._request("PATCH", "/power_off", "power_off failed", privileged, "power_off")

    def power_on(self, privileged: bool = False) -> bool:
        """Power the host on again (POWER_OFF → RUNNING).  Does not wait."""
        return self._request("PATCH", "/power_on", "power_on failed", privileged, "power_on")

    def watch(self, privileged: bool = False) -> bool:
        """Enable the controller's liveness monitoring of this node (``watch_mode`` True)."""
        return self._request("PATCH", "/watch", "watch failed", privileged, "watch")

    def unwatch(self, privileged: bool = False) -> bool:
        """Disable the controller's liveness monitoring of this node."""
        return self._request("PATCH", "/unwatch", "unwatch failed", privileged, "unwatch")

    def backup(self, privileged: bool = False) -> bool:
        """Ask the controller to back up the node's container image (202)."""
        return self._request("GET", "/backup", "backup failed", privileged, "backup",
                             expected=(202,))

    def error(self) -> str:
        """The node's error message, else its unit's."""
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
        """Run ``cmd`` on the node over SSH and return ``(stdout, stderr)``.

        Args:
            cmd: a shell command line (or an argument list, quoted for you).
            cwd: directory to run in (``cd <cwd> && cmd``).
            private_key_path: key for the node (else your SSH agent / default keys).
            stdin_fd: a file object or descriptor fed to the command's stdin.
            output_decode: return ``str`` (True) or ``bytes``.
            ssh_user_name: login user (default the node's, ``root``).

        Raises:
            VcpRemoteCommandError: non-zero exit status (``exit_status``, ``stdout``,
                ``stderr`` attributes; 255 means SSH itself failed).

        Example:
            >>> out, err = node.ssh_exec('uname -a', private_key_path='~/.ssh/id_rsa')  # doctest: +SKIP
        """
        target = self._target("ssh_exec", ssh_user_name)
        argv = ["ssh", *remote.ssh_options(self.ssh_port, private_key_path), target,
                remote.remote_command(cmd, cwd)]
        return remote.run(argv, f"ssh_exec on {self.cloud_instance_address}", stdin=stdin_fd,
                          decode=output_decode)

    def scp(self, src: str, dst: str, private_key_path: str | None = None,
            ssh_user_name: str | None = None) -> None:
        """Copy local file ``src`` to ``dst`` on the node (relative to the login home).

        Raises:
            VcpRemoteCommandError: the copy failed.
        """
        target = self._target("scp", ssh_user_name)
        argv = ["scp", "-q", *remote.ssh_options(self.ssh_port, private_key_path),
                str(Path(src).expanduser()), f"{target}:{dst}"]
        remote.run(argv, f"scp to {self.cloud_instance_address}")

    def add_publickey(self, add_publickey_path: str, private_key_path: str | None = None,
                      ssh_user_name: str | None = None) -> None:
        """Append the public key in ``add_publickey_path`` to the node's
        ``~/.ssh/authorized_keys`` (another person or tool may then log in)."""
        key = Path(add_publickey_path).expanduser().read_bytes()
        if not key.endswith(b"\n"):
            key += b"\n"
        self._target("add_publickey", ssh_user_name)
        argv = ["ssh", *remote.ssh_options(self.ssh_port, private_key_path),
                f"{ssh_user_name or self.ssh_user_name}@{self.cloud_instance_address}",
                "mkdir -p .ssh && chmod 700 .ssh && cat >> .ssh/authorized_keys"]
        remote.run(argv, f"add_publickey on {self.cloud_instance_address}", input_bytes=key)

    def local_exec(self, cmd: str, env: dict[str, str] | None = None,
                   stdin_fd: IO[Any] | int | None = None) -> tuple[str, str]:
        """Run ``cmd`` on this machine (not on the node); ``(stdout, stderr)``."""
        out, err = remote.run(["/bin/sh", "-c", cmd], "local_exec", stdin=stdin_fd, env=env)
        return out, err

    # -- docker helpers: docker commands run over SSH on the node -----------------------

    def _docker(self, args: list[str], options: list[str] | None, ssh_user_name: str | None,
                private_key_path: str | None, cwd: str | None = None) -> tuple[str, str]:
        argv = [DOCKER, args[0], *(options or []), *args[1:]]
        try:
            out, err = self.ssh_exec(shlex.join(argv), cwd=cwd, private_key_path=private_key_path,
                                     ssh_user_name=ssh_user_name or "root")
        except VcpRemoteCommandError as e:
            stderr = e.stderr if isinstance(e.stderr, str) else e.stderr.decode(errors="replace")
            if e.exit_status == 127 or "Cannot connect to the Docker daemon" in stderr:
                raise_error(VcpSDKError, f"docker is not available on node "
                                         f"{self.cloud_instance_address}: no Docker engine runs "
                                         "there (sandbox nodes have none; use a cloud node)")
            raise
        return out, err

    def _docker_table(self, args: list[str], options: list[str] | None, ssh_user_name: str | None,
                      private_key_path: str | None) -> pd.DataFrame:
        out, _ = self._docker([*args, "--format", "{{json .}}"], options, ssh_user_name,
                              private_key_path)
        return pd.DataFrame([json.loads(line) for line in out.splitlines() if line.strip()])

    def _docker_object(self, args: list[str], options: list[str] | None,
                       ssh_user_name: str | None, private_key_path: str | None) -> dict[str, Any]:
        out, _ = self._docker(args, options, ssh_user_name, private_key_path)
        data = json.loads(out)
        result: dict[str, Any] = data[0] if isinstance(data, list) and data else data
        return result

    def docker_ps(self, options: list[str] | None = None, ssh_user_name: str = "root",
                  private_key_path: str | None = None) -> pd.DataFrame:
        """``docker ps`` on the node as a DataFrame."""
        return self._docker_table(["ps"], options, ssh_user_name, private_key_path)

    def docker_image_ls(self, options: list[str] | None = None, ssh_user_name: str = "root",
                        private_key_path: str | None = None) -> pd.DataFrame:
        """``docker image ls`` on the node as a DataFrame."""
        return self._docker_table(["image", "ls"], options, ssh_user_name, private_key_path)

    def docker_network_ls(self, options: list[str] | None = None, ssh_user_name: str = "root",
                          private_key_path: str | None = None) -> pd.DataFrame:
        """``docker network ls`` on the node as a DataFrame."""
        return self._docker_table(["network", "ls"], options, ssh_user_name, private_key_path)

    def docker_volume_ls(self, options: list[str] | None = None, ssh_user_name: str = "root",
                         private_key_path: str | None = None) -> pd.DataFrame:
        """``docker volume ls`` on the node as a DataFrame."""
        return self._docker_table(["volume", "ls"], options, ssh_user_name, private_key_path)

    def docker_inspect(self, container: str, options: list[str] | None = None,
                       ssh_user_name: str = "root",
                       private_key_path: str | None = None) -> dict[str, Any]:
        """``docker inspect <container>`` as a dict."""
        return self._docker_object(["inspect", container], options, ssh_user_name,
                                   private_key_path)

    def docker_image_inspect(self, image: str, options: list[str] | None = None,
                             ssh_user_name: str = "root",
                             private_key_path: str | None = None) -> dict[str, Any]:
        """``docker image inspect <image>`` as a dict."""
        return self._docker_object(["image", "inspect", image], options, ssh_user_name,
                                   private_key_path)

    def docker_network_inspect(self, network: str, options: list[str] | None = None,
                               ssh_user_name: str = "root",
                               private_key_path: str | None = None) -> dict[str, Any]:
        """``docker network inspect <network>`` as a dict."""
        return self._docker_object(["network", "inspect", network], options, ssh_user_name,
                                   private_key_path)

    def docker_volume_inspect(self, volume: str, options: list[str] | None = None,
                              ssh_user_name: str = "root",
                              private_key_path: str | None = None) -> dict[str, Any]:
        """``docker volume inspect <volume>`` as a dict."""
        return self._docker_object(["volume", "inspect", volume], options, ssh_user_name,
                                   private_key_path)

    def docker_info(self, options: list[str] | None = None, ssh_user_name: str = "root",
                    private_key_path: str | None = None) -> str:
        """``docker info`` output."""
        return self._docker(["info"], options, ssh_user_name, private_key_path)[0]

    def docker_logs(self, container: str, options: list[str] | None = None,
                    ssh_user_name: str = "root", private_key_path: str | None = None) -> str:
        """``docker logs <container>`` output (stdout and stderr)."""
        out, err = self._docker(["logs", container], options, ssh_user_name, private_key_path)
        return out + err

    def docker_cp(self, src: str, dest: str, options: list[str] | None = None,
                  cwd: str | None = None, ssh_user_name: str = "root",
                  private_key_path: str | None = None) -> str:
        """``docker cp <src> <dest>`` on the node (``cwd`` for relative paths)."""
        return self._docker(["cp", src, dest], options, ssh_user_name, private_key_path, cwd)[0]

    def docker_run(self, image: str, options: list[str] | None = None,
                   cmd: list[str] | None = None, ssh_user_name: str = "root",
                   private_key_path: str | None = None) -> tuple[str, str]:
        """``docker run [options] <image> [cmd]``; ``(stdout, stderr)``."""
        return self._docker(["run", image, *(cmd or [])], options, ssh_user_name,
                            private_key_path)

    def docker_exec(self, container: str, options: list[str] | None = None,
                    cmd: list[str] | None = None, ssh_user_name: str = "root",
                    private_key_path: str | None = None) -> tuple[str, str]:
        """``docker exec [options] <container> [cmd]``; ``(stdout, stderr)``."""
        return self._docker(["exec", container, *(cmd or [])], options, ssh_user_name,
                            private_key_path)

    def docker_restart(self, container: str, options: list[str] | None = None,
                       ssh_user_name: str = "root", private_key_path: str | None = None) -> str:
        """``docker restart <container>``."""
        return self._docker(["restart", container], options, ssh_user_name, private_key_path)[0]

    def docker_stop(self, container: str, options: list[str] | None = None,
                    ssh_user_name: str = "root", private_key_path: str | None = None) -> str:
        """``docker stop <container>``."""
        return self._docker(["stop", container], options, ssh_user_name, private_key_path)[0]

    def docker_start(self, container: str, options: list[str] | None = None,
                     ssh_user_name: str = "root", private_key_path: str | None = None) -> str:
        """``docker start <container>``."""
        return self._docker(["start", container], options, ssh_user_name, private_key_path)[0]

    def docker_rm(self, container: str, options: list[str] | None = None,
                  ssh_user_name: str = "root", private_key_path: str | None = None) -> str:
        """``docker rm <container>``."""
        return self._docker(["rm", container], options, ssh_user_name, private_key_path)[0]

    def docker_pull(self, image: str, options: list[str] | None = None,
                    ssh_user_name: str = "root", private_key_path: str | None = None) -> str:
        """``docker pull <image>`` output."""
        return self._docker(["pull", image], options, ssh_user_name, private_key_path)[0]

    def docker_push(self, image: str, options: list[str] | None = None,
                    ssh_user_name: str = "root", private_key_path: str | None = None) -> str:
        """``docker push <image>`` output."""
        return self._docker(["push", image], options, ssh_user_name, private_key_path)[0]

    def docker_image_rm(self, image: str, options: list[str] | None = None,
                        ssh_user_name: str = "root", private_key_path: str | None = None) -> str:
        """``docker image rm <image>``."""
        return self._docker(["image", "rm", image], options, ssh_user_name, private_key_path)[0]

    def docker_image_tag(self, src_image: str, dest_image: str, ssh_user_name: str = "root",
                         private_key_path: str | None = None) -> str:
        """``docker image tag <src_image> <dest_image>``."""
        return self._docker(["image", "tag", src_image, dest_image], None, ssh_user_name,
                            private_key_path)[0]
