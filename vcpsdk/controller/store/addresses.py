"""Address claims: the database, not a process lock, keeps node addresses unique.

Every address the controller chooses for a node is a row of ``address_claims``
(:class:`~vcpsdk.controller.store.models.AddressClaim`), whose primary key is the
address: a second claim of an address fails with :class:`sqlalchemy.exc.IntegrityError`,
whichever replica makes it.  A request plans its addresses in one write transaction:

1. :func:`planning_lock` — on PostgreSQL the transaction takes the advisory lock
   :data:`ADDRESS_LOCK_KEY` (held until it ends), so that the planners of all replicas
   take turns and a planner always sees the claims of the one before it (SQLite needs no
   lock: its write transactions take turns already);
2. :func:`addresses_in_use` — the claims, and the addresses the nodes have (a cloud that
   assigns addresses itself reports them after creation, without a claim);
3. the backend chooses free addresses, and :func:`claim_addresses` claims them all, also
   those of nodes a large request writes in later transactions;
4. the worker deletes a node with :func:`release_addresses`, and so does a request that
   takes its nodes back.

Example::

    with store.transaction() as session:
        planning_lock(session)
        taken = addresses_in_use(session)
        claim_addresses(session, {"127.30.2.10": node_id})   # AddressTaken if not free
    ...
    with store.transaction() as session:
        release_addresses(session, [node_id])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping

from sqlalchemy import delete, exists, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vcpsdk.controller.store.models import AddressClaim, Node

__all__ = [
    "ADDRESS_LOCK_KEY",
    "AddressTaken",
    "addresses_in_use",
    "claim_addresses",
    "planning_lock",
    "release_addresses",
    "release_unwritten",
]

#: PostgreSQL advisory lock held by the transaction that plans addresses
#: (``pg_advisory_xact_lock``; a 64-bit number no other lock of the controller uses)
ADDRESS_LOCK_KEY = 0x7663_6361_6464_7273  # "vccaddrs"


class AddressTaken(Exception):
    """Addresses that another node claimed first (the database refused the claim).

    Attributes:
        addresses: the refused addresses, sorted.
    """

    def __init__(self, addresses: Collection[str]) -> None:
        """Args:
        addresses: the addresses another node holds.
        """
        self.addresses = sorted(addresses)
        super().__init__(f"address(es) already claimed: {', '.join(self.addresses)}")


def planning_lock(session: Session) -> None:
    """Take turns with the planners of other replicas until ``session``'s transaction ends.

    Call it before :func:`addresses_in_use`: on PostgreSQL it waits for the advisory lock
    :data:`ADDRESS_LOCK_KEY`, which the transaction holds until its commit or rollback, so
    the claims of the planner before it are committed and seen (read committed: every
    statement sees what committed before it).  While it holds the lock, a planner should
    lock only rows that are its request's alone (its nodes, unit and UnitGroup), so that
    planners never wait for each other in a circle.  Taking it twice in one transaction is
    harmless.  On SQLite it does nothing (a write transaction there already excludes every
    other writer).

    Args:
        session: a write transaction.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADDRESS_LOCK_KEY})


def addresses_in_use(session: Session) -> set[str]:
    """Every address a node holds: the claims, and the addresses of compute nodes.

    Args:
        session: the planning transaction (after :func:`planning_lock`).

    Returns:
        The addresses no new node may get.
    """
    claimed = set(session.scalars(select(AddressClaim.address)))
    nodes = select(Node.address).where(Node.kind == "compute", Node.address.is_not(None))
    return claimed | {address for address in session.scalars(nodes) if address is not None}


def claim_addresses(session: Session, claims: Mapping[str, str] | Iterable[tuple[str, str]]) -> None:
    """Claim addresses for new nodes; all of them, or none.

    The claims are inserted in a savepoint: when the database refuses one (another node
    claimed the address first, or ``claims`` names an address twice) the savepoint is
    rolled back and the transaction can go on, e.g. to plan again.

    Args:
        session: the planning transaction.
        claims: ``{address: node_id}``, or ``(address, node_id)`` pairs; nodes without
            an address have no entry.

    Raises:
        AddressTaken: naming the addresses another node holds (or named twice); none of
            ``claims`` is kept.

    Example::

        claim_addresses(session, {"127.30.2.10": "2b1f...", "127.30.2.11": "9c0e..."})
    """
    pairs = list(claims.items() if isinstance(claims, Mapping) else claims)
    if not pairs:
        return
    rows = [{"address": address, "node_id": node_id} for address, node_id in pairs]
    try:
        with session.begin_nested():
            session.execute(insert(AddressClaim), rows)
    except IntegrityError:
        wanted = [address for address, _ in pairs]
        twice = {address for address, times in Counter(wanted).items() if times > 1}
        ours = {node_id for _, node_id in pairs}
        holders = session.execute(
            select(AddressClaim.address, AddressClaim.node_id).where(AddressClaim.address.in_(wanted))
        )
        taken = {row.address for row in holders if row.node_id not in ours}
        raise AddressTaken(taken | twice or set(wanted)) from None


def release_addresses(session: Session, node_ids: Collection[str]) -> None:
    """Free the addresses of ``node_ids`` (deleted nodes, or nodes never made).

    Args:
        session: a write transaction (the one that deletes the nodes).
        node_ids: the nodes whose claims end; unknown ids are ignored.
    """
    if node_ids:
        session.execute(delete(AddressClaim).where(AddressClaim.node_id.in_(list(node_ids))))


def release_unwritten(session: Session) -> int:
    """Free the claims of nodes that do not exist: a large request cut off by a crash
    claimed addresses for nodes it never wrote.

    Call it only where no request can be writing its nodes in batches (the claims of
    those nodes precede them), e.g. where the worker gives up on such cut-off requests.

    Args:
        session: a write transaction.

    Returns:
        How many claims were freed.
    """
    node = exists().where(Node.node_id == AddressClaim.node_id)
    result = session.execute(delete(AddressClaim).where(~node).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
