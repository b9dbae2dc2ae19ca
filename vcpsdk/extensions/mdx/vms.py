"""The mdx client's VMs: list, deploy, power operations and destroy, waiting with
:func:`vcpsdk.core.polling.poll`."""

from __future__ import annotations

import copy
import ipaddress
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from vcpsdk.core.polling import PollTimeout, poll
from vcpsdk.extensions.mdx import settings
from vcpsdk.extensions.mdx.errors import (
    MdxConflictError,
    MdxNotFoundError,
    MdxRestError,
    MdxTimeoutError,
    fail,
    logger,
)
from vcpsdk.extensions.mdx.network import MdxNetwork
from vcpsdk.extensions.mdx.schemas import MDX_VM_SPEC_SCHEMA, validate_spec

T = TypeVar("T")


def _first_ipv4(info: Mapping[str, Any] | None) -> str | None:
    """The first IPv4 address of the VM's first service network, if it has one."""
    if not info:
        return None
    networks = info.get("service_networks") or []
    if not networks:
        return None
    for address in networks[0].get("ipv4_address") or []:
        try:
            ipaddress.IPv4Address(str(address))
        except ValueError:
            continue
        return str(address)
    return None


class MdxResourceExt(MdxNetwork):
    """A client of the mdx REST API: projects, segments, catalogs, VMs, DNAT, ACLs, history.

    Every request carries the header ``Authorization: JWT <token>``.  Most calls act on
    the *current project*, chosen with :meth:`set_current_project_by_name` or
    :meth:`set_current_project_id`; calling them before raises :class:`MdxRestError`.

    Args:
        init_token: the mdx REST API token from the mdx user portal ("トークン発行").
            May be ``None`` if :meth:`login` is called next.
        endpoint: base URL of the mdx REST API.
        session: a ``requests.Session`` to use (a new one by default).
        request_timeout: seconds one HTTP request may take.
        page_size: items asked for per page of a paginated list.
        clock: where the wait loops take their time and pauses from (default
            :attr:`clock`, the system clock; tests pass a ``FakeClock``).
        verbose: 1 (the default) logs ``[METHOD] url`` at DEBUG, 2 also the HTTP status,
            3 also the answer's body.

    Example::

        mdx = MdxResourceExt(mdx_token)
        project_id = mdx.get_assigned_projects()[0]["projects"][0]["uuid"]
        mdx.set_current_project_id(project_id)
        print(mdx.get_vm_list())
    """

    # -------------------------------------------------------------------------- VMs

    def vm_info_iter(self) -> Iterator[dict[str, Any]]:
        """Iterate over the VMs of the current project (``GET /api/vm/project/<id>/``).

        Pages are fetched as the iteration goes on.

        Returns:
            an iterator of ``{"uuid", "name", "status", "vcenter", "running_tasks"}``.

        Raises:
            MdxRestError: no current project (when the iteration starts).
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            names = [vm["name"] for vm in mdx.vm_info_iter()]
        """
        project_id = self._require_project("vm_info_iter")
        yield from self._iter_pages(f"/api/vm/project/{project_id}/", "vm_info_iter")

    def get_vm_list(self) -> list[dict[str, Any]]:
        """The VMs of the current project, all pages.

        Returns:
            ``[{"uuid", "name", "status", "vcenter", "running_tasks"}]``; ``status`` is one
            of ``"PowerON"``, ``"PowerOFF"``, ``"Deallocated"``, ``"Suspended"``,
            ``"NotFound"``, ``"Deploying"``, ``"Detached"``.

        Raises:
            MdxRestError: no current project.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            running = [vm["name"] for vm in mdx.get_vm_list() if vm["status"] == "PowerON"]
        """
        return list(self.vm_info_iter())

    def _vm_id(self, vm_name: str) -> str | None:
        for vm in self.vm_info_iter():
            if vm.get("name") == vm_name:
                return str(vm["uuid"])
        return None

    def _find_vm_id(self, vm_name: str, what: str) -> str:
        vm_id = self._vm_id(vm_name)
        if vm_id is None:
            fail(MdxNotFoundError, f"mdx: {what}: VM {vm_name!r} is not found in project {self._project_id}")
        return vm_id

    def _vm_info_by_id(self, vm_id: str, what: str) -> dict[str, Any] | None:
        body = self._request("GET", f"/api/vm/{vm_id}/", what, missing_ok=True)
        if body is None:
            return None
        info = dict(body)
        info.setdefault("vm_id", vm_id)
        return info

    def get_vm_info(self, vm_name: str) -> dict[str, Any] | None:
        """Details of the VM named ``vm_name`` (``GET /api/vm/<vm_id>/``).

        Args:
            vm_name: the VM's name in the current project.

        Returns:
            ``None`` when there is no such VM (e.g. once destroyed), else ``{"name",
            "vm_id", "os_type", "status", "vmware_tools": [{"status", "version"}], "cpu",
            "memory" ("2 GB"), "gpu" ("1"), "service_networks": [{"adapter_number",
            "ipv4_address": [...], "ipv6_address": [...], "segment"}], "storage_networks":
            [{"adapter_number", "ipv4_address", "ipv6_address", "type"}], "hard_disks":
            [{"disk_number", "device_key", "capacity", "datastore"}], "dvd_media",
            "vcenter", "esxi", "pack_type", "pack_num"}``.

        Raises:
            MdxRestError: no current project.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            info = mdx.get_vm_info("vm-01")
            if info and info["status"] == "PowerON":
                address = info["service_networks"][0]["ipv4_address"][0]
        """
        self._require_project("get_vm_info")
        self._check_name(vm_name, "get_vm_info", "vm_name")
        vm_id = self._vm_id(vm_name)
        if vm_id is None:
            return None
        return self._vm_info_by_id(vm_id, f"get_vm_info({vm_name})")

    def deploy_vm(self, vm_name: str, vm_spec: Mapping[str, Any], wait_for: bool = True) -> dict[str, Any]:
        """Deploy (create and power on) a VM (``POST /api/vm/deploy/``).

        ``vm_spec`` is checked against :data:`MDX_VM_SPEC_SCHEMA` first and is not
        modified.  The request body is ``vm_spec`` plus ``vm_name``, ``project`` (the
        current project), ``os_type`` (``"Linux"``) and ``power_on`` (``true``).

        Args:
            vm_name: the new VM's name.
            vm_spec: ``{"catalog": <catalog uuid>, "template_name": <vCenter template>,
                "pack_num": int, "pack_type": "cpu"|"gpu", "gpu": "0", "disk_size": <GB>,
                "network_adapters": [{"adapter_number": 1, "segment": <segment uuid>}],
                "shared_key": <SSH public key>, "storage_network":
                "sr-iov"|"pvrdma"|"portgroup", "service_level": ...}``.
            wait_for: wait until the VM is PowerON with an IPv4 address on its first service
                network, polling every ``SLEEP_TIME_SEC`` seconds up to
                ``DEPLOY_VM_SLEEP_COUNT`` times.

        Returns:
            the VM's info as :meth:`get_vm_info` returns it.  With ``wait_for=False`` the
            status is usually ``"Deploying"``; if mdx does not list the VM yet, a stub
            ``{"name", "status": "Deploying", "service_networks": [], "task_id"}``.

        Raises:
            MdxRestError: no current project, or the VM disappeared while deploying.
            MdxInvalidArgumentError: ``vm_spec`` does not match the schema, or mdx refused
                it (e.g. the name is taken).
            MdxTimeoutError: no IPv4 address after ``DEPLOY_VM_SLEEP_COUNT`` polls; the
                deploy may still finish on mdx.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            info = mdx.deploy_vm("vm-01", spec)
            print(info["service_networks"][0]["ipv4_address"][0])
        """
        project_id = self._require_project("deploy_vm")
        self._check_name(vm_name, "deploy_vm", "vm_name")
        validate_spec(vm_spec, MDX_VM_SPEC_SCHEMA, "vm_spec")
        body: dict[str, Any] = copy.deepcopy(dict(vm_spec))
        body.setdefault("os_type", "Linux")
        body.setdefault("power_on", True)
        body["project"] = project_id
        body["vm_name"] = vm_name
        answer = self._request(
            "POST", "/api/vm/deploy/", f"deploy_vm({vm_name})", body=body, expected=(200, 201, 202)
        )
        task_id = answer.get("task_id") if isinstance(answer, Mapping) else None
        logger.info("mdx: deploying VM %s (task %s)", vm_name, task_id)
        if not wait_for:
            info = self.get_vm_info(vm_name)
            if info is None:
                info = {"name": vm_name, "status": "Deploying", "service_networks": [], "task_id": task_id}
            return info
        return self._wait_for_address(vm_name)

    def _poll_count(
        self, fetch: Callable[[], T], done: Callable[[T], bool], *, count: int, pause_first: bool
    ) -> T:
        """:func:`~vcpsdk.core.polling.poll` for "at most ``count`` polls every ``SLEEP_TIME_SEC``
        seconds" (the mdx notebooks' wait loops; with ``pause_first``, each poll comes after a
        pause, as after a power or destroy request).

        Raises:
            PollTimeout: the value was not final at the ``count``-th poll.
        """
        seconds = float(settings.SLEEP_TIME_SEC)
        return poll(
            fetch,
            done,
            timeout=math.inf,
            interval=seconds,
            clock=self.clock,
            max_polls=max(count, 1),
            delay=seconds if pause_first else None,
        )

    def _wait_for_address(self, vm_name: str) -> dict[str, Any]:
        count = int(settings.DEPLOY_VM_SLEEP_COUNT)
        vm_id: str | None = None
        seen = False
        polls = 0

        def fetch() -> dict[str, Any] | None:
            nonlocal vm_id, seen, polls
            polls += 1
            if vm_id is None:
                vm_id = self._vm_id(vm_name)
            if vm_id is None:
                return None
            info = self._vm_info_by_id(vm_id, f"deploy_vm({vm_name})")
            if info is None:
                if seen:
                    fail(
                        MdxRestError,
                        f"mdx: deploy_vm: VM {vm_name!r} disappeared while "
                        "deploying (see get_project_history())",
                    )
                vm_id = None
                return None
            seen = True
            logger.debug(
                "mdx: deploy_vm(%s) poll %d: %s %s", vm_name, polls, info.get("status"), _first_ipv4(info)
            )
            return info

        def ready(info: dict[str, Any] | None) -> bool:
            return bool(info) and info.get("status") == "PowerON" and _first_ipv4(info) is not None  # type: ignore[union-attr]

        try:
            info = self._poll_count(fetch, ready, count=count, pause_first=False)
        except PollTimeout as e:
            last = e.last if isinstance(e.last, Mapping) else None
            status = last.get("status") if last else "not listed"
            fail(
                MdxTimeoutError,
                f"mdx: deploy_vm: VM {vm_name!r} has no IPv4 address after "
                f"{count} polls every {settings.SLEEP_TIME_SEC} s (last status: {status}); the deploy "
                "may still finish: poll get_vm_info()",
            )
        assert info is not None
        logger.info("mdx: VM %s is PowerON with address %s", vm_name, _first_ipv4(info))
        return info

    def _wait_for_status(self, vm_name: str, vm_id: str, target: str, what: str) -> None:
        count = int(settings.SLEEP_COUNT)

        def fetch() -> str | None:
            info = self._vm_info_by_id(vm_id, f"{what}({vm_name})")
            if info is None:
                fail(MdxNotFoundError, f"mdx: {what}: VM {vm_name!r} disappeared while waiting for {target}")
            status = info.get("status")
            logger.debug("mdx: %s(%s): waiting for %s, now %s", what, vm_name, target, status)
            return status

        try:
            self._poll_count(fetch, lambda status: status == target, count=count, pause_first=True)
        except PollTimeout as e:
            fail(
                MdxTimeoutError,
                f"mdx: {what}: VM {vm_name!r} is not {target} after {count} polls "
                f"every {settings.SLEEP_TIME_SEC} s (last status: {e.last})",
            )

    def _vm_status(self, vm_name: str, what: str) -> tuple[str, Any]:
        """(vm_id, status) of a VM of the current project, which must exist."""
        self._require_project(what)
        self._check_name(vm_name, what, "vm_name")
        vm_id = self._find_vm_id(vm_name, what)
        info = self._vm_info_by_id(vm_id, f"{what}({vm_name})")
        if info is None:
            fail(MdxNotFoundError, f"mdx: {what}: VM {vm_name!r} is not found")
        return vm_id, info.get("status")

    def _vm_action(
        self,
        vm_name: str,
        what: str,
        action: str,
        *,
        allowed: tuple[str, ...],
        done: tuple[str, ...],
        target: str,
        wait_for: bool,
        body: Any = None,
    ) -> None:
        vm_id, status = self._vm_status(vm_name, what)
        if status in done:
            logger.info("mdx: %s: VM %s is already %s", what, vm_name, status)
            return
        if status not in allowed:
            fail(
                MdxConflictError,
                f"mdx: {what}: VM {vm_name!r} is {status}; it must be {' or '.join(allowed)}",
            )
        self._request(
            "POST",
            f"/api/vm/{vm_id}/{action}/",
            f"{what}({vm_name})",
            body=body,
            expected=(200, 201, 202, 204),
            decode=False,
        )
        logger.info("mdx: %s(%s) requested", what, vm_name)
        if wait_for:
            self._wait_for_status(vm_name, vm_id, target, what)

    def power_on_vm(self, vm_name: str, wait_for: bool = True, *, service_level: str = "spot") -> None:
        """Power on a VM (``POST /api/vm/<vm_id>/power_on/`` with ``{"service_level"}``).

        Does nothing if the VM is already PowerON.

        Args:
            vm_name: the VM's name in the current project.
            wait_for: wait until the VM is PowerON (``SLEEP_COUNT`` polls every
                ``SLEEP_TIME_SEC`` s).
            service_level: the mdx service level to run at (``"spot"`` or ``"guarantee"``).

        Returns:
            ``None``.

        Raises:
            MdxNotFoundError: no such VM.
            MdxConflictError: the VM is neither PowerOFF, Deallocated nor Suspended.
            MdxTimeoutError: the VM is not PowerON in time.
            MdxRestError, MdxAuthError, MdxConnectionError: as :meth:`get_vm_info`.

        Example::

            mdx.power_on_vm("vm-01")
        """
        self._vm_action(
            vm_name,
            "power_on_vm",
            "power_on",
            allowed=("PowerOFF", "Deallocated", "Suspended"),
            done=("PowerON",),
            target="PowerON",
            wait_for=wait_for,
            body={"service_level": service_level},
        )

    def power_off_vm(self, vm_name: str, wait_for: bool = True) -> None:
        """Force a VM off, like pulling the plug (``POST /api/vm/<vm_id>/power_off/``).

        Does nothing if the VM is already PowerOFF or Deallocated.

        Args:
            vm_name: the VM's name in the current project.
            wait_for: wait until the VM is PowerOFF (``SLEEP_COUNT`` polls every
                ``SLEEP_TIME_SEC`` s).

        Returns:
            ``None``.

        Raises:
            MdxNotFoundError: no such VM.
            MdxConflictError: the VM is neither PowerON nor Suspended (e.g. Deploying).
            MdxTimeoutError: the VM is not PowerOFF in time.
            MdxRestError, MdxAuthError, MdxConnectionError: as :meth:`get_vm_info`.

        Example::

            mdx.power_off_vm("vm-01", wait_for=True)
            mdx.destroy_vm("vm-01")
        """
        self._vm_action(
            vm_name,
            "power_off_vm",
            "power_off",
            allowed=("PowerON", "Suspended"),
            done=settings.DELETABLE_STATES,
            target="PowerOFF",
            wait_for=wait_for,
        )

    def power_shutdown_vm(self, vm_name: str, wait_for: bool = True) -> None:
        """Shut the guest OS down cleanly (``POST /api/vm/<vm_id>/shutdown/``).

        Like :meth:`power_off_vm` (same arguments, result, waiting and errors), but the
        guest OS shuts down by itself, so the VM must be PowerON (else
        :class:`MdxConflictError`); does nothing if it is already PowerOFF or Deallocated.

        Example::

            mdx.power_shutdown_vm("vm-01")
        """
        self._vm_action(
            vm_name,
            "power_shutdown_vm",
            "shutdown",
            allowed=("PowerON",),
            done=settings.DELETABLE_STATES,
            target="PowerOFF",
            wait_for=wait_for,
        )

    def reboot_vm(self, vm_name: str, wait_for: bool = True) -> None:
        """Reboot a running VM (``POST /api/vm/<vm_id>/reboot/``).

        Arguments and errors as :meth:`power_off_vm`, except that the VM must be PowerON
        (else :class:`MdxConflictError`) and ``wait_for`` waits until it reports PowerON
        again (:class:`MdxTimeoutError` if not in time).

        Example::

            mdx.reboot_vm("vm-01")
        """
        self._vm_action(
            vm_name, "reboot_vm", "reboot", allowed=("PowerON",), done=(), target="PowerON", wait_for=wait_for
        )

    def destroy_vm(self, vm_name: str, wait_for: bool = True) -> None:
        """Delete a VM (``POST /api/vm/<vm_id>/destroy/``); it must be PowerOFF first.

        Args:
            vm_name: the VM's name in the current project.
            wait_for: wait until mdx no longer knows the VM (``GET /api/vm/<vm_id>/``
                answers 404), polling every ``SLEEP_TIME_SEC`` s up to ``SLEEP_COUNT`` times.
                After that :meth:`get_vm_info` returns ``None``.

        Returns:
            ``None``.

        Raises:
            MdxNotFoundError: no such VM.
            MdxConflictError: the VM is not PowerOFF (or Deallocated): call
                :meth:`power_off_vm` first.  Nothing is sent to mdx then.
            MdxTimeoutError: the VM still exists after ``SLEEP_COUNT`` polls.
            MdxRestError, MdxAuthError, MdxConnectionError: as :meth:`get_vm_info`.

        Example::

            mdx.power_off_vm("vm-01")
            mdx.destroy_vm("vm-01")
            assert mdx.get_vm_info("vm-01") is None
        """
        what = "destroy_vm"
        vm_id, status = self._vm_status(vm_name, what)
        if status not in settings.DELETABLE_STATES:
            fail(
                MdxConflictError,
                f"mdx: destroy_vm: VM {vm_name!r} is {status}, not PowerOFF: "
                f"call power_off_vm({vm_name!r}) first",
            )
        self._request(
            "POST", f"/api/vm/{vm_id}/destroy/", f"{what}({vm_name})", expected=(200, 202, 204), decode=False
        )
        logger.info("mdx: destroy_vm(%s) requested", vm_name)
        if not wait_for:
            return
        count = int(settings.SLEEP_COUNT)
        try:
            self._poll_count(
                lambda: self._vm_info_by_id(vm_id, f"{what}({vm_name})"),
                lambda info: info is None,
                count=count,
                pause_first=True,
            )
        except PollTimeout:
            fail(
                MdxTimeoutError,
                f"mdx: destroy_vm: VM {vm_name!r} still exists after {count} polls every "
                f"{settings.SLEEP_TIME_SEC} s",
            )
        logger.info("mdx: VM %s is destroyed", vm_name)
