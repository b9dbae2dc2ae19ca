"""UnitGroup, unit and node states, shared by the SDK and the controller.

Transitions (reference §1.2-1.3): ``BOOTING → RUNNING``; ``RUNNING ⇄ SUSPENDED``
through SUSPENDING/RESUMING; ``SUSPENDED → STOPPING → STOPPED → BOOTING``;
``→ SHUTTING_DOWN → POWER_OFF → BOOTING``; anything ``→ DELETING``.
"""

from __future__ import annotations

from dataclasses import dataclass

BOOTING = "BOOTING"
RUNNING = "RUNNING"
SUSPENDING = "SUSPENDING"
SUSPENDED = "SUSPENDED"
RESUMING = "RESUMING"
STOPPING = "STOPPING"
STOPPED = "STOPPED"
SHUTTING_DOWN = "SHUTTING_DOWN"
POWER_OFF = "POWER_OFF"
CONTAINER_ERROR = "CONTAINER_ERROR"
HOST_ERROR = "HOST_ERROR"
DELETING = "DELETING"
ERROR = "ERROR"
APPLYING = "APPLYING"
INDEFINITE = "INDEFINITE"
CREATING = "CREATING"

#: states a unit or node passes through; a waiter keeps waiting while it sees one
TRANSITIONAL = frozenset(
    {BOOTING, CREATING, SUSPENDING, RESUMING, STOPPING, SHUTTING_DOWN, DELETING, APPLYING, INDEFINITE}
)

#: DataFrame colours of the original SDK, applied to every column named ``*state*``
STATE_COLOURS = {
    BOOTING: "#fe9",
    APPLYING: "#fe9",
    CREATING: "#fe9",
    ERROR: "#f99",
    RUNNING: "#dfd",
    SUSPENDING: "#ddd",
    SUSPENDED: "#ddd",
    RESUMING: "#ddd",
    STOPPING: "#ddd",
    STOPPED: "#ddd",
    SHUTTING_DOWN: "#add",
    POWER_OFF: "#aaa",
    DELETING: "#777",
    CONTAINER_ERROR: "#f77",
    HOST_ERROR: "#f77",
}


@dataclass(frozen=True)
class NodeOperation:
    """A node operation: the states it starts from, passes through and ends in.

    ``capability`` names the provider capability it needs (a field of
    :class:`vcpsdk.core.providers.Capabilities`), or None when every provider has it.
    """

    name: str
    allowed: frozenset[str]
    transitional: str | None
    final: str | None
    capability: str | None = None


_UP = frozenset({RUNNING, CONTAINER_ERROR})
NODE_OPERATIONS: dict[str, NodeOperation] = {
    op.name: op
    for op in (
        # suspend/resume act on the Base container and stop/start delete and re-create
        # the instance, so only power_off/power_on need the cloud's power API
        NodeOperation("power_off", _UP | {SUSPENDED, HOST_ERROR}, SHUTTING_DOWN, POWER_OFF, "power_api"),
        NodeOperation("power_on", frozenset({POWER_OFF}), BOOTING, RUNNING, "power_api"),
        NodeOperation("suspend", frozenset({RUNNING}), SUSPENDING, SUSPENDED),
        NodeOperation("resume", frozenset({SUSPENDED, CONTAINER_ERROR}), RESUMING, RUNNING),
        NodeOperation("stop", frozenset({SUSPENDED, CONTAINER_ERROR, HOST_ERROR}), STOPPING, STOPPED),
        NodeOperation("start", frozenset({STOPPED}), BOOTING, RUNNING),
        NodeOperation("watch", frozenset({RUNNING, SUSPENDED, POWER_OFF, STOPPED}), None, None),
        NodeOperation("unwatch", frozenset({RUNNING, SUSPENDED, POWER_OFF, STOPPED}), None, None),
    )
}


def aggregate_state(node_states: list[str]) -> str:
    """A unit's state from its nodes: the common state, RUNNING when empty, else INDEFINITE."""
    distinct = set(node_states)
    if not distinct:
        return RUNNING
    if len(distinct) == 1:
        return distinct.pop()
    if ERROR in distinct:
        return ERROR
    return INDEFINITE
