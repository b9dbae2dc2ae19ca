"""The tags (labels) that mark a cloud resource as made by a controller for one node or disk.

Clouds with key/value tags (Azure tags, OCI freeform tags) carry the same five keys, so that
``describe``, a cleanup and ``sweep`` find a controller's resources again by tag.

Example::

    tags = resource_tags(unit, controller_id, node.node_id)
    assert tags[TAG_NODE] == node.node_id
"""

from __future__ import annotations

from vcpsdk.controller.backends.base import UnitContext

TAG_CONTROLLER = "vcp-controller"
TAG_VCID = "vcp-vcid"
TAG_UGROUP = "vcp-ugroup"
TAG_UNIT = "vcp-unit"
TAG_NODE = "vcp-node-id"
#: the tags that identify a node (or disk) of a controller, in this order
IDENTIFICATION = (TAG_CONTROLLER, TAG_VCID, TAG_UGROUP, TAG_UNIT, TAG_NODE)
#: the prefix of every tag of ours: a unit's own tags (``set_tag``) cannot use it
RESERVED_PREFIX = "vcp-"


def resource_tags(unit: UnitContext, controller_id: str, resource_id: str) -> dict[str, str]:
    """The unit's ``tags`` (``set_tag``) and ours, which the unit's cannot override.

    Args:
        unit: the unit the resource belongs to (its ``cloud_params["tags"]`` are kept).
        controller_id: the controller making the resource.
        resource_id: the node id (or disk id) of the resource.

    Returns:
        ``{tag: value}``: the unit's tags without ``vcp-`` keys, then :data:`IDENTIFICATION`.
    """
    ours = (str(controller_id), unit.vcid, unit.vc_name, unit.unit_name, resource_id)
    given = unit.cloud_params.get("tags") or {}
    return {
        **{str(k): str(v) for k, v in given.items() if not str(k).startswith(RESERVED_PREFIX)},
        **dict(zip(IDENTIFICATION, ours, strict=True)),
    }
