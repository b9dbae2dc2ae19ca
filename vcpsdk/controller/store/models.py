"""The controller's tables (SQLAlchemy ORM models).

Tables: ``meta`` (controller identity), ``tokens`` (hashed), ``vcs`` (UnitGroups),
``units``, ``nodes`` (compute nodes and disks), ``operations`` (the work queue
the worker drains), and for replicas sharing one database: ``replicas`` (who is alive,
until when), ``leases`` (which replica hosts what, e.g. the sandbox's nodes) and
``address_claims`` (one row per address the controller chose: the database refuses a
second claim).  Every change inside a UnitGroup bumps ``vcs.revision`` so that
long-polling clients can wait for "anything changed".  A change of these models needs a
new revision under ``migrations/versions/`` (see ``vcpsdk.controller.store.schema``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    """Current UTC time without tzinfo (what the columns store)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def format_date(value: dt.datetime | None) -> str:
    """Dates as the original controller shows them: ``2021/03/10 06:13:35 UTC``."""
    return value.strftime("%Y/%m/%d %H:%M:%S UTC") if value else ""


class Base(DeclarativeBase):
    """Declarative base of the controller's tables."""


class Meta(Base):
    """Key/value facts about this controller (its id, name, SSH key)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Token(Base):
    """An access token, stored only as its SHA-256 hash."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    user_name: Mapped[str] = mapped_column(String(128), index=True)
    superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Vc(Base):
    """A UnitGroup ("VC" on the wire)."""

    __tablename__ = "vcs"
    vcid: Mapped[str] = mapped_column(String(32), primary_key=True)
    vcno: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(128), index=True)
    type: Mapped[str] = mapped_column(String(16))
    deleting: Mapped[bool] = mapped_column(Boolean, default=False)
    cdate: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revision: Mapped[int] = mapped_column(Integer, default=0)


class Unit(Base):
    """A unit: homogeneous nodes (or disks) built from one unit CCI."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("vcid", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vcid: Mapped[str] = mapped_column(ForeignKey("vcs.vcid"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    processing: Mapped[bool] = mapped_column(Boolean, default=False)
    error_message: Mapped[str] = mapped_column(Text, default="")
    info: Mapped[str] = mapped_column(Text)  # the unit CCI, base64, as received
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # the parsed, checked CCI
    cdate: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    mdate: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Node(Base):
    """A compute node or a disk of a storage unit."""

    __tablename__ = "nodes"
    node_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    vcid: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # compute | storage
    node_no: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    instance_id: Mapped[str] = mapped_column(String(128), default="")
    boot_date: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    container_date: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    watch_mode: Mapped[bool] = mapped_column(Boolean, default=True)
    error_message: Mapped[str] = mapped_column(Text, default="")
    volumes: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    disk_refs: Mapped[list[str]] = mapped_column(JSON, default=list)  # disks attached
    disk_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attached_to: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    ssh_port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    backend_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cdate: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Operation(Base):
    """Queued work for the worker; ``pending`` → ``running`` → ``done``/``failed``."""

    __tablename__ = "operations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vcid: Mapped[str] = mapped_column(String(32), index=True)
    unit_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    node_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: the replica running it (``replicas.id``); a claim whose replica's lease ran out is taken over
    claimed_by: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    #: how many times a replica started it (> 1: taken over after a replica died)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Replica(Base):
    """A running controller process on this database; alive while ``lease_until`` is ahead."""

    __tablename__ = "replicas"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    lease_until: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class Lease(Base):
    """Something only one replica may do at a time (``sandbox``: host the sandbox's nodes);
    held while its holder's replica lease is alive."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(32), nullable=True)
    since: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class AddressClaim(Base):
    """An address the controller chose for a node: the primary key makes it the node's alone."""

    __tablename__ = "address_claims"
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(32), index=True)


class VaultSecret(Base):
    """A cubbyhole secret: private to one token, stored sealed (see controller/secrets.py)."""

    __tablename__ = "vault_secrets"
    __table_args__ = (UniqueConstraint("token_hash", "path"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), index=True)
    path: Mapped[str] = mapped_column(String(512))
    sealed: Mapped[str] = mapped_column(Text)
