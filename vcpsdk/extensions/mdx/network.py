"""The mdx client's network side: segments, VM catalogs, DNAT entries and IPv4 allow-ACLs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from vcpsdk.extensions.mdx.client import MdxClient
from vcpsdk.extensions.mdx.schemas import MDX_ALLOW_ACL_IPV4_SPEC_SCHEMA, validate_spec


class MdxNetwork(MdxClient):
    """:class:`MdxClient` plus segments, catalogs, DNAT and ACLs (see :class:`MdxResourceExt`)."""

    # --------------------------------------------------------------------- segments

    def get_segments(self) -> list[dict[str, Any]]:
        """The network segments of the current project (``GET /api/segment/project/<id>/all/``).

        Returns:
            ``[{"uuid", "name", "default"}]``; ``default`` is true for the segment made
            with the project.

        Raises:
            MdxRestError: no current project.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            segment_id = mdx.get_segments()[0]["uuid"]
        """
        project_id = self._require_project("get_segments")
        body = self._get(f"/api/segment/project/{project_id}/all/", "get_segments")
        if isinstance(body, Mapping) and isinstance(body.get("results"), list):
            return list(body["results"])
        return list(body or [])

    def get_segment_summary(self, segment_id: str) -> dict[str, Any]:
        """Summary of one segment (``GET /api/segment/<segment_id>/summary``).

        Args:
            segment_id: the segment's uuid.

        Returns:
            ``{"vlan_id", "vni", "ip_range"}``.

        Raises:
            MdxRestError: no current project.
            MdxNotFoundError: no such segment.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            print(mdx.get_segment_summary(segment_id)["ip_range"])
        """
        self._require_project("get_segment_summary")
        self._check_name(segment_id, "get_segment_summary", "segment_id")
        return dict(
            self._get(f"/api/segment/{segment_id}/summary", f"get_segment_summary({segment_id})") or {}
        )

    # --------------------------------------------------------------------- catalogs

    def get_vm_catalogs(self) -> list[dict[str, Any]]:
        """The VM catalogs of the current project (``GET /api/catalog/project/<id>/``).

        Returns:
            ``[{"uuid", "name", "type", "template_name", "os_type", "os_name",
            "os_version", "hw_version", "description", "login_username"}]``;
            ``os_type`` is ``"Linux"`` or ``"Windows"``.

        Raises:
            MdxRestError: no current project.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            ubuntu = [c for c in mdx.get_vm_catalogs() if c["os_name"] == "Ubuntu"][0]
            spec = {"catalog": ubuntu["uuid"], "template_name": ubuntu["template_name"], ...}
        """
        project_id = self._require_project("get_vm_catalogs")
        return list(self._iter_pages(f"/api/catalog/project/{project_id}/", "get_vm_catalogs"))

    # -------------------------------------------------------------------------- DNAT

    def dnat_iter(self) -> Iterator[dict[str, Any]]:
        """Iterate over the DNAT entries of the current project (``GET /api/dnat/project/<id>``).

        Pages are fetched as the iteration goes on.

        Returns:
            an iterator of ``{"uuid", "pool_address", "segument", "dst_address"}``
            (``segument`` is spelled so by mdx).

        Raises:
            MdxRestError: no current project (when the iteration starts).
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            for dnat in mdx.dnat_iter():
                print(dnat["pool_address"], "->", dnat["dst_address"])
        """
        project_id = self._require_project("dnat_iter")
        yield from self._iter_pages(f"/api/dnat/project/{project_id}", "dnat_iter")

    def get_dnat(self) -> list[dict[str, Any]]:
        """The DNAT entries of the current project, all pages.

        Returns:
            ``[{"uuid", "pool_address", "segument", "dst_address"}]``: global IPv4
            ``pool_address`` forwarded to the private ``dst_address``.

        Raises:
            MdxRestError: no current project.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            global_ips = {d["dst_address"]: d["pool_address"] for d in mdx.get_dnat()}
        """
        return list(self.dnat_iter())

    # -------------------------------------------------------------------------- ACLs

    def get_allow_acl_ipv4_info(self, segment_id: str) -> list[dict[str, Any]]:
        """The IPv4 allow-ACL entries of a segment (``GET /api/acl/segment/<segment_id>/``).

        Args:
            segment_id: the segment's uuid.

        Returns:
            ``[{"uuid", "src_address", "src_mask", "src_port", "dst_address", "dst_mask",
            "dst_port", "protocol"}]``; masks and ports are strings (``"24"``),
            ``protocol`` is ``"ICMP"``, ``"TCP"`` or ``"UDP"``.

        Raises:
            MdxRestError: no current project.
            MdxNotFoundError: no such segment.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            acls = mdx.get_allow_acl_ipv4_info(mdx.get_segments()[0]["uuid"])
        """
        self._require_project("get_allow_acl_ipv4_info")
        self._check_name(segment_id, "get_allow_acl_ipv4_info", "segment_id")
        return list(
            self._iter_pages(f"/api/acl/segment/{segment_id}/", f"get_allow_acl_ipv4_info({segment_id})")
        )

    def add_allow_acl_ipv4_info(self, allow_acl_spec: Mapping[str, Any]) -> dict[str, Any]:
        """Add an IPv4 allow-ACL entry to a segment (``POST /api/acl/``).

        Args:
            allow_acl_spec: ``{"segment": <segment uuid>, "src_address", "src_mask",
                "src_port", "dst_address", "dst_mask", "dst_port", "protocol"}``; masks
                and ports as strings, ``protocol`` ``"ICMP"``, ``"TCP"`` or ``"UDP"``
                (checked against :data:`MDX_ALLOW_ACL_IPV4_SPEC_SCHEMA`).

        Returns:
            the new entry as mdx answers it (with its ``uuid``).

        Raises:
            MdxRestError: no current project.
            MdxInvalidArgumentError: the spec does not match the schema, or mdx refused it.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            acl = mdx.add_allow_acl_ipv4_info({
                "segment": segment_id, "src_address": "192.0.2.0", "src_mask": "24",
                "src_port": "any", "dst_address": "10.0.0.0", "dst_mask": "21",
                "dst_port": "22", "protocol": "TCP"})
        """
        self._require_project("add_allow_acl_ipv4_info")
        validate_spec(allow_acl_spec, MDX_ALLOW_ACL_IPV4_SPEC_SCHEMA, "allow_acl_spec")
        answer = self._request(
            "POST", "/api/acl/", "add_allow_acl_ipv4_info", body=dict(allow_acl_spec), expected=(200, 201)
        )
        return dict(answer or {})

    def delete_allow_acl_ipv4_info(self, acl_ipv4_id: str) -> None:
        """Delete an IPv4 allow-ACL entry (``DELETE /api/acl/<acl_ipv4_id>/``).

        Args:
            acl_ipv4_id: the entry's uuid (from :meth:`get_allow_acl_ipv4_info`).

        Returns:
            ``None``.

        Raises:
            MdxRestError: no current project.
            MdxNotFoundError: no such entry.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            mdx.delete_allow_acl_ipv4_info(acl["uuid"])
        """
        self._require_project("delete_allow_acl_ipv4_info")
        self._check_name(acl_ipv4_id, "delete_allow_acl_ipv4_info", "acl_ipv4_id")
        self._request(
            "DELETE",
            f"/api/acl/{acl_ipv4_id}/",
            f"delete_allow_acl_ipv4_info({acl_ipv4_id})",
            expected=(200, 202, 204),
            decode=False,
        )
