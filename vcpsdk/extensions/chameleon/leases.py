"""Blazar leases: the lease object (status, wait, extend, delete) and the lease-making base."""

from __future__ import annotations

import copy
import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

from vcpsdk.core.polling import PollTimeout, poll
from vcpsdk.extensions.chameleon import dates, settings
from vcpsdk.extensions.chameleon.dates import format_date, minute, parse_date
from vcpsdk.extensions.chameleon.errors import (
    ChameleonConflictError,
    ChameleonError,
    ChameleonInvalidArgumentError,
    ChameleonLeaseError,
    ChameleonTimeoutError,
    fail,
    logger,
)
from vcpsdk.extensions.chameleon.openrc import VcpChameleonOpenrc
from vcpsdk.extensions.chameleon.settings import (
    DEAD_STATUSES,
    EXTENSION_WINDOW_HOURS,
    HOST_RESOURCE_TYPE,
)


class LeaseOwner(VcpChameleonOpenrc):
    """The base of the extensions that make leases (hosts, networks) and of the lease object."""

    def _new_lease_info(self) -> VcpExtResourceChameleonHostLeaseInfo:
        info = VcpExtResourceChameleonHostLeaseInfo(
            "chameleon_host_lease_info", self._config_dir, self._vcc_token, self.verbose
        )
        self._share_auth(info)
        return info

    def _create_lease(self, body: dict[str, Any], what: str) -> dict[str, Any]:
        answer = self._api("reservation", "POST", "/leases", what, body=body, expected=(200, 201, 202))
        lease = answer.get("lease", answer) if isinstance(answer, Mapping) else None
        if not isinstance(lease, Mapping) or not lease.get("id"):
            fail(ChameleonError, f"chameleon: {what}: Blazar's answer holds no lease id")
        logger.info(
            "chameleon: lease %s (%s) created, status %s", lease.get("name"), lease["id"], lease.get("status")
        )
        return dict(lease)

    @staticmethod
    def _lease_name(prefix: str | None, kind: str) -> str:
        stamp = dates.utcnow().strftime("%Y%m%d%H%M")
        return f"{prefix or 'vcp'}-{kind}-{stamp}-{secrets.token_hex(3)}"

    @staticmethod
    def _lease_dates(start_date: Any, end_date: Any) -> tuple[str, str, str]:
        """(start shown, start sent, end) for a new lease; ``None`` start is "now"."""
        now = minute(dates.utcnow())
        if start_date is None:
            start = now
            sent = "now"
        else:
            start = parse_date(start_date, "start_date")
            if start.second or start.microsecond:
                start = minute(start)
            if start < now:
                fail(
                    ChameleonInvalidArgumentError,
                    f"chameleon: start_date {format_date(start)} is in the past (now is "
                    f"{format_date(now)} UTC); pass None to start now",
                )
            sent = format_date(start)
        end = start + dt.timedelta(days=1) if end_date is None else parse_date(end_date, "end_date")
        end = minute(end)
        if end <= start:
            fail(
                ChameleonInvalidArgumentError,
                f"chameleon: end_date {format_date(end)} must be later than start_date {format_date(start)}",
            )
        return format_date(start), sent, format_date(end)


# --------------------------------------------------------------------- host leases


class VcpExtResourceChameleonHostLeaseInfo(LeaseOwner):
    """A Blazar lease: its ids, its status, and what can be done with it.

    Returned by :meth:`VcpExtResourceChameleon.reserve_host` (and by
    :meth:`VcpExtResourceChameleonNetwork.create_network` for a network lease), or made by
    ``vcp.get_extension("chameleon_host_lease_info")`` followed by :meth:`setup` for a lease
    reserved earlier.

    Attributes:
        host_lease_id: the lease's id (for :meth:`setup`, and what :meth:`delete` deletes).
        reservation_id: the id of the lease's ``physical:host`` reservation (for a network
            lease, of its network reservation): the value for ``spec.reservation``.
        status: the lease status as last fetched: ``STARTING`` (being created), ``PENDING``
            (its start time is not reached), ``ACTIVE``, ``ERROR``, or another Blazar status
            (see :data:`LEASE_STATUSES`); ``DELETED`` after :meth:`delete`.
        lease_name, start_date, end_date: as Blazar has them (dates as UTC
            ``"YYYY-mm-dd HH:MM"``).
        lease: the whole lease as Blazar last answered it (a copy).
        vpn_catalog: the VPN catalog passed to :meth:`setup`, if any.

    Args:
        provider_name, config_dir, token, verbose: as :class:`VcpChameleonOpenrc`.

    Example::

        info = vcp.get_extension("chameleon_host_lease_info")
        info.setup(host_lease_id)
        print(info.status, info.reservation_id, info.end_date)
    """

    def _init_attributes(self) -> None:
        self.host_lease_id: str | None = None
        self.reservation_id: str | None = None
        self.status: str | None = None
        self.lease_name: str | None = None
        self.start_date: str | None = None
        self.end_date: str | None = None
        self.lease: dict[str, Any] = {}
        self.vpn_catalog: Any = None

    def __repr__(self) -> str:
        return (
            f"VcpExtResourceChameleonHostLeaseInfo(host_lease_id={self.host_lease_id!r}, "
            f"reservation_id={self.reservation_id!r}, status={self.status!r}, "
            f"end_date={self.end_date!r})"
        )

    def _apply(self, lease: Mapping[str, Any]) -> None:
        self.lease = copy.deepcopy(dict(lease))
        self.host_lease_id = str(lease.get("id") or self.host_lease_id)
        self.lease_name = lease.get("name", self.lease_name)
        self.status = str(lease.get("status") or "") or None
        for key in ("start_date", "end_date"):
            value = lease.get(key)
            if value:
                try:
                    setattr(self, key, format_date(parse_date(value, key)))
                except ChameleonInvalidArgumentError:
                    setattr(self, key, str(value))
        reservations = [r for r in lease.get("reservations") or [] if isinstance(r, Mapping)]
        hosts = [r for r in reservations if r.get("resource_type") == HOST_RESOURCE_TYPE]
        chosen = (hosts or reservations)[0] if (hosts or reservations) else None
        self.reservation_id = str(chosen["id"]) if chosen and chosen.get("id") else None

    def _require_lease(self, what: str) -> str:
        if not self.host_lease_id:
            fail(
                ChameleonError,
                f"chameleon: {what}: no lease: call setup(host_lease_id) "
                "first, or use the object returned by reserve_host()",
            )
        return self.host_lease_id

    def setup(self, host_lease_id: str, vpn_catalog: Any = None) -> None:
        """Attach this object to an existing lease and fetch it (``GET /v1/leases/<id>``).

        Args:
            host_lease_id: the lease's id (``host_lease_id`` of an earlier reservation).
            vpn_catalog: the VPN catalog (``vcp.get_vpn_catalog("chameleon")``); kept for
                reference, optional.

        Returns:
            ``None``; ``reservation_id``, ``status`` and the dates are filled.

        Raises:
            ChameleonInvalidArgumentError: ``host_lease_id`` is not a non-empty string.
            ChameleonNotFoundError: Blazar has no such lease.
            ChameleonConfigError, ChameleonAuthError, ChameleonConnectionError: as
                :meth:`VcpChameleonOpenrc.authenticate`.

        Example::

            info = vcp.get_extension("chameleon_host_lease_info")
            info.setup("8f0e...", vcp.get_vpn_catalog("chameleon"))
            spec.reservation = info.reservation_id
        """
        if not isinstance(host_lease_id, str) or not host_lease_id.strip():
            fail(
                ChameleonInvalidArgumentError,
                f"chameleon: setup: host_lease_id must be a non-empty string, not {host_lease_id!r}",
            )
        self.host_lease_id = host_lease_id.strip()
        self.vpn_catalog = vpn_catalog
        self.update()

    def update(self) -> str | None:
        """Fetch the lease again (``GET /v1/leases/<id>``) and refresh the attributes.

        Returns:
            the lease's status (also in :attr:`status`).

        Raises:
            ChameleonError: no lease (neither ``setup()`` nor ``reserve_host()`` made this
                object).
            ChameleonNotFoundError: the lease no longer exists (deleted, or expired and purged).
            ChameleonAuthError, ChameleonConnectionError: as
                :meth:`VcpChameleonOpenrc.authenticate`.

        Example::

            while info.update() != "ACTIVE":
                time.sleep(30)
        """
        lease_id = self._require_lease("update")
        answer = self._api("reservation", "GET", f"/leases/{lease_id}", f"update({lease_id})")
        lease = answer.get("lease", answer) if isinstance(answer, Mapping) else None
        if not isinstance(lease, Mapping):
            fail(ChameleonError, f"chameleon: update({lease_id}): Blazar's answer holds no lease")
        self._apply(lease)
        return self.status

    def wait(self, timeout: float | None = None, interval: float | None = None) -> None:
        """Block until the lease is ``ACTIVE``, polling it with :meth:`update`.

        Args:
            timeout: seconds to wait from now; by default ``WAIT_TIMEOUT_SEC`` after the
                lease's start time (so a lease that starts tomorrow is waited for until then).
            interval: seconds between two polls (default ``WAIT_INTERVAL_SEC``).

        Returns:
            ``None``, once :attr:`status` is ``ACTIVE``.

        Raises:
            ChameleonLeaseError: the lease is (or goes) ``ERROR``, or ends (``TERMINATED``...).
            ChameleonTimeoutError: the lease is not ACTIVE in time (it may still become so).
            ChameleonNotFoundError: the lease was deleted meanwhile.
            ChameleonAuthError, ChameleonConnectionError: as :meth:`update`.

        Example::

            lease = ext.reserve_host()
            lease.wait()
            spec.reservation = lease.reservation_id
        """
        lease_id = self._require_lease("wait")
        pause = settings.WAIT_INTERVAL_SEC if interval is None else float(interval)
        if pause < 0:
            fail(ChameleonInvalidArgumentError, f"chameleon: wait: interval must be ≥ 0, not {interval}")
        started = dates.utcnow()
        status = self.update()
        if timeout is None:
            begin = started
            if self.start_date:
                try:
                    begin = max(started, parse_date(self.start_date))
                except ChameleonInvalidArgumentError:
                    pass
            deadline = begin + dt.timedelta(seconds=float(settings.WAIT_TIMEOUT_SEC))
        else:
            deadline = started + dt.timedelta(seconds=float(timeout))
        first: list[str | None] = [status]
        polls = 0

        def fetch() -> str | None:
            nonlocal polls
            polls += 1
            return first.pop() if first else self.update()

        def progress(last: str | None, _elapsed: float) -> None:
            logger.info("%s ... lease %s (poll %d)", last, lease_id, polls)

        try:
            status = poll(
                fetch,
                lambda s: s == "ACTIVE" or s in DEAD_STATUSES,
                timeout=(deadline - dates.utcnow()).total_seconds(),
                interval=pause,
                clock=self.clock,
                progress=progress,
                progress_interval=pause,
            )
        except PollTimeout:
            fail(
                ChameleonTimeoutError,
                f"chameleon: wait: lease {lease_id} is still {self.status} after {polls} "
                f"poll(s) (start {self.start_date} UTC); it may become ACTIVE later: "
                "call wait() again or update()",
            )
        if status in DEAD_STATUSES:
            fail(
                ChameleonLeaseError,
                f"chameleon: wait: lease {self.lease_name or ''} ({lease_id}) is {status}; "
                "it will not become ACTIVE",
                server_message=self._lease_fault(),
            )
        logger.info("chameleon: lease %s is ACTIVE", lease_id)

    def _lease_fault(self) -> str | None:
        for key in ("status_reason", "fault", "degraded_reason"):
            value = self.lease.get(key)
            if isinstance(value, str) and value:
                return self._http.redact_text(value)
        return None

    def delete(self) -> None:
        """Delete the lease (``DELETE /v1/leases/<id>``), freeing its hosts or network.

        Delete the UnitGroup's units first: Chameleon ends the instances of a deleted lease.

        Returns:
            ``None``; :attr:`status` becomes ``DELETED``.

        Raises:
            ChameleonError: no lease attached to this object.
            ChameleonNotFoundError: the lease does not exist (already deleted?).
            ChameleonConflictError: Blazar refused (HTTP 409).
            ChameleonAuthError, ChameleonConnectionError: as :meth:`update`.

        Example::

            ugroup.cleanup()
            lease.delete()
        """
        lease_id = self._require_lease("delete")
        self._api(
            "reservation", "DELETE", f"/leases/{lease_id}", f"delete({lease_id})", expected=(200, 202, 204)
        )
        logger.info("chameleon: lease %s deleted", lease_id)
        self.status = "DELETED"

    def extend(self, weeks: int | None = None, days: int | None = None, hours: int | None = None) -> None:
        """Move the lease's end later (``PUT /v1/leases/<id>`` with a new ``end_date``).

        Give one unit.  If several are given, only the longest counts (weeks, then days,
        then hours: ``extend(days=2, hours=5)`` adds 2 days).  With none, 1 day is added.
        Chameleon allows an extension only within :data:`EXTENSION_WINDOW_HOURS` (48) hours
        before the lease ends; earlier (or once it has ended) this raises without asking
        Blazar.  Chameleon may still refuse (e.g. hosts reserved by someone else afterwards,
        or a lease longer than its maximum): that raises too.

        Args:
            weeks: weeks to add (a positive integer).
            days: days to add (a positive integer).
            hours: hours to add (a positive integer).

        Returns:
            ``None``; :attr:`end_date` and :attr:`status` are refreshed.

        Raises:
            ChameleonInvalidArgumentError: a unit is not a positive integer.
            ChameleonConflictError: the lease ends more than 48 h from now, has already
                ended, or Blazar refused the extension (HTTP 409).
            ChameleonError: no lease attached, or Blazar refused otherwise (the HTTP status
                and Blazar's message are in the error).
            ChameleonAuthError, ChameleonConnectionError: as :meth:`update`.

        Example::

            lease.extend()            # one more day
            lease.extend(hours=6)
        """
        lease_id = self._require_lease("extend")
        given = {"weeks": weeks, "days": days, "hours": hours}
        for name, value in given.items():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                fail(
                    ChameleonInvalidArgumentError,
                    f"chameleon: extend: {name} must be a positive integer, not {value!r}",
                )
        if weeks is not None:
            delta, shown = dt.timedelta(weeks=weeks), f"{weeks} week(s)"
        elif days is not None:
            delta, shown = dt.timedelta(days=days), f"{days} day(s)"
        elif hours is not None:
            delta, shown = dt.timedelta(hours=hours), f"{hours} hour(s)"
        else:
            delta, shown = dt.timedelta(days=1), "1 day(s)"
        if sum(v is not None for v in given.values()) > 1:
            logger.info("chameleon: extend: several units given; the longest counts: +%s", shown)
        self.update()
        if not self.end_date:
            fail(ChameleonError, f"chameleon: extend: lease {lease_id} has no end date")
        end = parse_date(self.end_date, "end_date")
        now = dates.utcnow()
        if end <= now:
            fail(
                ChameleonConflictError,
                f"chameleon: extend: lease {lease_id} ended at {self.end_date} UTC; an ended "
                "lease cannot be extended: reserve again",
            )
        window = dt.timedelta(hours=EXTENSION_WINDOW_HOURS)
        if end - now > window:
            left = (end - now).total_seconds() / 3600
            fail(
                ChameleonConflictError,
                f"chameleon: extend: lease {lease_id} ends at {self.end_date} UTC, "
                f"{left:.1f} h from now; Chameleon allows extending a lease only within "
                f"{EXTENSION_WINDOW_HOURS} h before it ends, i.e. from "
                f"{format_date(end - window)} UTC",
            )
        new_end = format_date(end + delta)
        answer = self._api(
            "reservation",
            "PUT",
            f"/leases/{lease_id}",
            f"extend({lease_id})",
            body={"end_date": new_end},
            expected=(200, 202),
        )
        lease = answer.get("lease", answer) if isinstance(answer, Mapping) else None
        if isinstance(lease, Mapping) and lease.get("id"):
            self._apply(lease)
        else:
            self.update()
        logger.info("chameleon: lease %s extended by %s to %s UTC", lease_id, shown, self.end_date)


# --------------------------------------------------------------------- host reservation
