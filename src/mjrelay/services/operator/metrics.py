"""Prometheus metrics, in a registry per relay (so several relays in one process never clash).

Counters are fed by the lifecycle listener and the callback worker; gauges that describe the
database (unfinished tasks, queue depth, ledger totals, outbox) are refreshed at scrape time.
"""

from __future__ import annotations

from collections import OrderedDict

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select

from mjrelay.domain.record import TaskRecord
from mjrelay.domain.task import TaskStatus
from mjrelay.store.db import Database
from mjrelay.store.models import TaskRow
from mjrelay.store.tasks import UNFINISHED

LATENCY_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800)
_SEEN_LIMIT = 50_000
_WAITING = (TaskStatus.NOT_START.value, TaskStatus.SUBMITTED.value)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.tasks_created = Counter(
            "mjrelay_tasks_created", "Tasks accepted.", ["action", "engine"], registry=r
        )
        self.tasks_finished = Counter(
            "mjrelay_tasks_finished",
            "Tasks that reached a final status.",
            ["status", "action", "engine"],
            registry=r,
        )
        self.tasks = Gauge(
            "mjrelay_tasks_unfinished",
            "Unfinished tasks by status, action and engine (at scrape time).",
            ["status", "action", "engine"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "mjrelay_queue_depth",
            "Tasks accepted but not yet started, per engine (at scrape time).",
            ["engine"],
            registry=r,
        )
        self.engine_seconds = Histogram(
            "mjrelay_engine_seconds",
            "Engine time from start to a final status.",
            ["engine", "action", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.wait_seconds = Histogram(
            "mjrelay_queue_wait_seconds",
            "Time from submit to the engine starting the job.",
            ["engine"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.callbacks = Counter(
            "mjrelay_callback_deliveries",
            "Callback outcomes: delivered, failed_attempt, gave_up, superseded.",
            ["result"],
            registry=r,
        )
        self.callback_seconds = Histogram(
            "mjrelay_callback_seconds", "Duration of callback HTTP attempts.", registry=r
        )
        self.callback_outbox = Gauge(
            "mjrelay_callback_outbox",
            "Callback rows by state (at scrape time).",
            ["state"],
            registry=r,
        )
        self.channel_in_flight = Gauge(
            "mjrelay_channel_in_flight",
            "Unfinished jobs this instance runs per channel (at scrape time).",
            ["channel"],
            registry=r,
        )
        self.channel_breaker_open = Gauge(
            "mjrelay_channel_breaker_open",
            "1 when a channel's circuit breaker is open or half-open, else 0 (at scrape time).",
            ["channel"],
            registry=r,
        )
        self.ledger = Gauge(
            "mjrelay_ledger_amount",
            "Ledger totals in currency units by entry kind (at scrape time).",
            ["kind"],
            registry=r,
        )
        self.ledger_moves = Counter(
            "mjrelay_ledger_events",
            "Reservations closed by this process: settle or refund.",
            ["kind"],
            registry=r,
        )
        self.rate_limited = Counter(
            "mjrelay_rate_limited", "Requests refused with 429.", ["reason"], registry=r
        )
        self._finished: OrderedDict[str, None] = OrderedDict()

    async def on_task(self, record: TaskRecord) -> None:
        """Lifecycle listener: count creations and (once per task) final states."""
        task = record.task
        if record.version == 1:
            self.tasks_created.labels(task.action.value, record.engine).inc()
        if not task.status.is_final or record.id in self._finished:
            return
        self._finished[record.id] = None
        if len(self._finished) > _SEEN_LIMIT:
            self._finished.popitem(last=False)
        self.tasks_finished.labels(task.status.value, task.action.value, record.engine).inc()
        if task.start_time and task.finish_time:
            self.engine_seconds.labels(record.engine, task.action.value, task.status.value).observe(
                max(0, task.finish_time - task.start_time) / 1000
            )
        if task.start_time and task.submit_time:
            self.wait_seconds.labels(record.engine).observe(
                max(0, task.start_time - task.submit_time) / 1000
            )

    async def refresh_tasks(self, db: Database) -> None:
        statement = (
            select(TaskRow.status, TaskRow.action, TaskRow.engine, func.count())
            .where(TaskRow.status.in_(UNFINISHED))
            .group_by(TaskRow.status, TaskRow.action, TaskRow.engine)
        )
        async with db.engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        self.tasks.clear()
        self.queue_depth.clear()
        depth: dict[str, int] = {}
        for status, action, engine, count in rows:
            self.tasks.labels(status, action, engine).set(count)
            if status in _WAITING:
                depth[engine] = depth.get(engine, 0) + int(count)
        for engine, count in depth.items():
            self.queue_depth.labels(engine).set(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)
