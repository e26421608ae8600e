"""Tables. The task row keeps its wire JSON pre-serialized so fetch is one indexed read of bytes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON}


class TenantRow(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # None means unlimited; enforced by the ledger.
    quota: Mapped[Decimal | None] = mapped_column(Numeric(18, 4), nullable=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The spendable balance in ledger units (core.money); None = unlimited. Only the ledger
    # changes it, with conditional updates, so it can never go below zero.
    balance_units: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Signs this key's notifyHook callbacks (created on first use).
    callback_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Per-key overrides of the rate-limit settings (None = use the settings).
    rate_per_second: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_in_flight: Mapped[int | None] = mapped_column(Integer, nullable=True)


class TaskRow(Base):
    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    parent_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    engine: Mapped[str] = mapped_column(String(64))
    submit_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    deadline_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # What the engine needs to run or resume the job, and what it learned while running it.
    job: Mapped[dict[str, Any]] = mapped_column(JSON)
    engine_state: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The wire JSON, serialized once per change (image URLs carry a base-URL marker).
    wire: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        Index("ix_tasks_tenant_id_id", "tenant_id", "id"),
        Index("ix_tasks_status_deadline", "status", "deadline_ms"),
    )


class LedgerEntryRow(Base):
    """Append-only: every movement of money, with the task it belongs to.

    ``stage`` is 'open' for a task's reservation and 'close' for its settlement or refund; the
    unique (task_id, stage) makes a second reservation, settlement or refund of one task
    impossible, whatever the concurrency. Top-ups have no task (NULLs never collide).
    """

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    tenant_id: Mapped[int] = mapped_column(Integer)
    task_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # reserve, settle, refund, topup, adjust
    stage: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # Signed change of the balance; price_units is the task's price on task rows.
    amount_units: Mapped[int] = mapped_column(BigInteger)
    price_units: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_after_units: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    action: Mapped[str] = mapped_column(String(32), default="")
    mode: Mapped[str] = mapped_column(String(16), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    created_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("task_id", "stage", name="uq_ledger_entries_task_id_stage"),
        Index("ix_ledger_entries_key_id_id", "key_id", "id"),
        Index("ix_ledger_entries_kind_created", "kind", "created_ms"),
    )


class TaskHookRow(Base):
    """A task's notifyHook and the base URL its callbacks use; written with the task row."""

    __tablename__ = "task_hooks"

    task_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_id: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(2048))
    base_url: Mapped[str] = mapped_column(String(500))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class CallbackRow(Base):
    """The outbox: one row per task state to deliver, in ``version`` order per task."""

    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(2048))
    task_status: Mapped[str] = mapped_column(String(16))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16))  # pending, delivered, failed, superseded
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_ms: Mapped[int] = mapped_column(BigInteger)
    lease_until_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    give_up_ms: Mapped[int] = mapped_column(BigInteger)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    finished_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (
        UniqueConstraint("task_id", "version", name="uq_callbacks_task_id_version"),
        Index("ix_callbacks_state_next", "state", "next_attempt_ms"),
    )


class CallbackAttemptRow(Base):
    """The delivery log the tenant reads: one row per HTTP attempt."""

    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey("callbacks.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(32), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at_ms: Mapped[int] = mapped_column(BigInteger)
    duration_ms: Mapped[int] = mapped_column(Integer)
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(String(300), default="")


class PriceRow(Base):
    """Operator price overrides (admin API); settings hold the defaults."""

    __tablename__ = "prices"

    item: Mapped[str] = mapped_column(String(40), primary_key=True)  # ACTION or mode:<name>
    units: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class AuditRow(Base):
    """Every admin change: who (admin API or CLI), what, to what, with which values."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at_ms: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class ChannelRow(Base):
    """A channel (see ``domain.channel``). ``state`` is engine-owned runtime state (e.g. a Discord
    account's session), ``lease_*`` let one of several instances own a channel's polling."""

    __tablename__ = "channels"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    engine: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    modes: Mapped[list[str]] = mapped_column(JSON)
    max_concurrency: Mapped[int] = mapped_column(Integer, default=0)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


# Polling asks "unfinished tasks of channel X"; declared here so the ORM metadata matches 0003.
Index("ix_tasks_engine_status", TaskRow.engine, TaskRow.status)
