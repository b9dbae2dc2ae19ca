"""The node bootstrap: the script a cloud node runs at first boot to start the Base container.

Every cloud backend gives its nodes the same script (user data / cloud-init / custom
data); only how a booting node learns its own address and node id differs per cloud,
and that is a :class:`NodeIdentity`.  The script is a POSIX shell script that installs
nothing (the image has Docker), waits for the Docker engine and runs::

    docker run -d --name vcp-base --restart always --privileged --net=host -v /dev:/dev
        [-v V for each params_v] [-e E for each params_e]
        -e MY_PRIVATE_IP=<address> -e VCCCTR_IPADDR=<controller address>
        -e SERF_NODE_ID=<node id> -e VCCC_ID=<controller id>
        -e VCP_NODE_ID=<node id> -e VCP_UNIT_NAME=<unit> -e VCP_UGROUP_NAME=<group>
        [--dns D] [--dns-search S] [--dns-opt O] [--add-host H] [--hostname N] [--gpus G]
        <image>

Every argument is shell-quoted.  A fixed address is written into the script; otherwise
the node asks its cloud (``NodeIdentity.address``).  The node id is written in too,
unless the cloud can tell it at boot (``NodeIdentity.node_id``, e.g. an instance tag),
which lets the N nodes of one batched launch share one identical script.

The script carries ``AUTHORIZED_KEYS`` and every other ``params_e`` value: never log it.
The same variables (:func:`container_environment`) are what a sandbox node's commands see.

Example::

    identity = NodeIdentity(cloud="Example", address="example-metadata ip")
    script = bootstrap_script(unit, node, identity, controller_id=vcc_id,
                              controller_address="172.30.2.10")
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from vcpsdk.controller.backends.base import NodeRequest, UnitContext
from vcpsdk.core.cci import DEFAULT_IMAGE

#: docker options of ``spec.docker_opt`` and the flags they become, in order
DOCKER_FLAGS = (
    ("dns", "--dns"),
    ("dns_search", "--dns-search"),
    ("dns_opt", "--dns-opt"),
    ("add_host", "--add-host"),
    ("hostname", "--hostname"),
    ("gpus", "--gpus"),
)
#: what the Base container is started with, before the per-unit options
DOCKER_RUN = "docker run -d --name vcp-base --restart always --privileged --net=host -v /dev:/dev"


@dataclass(frozen=True)
class NodeIdentity:
    """How a booting node of one cloud learns who it is.

    Attributes:
        cloud: the cloud's name, written into the script's header comment.
        helpers: shell code defined before everything else (e.g. a metadata function).
        address: a shell command printing the node's private address, or "" (then
            ``hostname -I`` is asked).  Unused when the node has a fixed address.
        node_id: a shell command printing the node id at boot, or "" to write the node
            id into the script (one script per node).
        node_id_note: a comment line explaining where ``node_id`` comes from.
        node_id_tries: how often ``node_id`` is asked (5 s apart) before giving up.
    """

    cloud: str
    helpers: str = ""
    address: str = ""
    node_id: str = ""
    node_id_note: str = ""
    node_id_tries: int = 60


def as_list(value: Any) -> list[str]:
    """A spec value that may be absent, a single value or a list, as a list of strings."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if str(v) != ""]
    return [str(value)]


def container_environment(
    unit: UnitContext,
    *,
    node_id: str,
    address: str,
    controller_address: str,
    controller_id: str | None = None,
) -> dict[str, str]:
    """The variables the controller gives every Base container (besides ``params_e``).

    Args:
        unit: the node's unit.
        node_id: the node's id (or a shell expression such as ``$NODE_ID``).
        address: the node's private address (or a shell expression).
        controller_address: where the node reaches the controller (``VCCCTR_IPADDR``).
        controller_id: the controller's id (``VCCC_ID``); None leaves it out.

    Returns:
        ``{name: value}`` in the order the original controller passes them.
    """
    environment = {
        "MY_PRIVATE_IP": address,
        "VCCCTR_IPADDR": controller_address,
        "SERF_NODE_ID": node_id,
        "VCCC_ID": controller_id,
        "VCP_NODE_ID": node_id,
        "VCP_UNIT_NAME": unit.unit_name,
        "VCP_UGROUP_NAME": unit.vc_name,
    }
    return {key: value for key, value in environment.items() if value is not None}


def docker_run_arguments(unit: UnitContext, *, controller_id: str, controller_address: str) -> list[str]:
    """The ``docker run`` of the Base container, one shell-quoted option per entry.

    The address and node id are the shell variables ``$MY_PRIVATE_IP`` and ``$NODE_ID``
    (set by the script before).
    """
    spec = unit.spec
    docker = dict(spec.get("docker_opt") or {})
    if "options" in docker and "dns_opt" not in docker:
        docker["dns_opt"] = docker["options"]
    image = str(spec.get("image") or "") or DEFAULT_IMAGE
    q = shlex.quote
    variables = {"$MY_PRIVATE_IP", "$NODE_ID"}
    lines = [DOCKER_RUN]
    lines += [f"-v {q(volume)}" for volume in as_list(spec.get("params_v"))]
    lines += [f"-e {q(entry)}" for entry in as_list(spec.get("params_e"))]
    environment = container_environment(
        unit,
        node_id="$NODE_ID",
        address="$MY_PRIVATE_IP",
        controller_address=controller_address,
        controller_id=controller_id,
    )
    for key, value in environment.items():
        lines.append(f'-e "{key}={value}"' if value in variables else f"-e {q(f'{key}={value}')}")
    for key, flag in DOCKER_FLAGS:
        lines += [f"{flag} {q(value)}" for value in as_list(docker.get(key))]
    lines.append(q(image))
    return lines


def bootstrap_script(
    unit: UnitContext,
    node: NodeRequest,
    identity: NodeIdentity,
    *,
    controller_id: str = "",
    controller_address: str = "",
) -> str:
    """The first-boot script of ``node`` on the cloud of ``identity``.

    Args:
        unit: the node's unit (image, ``params_e``, ``params_v``, ``docker_opt``).
        node: the node (its fixed address, if any; its id when the cloud cannot tell it).
        identity: how the node learns its address and id on this cloud.
        controller_id: ``VCCC_ID``.
        controller_address: ``VCCCTR_IPADDR``.

    Returns:
        The script text (it contains secrets: never log it).
    """
    q = shlex.quote
    if node.address:
        address_line = f"MY_PRIVATE_IP={q(str(node.address))}"
    elif identity.address:
        address_line = (
            f"MY_PRIVATE_IP=$({identity.address}) || MY_PRIVATE_IP=$(hostname -I | awk '{{print $1}}')"
        )
    else:
        address_line = "MY_PRIVATE_IP=$(hostname -I | awk '{print $1}')"
    if identity.node_id:
        note = f"# {identity.node_id_note}\n" if identity.node_id_note else ""
        node_id_lines = (
            f"{note}NODE_ID=''\ni=0\n"
            f'while [ -z "$NODE_ID" ] && [ "$i" -lt {int(identity.node_id_tries)} ]; do\n'
            f"  NODE_ID=$({identity.node_id}) || NODE_ID=''\n"
            '  [ -n "$NODE_ID" ] || sleep 5\n'
            "  i=$((i + 1))\n"
            "done\n"
        )
    else:
        node_id_lines = f"NODE_ID={q(node.node_id)}\n"
    helpers = identity.helpers.strip("\n") + "\n" if identity.helpers else ""
    run = " \\\n  ".join(
        docker_run_arguments(unit, controller_id=controller_id, controller_address=controller_address)
    )
    return (
        "#!/bin/sh\n"
        f"# VCP node bootstrap (vcpsdk {identity.cloud} backend): start the Base container.\n"
        "# Generated by the VC Controller; it contains secrets (params_e): do not share.\n"
        "set -u\n"
        f"{helpers}"
        f"{address_line}\n"
        f"{node_id_lines}"
        "i=0\n"
        'until docker info >/dev/null 2>&1 || [ "$i" -ge 90 ]; do\n'
        "  sleep 2\n"
        "  i=$((i + 1))\n"
        "done\n"
        "docker inspect vcp-base >/dev/null 2>&1 && exit 0\n"
        f"{run}\n"
    )
