"""SDK sessions and ready units on a test controller, in one call each.

Example::

    from vcpsdk.testing.units import connect_sdk, create_running_unit

    vcp = connect_sdk(controller, tmp_path / "cfg", "alice")
    group, unit, nodes = create_running_unit(vcp, pubkey, num_nodes=2)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from vcpsdk.node import VcNode
    from vcpsdk.vcpsdk import VcpSDK

_groups = itertools.count(1)


def connect_sdk(
    controller: Any, config_dir: Path, user: str, superuser: bool = False, **vcc_settings: object
) -> VcpSDK:
    """A VcpSDK of a new token of ``user`` against ``controller``.

    Args:
        controller: a :class:`~vcpsdk.testing.RunningController` (or anything with
            ``create_token`` and ``write_config``).
        config_dir: where to write the user's ``vcp_config.yml``.
        user: the user name (the SDK gets it as ``.user``).
        superuser: make it a superuser's token.
        vcc_settings: more ``vcc:`` settings of ``vcp_config.yml`` (e.g. timeouts).

    Returns:
        The SDK, with the user's name in ``.user``.
    """
    from vcpsdk.vcpsdk import VcpSDK

    token = controller.create_token(user, superuser=superuser)
    sdk = VcpSDK(token, config_dir=str(controller.write_config(Path(config_dir), **vcc_settings)))
    sdk.user = user  # type: ignore[attr-defined]
    return sdk


class RunningUnit(NamedTuple):
    """What :func:`create_running_unit` made: the group, the unit and its nodes."""

    group: Any
    unit: Any
    nodes: list[VcNode]


def create_running_unit(
    sdk: VcpSDK,
    pubkey: Path,
    ugroup: str | None = None,
    unit: str = "u",
    provider: str = "aws",
    num_nodes: int = 1,
    **attributes: Any,
) -> RunningUnit:
    """Create (or reuse) UnitGroup ``ugroup`` and a RUNNING compute unit in it.

    Args:
        sdk: the user's SDK.
        pubkey: the public key file every node authorizes.
        ugroup: the UnitGroup's name (a fresh ``grp<n>`` when None); reused if it exists.
        unit: the unit's name.
        provider: the provider of the ``small`` flavor spec.
        num_nodes: how many nodes.
        attributes: more spec attributes (set before the key, which extends ``params_e``).

    Returns:
        ``(group, unit, nodes)``.

    Raises:
        AssertionError: the unit is not RUNNING or has another number of nodes.
    """
    name = ugroup or f"grp{next(_groups)}"
    group = sdk.get_ugroup(name) or sdk.create_ugroup(name)
    spec = sdk.get_spec(provider, "small")
    spec.num_nodes = num_nodes
    for key, value in attributes.items():
        setattr(spec, key, value)
    spec.set_ssh_pubkey(str(pubkey))
    created = group.create_unit(unit, spec)
    assert created.state == "RUNNING", created
    nodes = created.find_nodes()
    assert len(nodes) == num_nodes
    return RunningUnit(group, created, nodes)


def backend_unit(catalog: dict[str, Any], provider: str, **params: Any) -> Any:
    """A backend's view of a new unit (``UnitContext``) of ``provider``, for backend tests.

    Args:
        catalog: its VPN catalog entry.
        provider: the provider.
        params: its ``cloud_params``.

    Returns:
        The ``UnitContext`` (group ``group``, unit ``unit``, owner ``alice``, a fresh vcid).
    """
    import uuid

    from vcpsdk.controller.backends.base import UnitContext

    return UnitContext(
        vcid=uuid.uuid4().hex,
        vc_name="group",
        unit_name="unit",
        provider=provider,
        owner="alice",
        spec={"image": "vcp/base:1.0", "cloud_params": params},
        catalog=dict(catalog),
    )


def node_requests(count: int, *addresses: str, disks: list[Any] | None = None) -> list[Any]:
    """``count`` new nodes with automatic addresses (each attaching ``disks``), then one per
    fixed address: the ``NodeRequest`` list a backend's ``create_nodes`` gets."""
    import uuid

    from vcpsdk.controller.backends.base import NodeRequest

    made = [NodeRequest(uuid.uuid4().hex, i + 1, None, list(disks or [])) for i in range(count)]
    made += [NodeRequest(uuid.uuid4().hex, count + i + 1, a) for i, a in enumerate(addresses)]
    return made


@contextmanager
def concurrency_peak(owner: Any, method: str, delay: float = 0.1) -> Iterator[list[int]]:
    """Wrap ``owner.method`` for the block so each call lasts ``delay`` seconds longer, and
    count how many run at once.

    Yields:
        ``[peak]``: the most calls that ran at the same time (filled as they run).
    """
    import threading
    import time

    original = getattr(owner, method)
    active, peak, lock = [0], [0], threading.Lock()

    def counted(*args: Any, **kwargs: Any) -> Any:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            time.sleep(delay)
            return original(*args, **kwargs)
        finally:
            with lock:
                active[0] -= 1

    setattr(owner, method, counted)
    try:
        yield peak
    finally:
        setattr(owner, method, original)
