"""The operator layer in one object: ledger, prices, rate limits, callbacks, metrics, admin.

``Relay.build`` creates it, hands its ``gate`` to the task service (charges, in-flight slots and
hooks at submit) and registers ``on_task`` with the lifecycle (settle or refund at a final
status, free the slot, queue callbacks, count metrics).
"""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncConnection

from mjrelay.core.background import Periodic, run_periodically
from mjrelay.core.errors import RateLimited
from mjrelay.core.logging import get_logger
from mjrelay.core.settings.operator import RateLimitSettings
from mjrelay.domain.record import TaskRecord
from mjrelay.domain.task import TaskStatus
from mjrelay.services.operator.callbacks import CallbackService
from mjrelay.services.operator.metrics import Metrics
from mjrelay.services.operator.pricing import PriceBook
from mjrelay.services.operator.ratelimit import Limiter
from mjrelay.services.tasks.admission import Submitter
from mjrelay.services.tasks.lifecycle import TaskLifecycle
from mjrelay.store.callbacks import CallbackStore, Hook
from mjrelay.store.keys import KeyAccounts, Principal
from mjrelay.store.ledger import Charge, LedgerStore
from mjrelay.store.tasks import InsertHook

log = get_logger("mjrelay.operator")

LIMITS_CACHE_SECONDS = 5.0
RECONCILE_SECONDS = 60.0


class Operator:
    """The paid side of the relay: ledger, limits, callbacks, admin use cases and metrics.

    It receives its stores and collaborators ready-made (``mjrelay.wiring`` builds them), and of
    the settings only the default rate limits it applies to keys without their own.
    """

    def __init__(
        self,
        *,
        ledger: LedgerStore,
        accounts: KeyAccounts,
        prices: PriceBook,
        limiter: Limiter,
        callbacks: CallbackService,
        metrics: Metrics,
        rate_limits: RateLimitSettings,
    ) -> None:
        self.metrics = metrics
        self.ledger = ledger
        self.accounts = accounts
        self.prices = prices
        self.limiter = limiter
        self.callbacks = callbacks
        self._rate_limits = rate_limits
        self.gate = OperatorGate(self)
        self._limits: dict[int, tuple[float, float, int]] = {}
        self._reconciler: Periodic | None = None

    def attach(self, lifecycle: TaskLifecycle) -> None:
        lifecycle.add_listener(self.metrics.on_task)
        lifecycle.add_listener(self.on_task)
        lifecycle.add_save_hook(self.callbacks.on_save)
        lifecycle.add_listener(self.callbacks.on_task)

    async def start(self) -> None:
        await self.prices.load()
        await self.reconcile()
        await self.callbacks.start()
        self._reconciler = run_periodically(
            "ledger reconcile", RECONCILE_SECONDS, self._reconcile_round, log=log
        )

    async def stop(self) -> None:
        if self._reconciler is not None:
            await self._reconciler.stop()
            self._reconciler = None
        await self.callbacks.stop()
        await self.limiter.close()

    # ---- lifecycle --------------------------------------------------------------------------

    async def on_task(self, record: TaskRecord) -> None:
        """At a final status: settle (success) or refund (anything else), once; free the slot."""
        status = record.task.status
        if not status.is_final:
            return
        closed = await self.ledger.close(
            record.id,
            success=status == TaskStatus.SUCCESS,
            note=record.task.fail_reason or status.value.lower(),
        )
        if closed is not None:
            self.metrics.ledger_moves.labels(closed).inc()
            log.info("ledger " + closed, task_id=record.id, status=status.value)
        await self._leave(record.id)

    async def reconcile(self) -> int:
        """Close reservations left open by a crash: task finished, or never stored for good."""
        closed = 0
        for task_id, status in await self.ledger.stale_reservations():
            kind = await self.ledger.close(
                task_id,
                success=status == TaskStatus.SUCCESS.value,
                note="recovered after a restart"
                if status
                else "the task was not accepted (recovered after a restart)",
            )
            if kind is not None:
                closed += 1
                log.info("ledger " + kind + " on recovery", task_id=task_id)
        return closed

    async def _reconcile_round(self) -> None:
        await self.reconcile()

    # ---- limits -----------------------------------------------------------------------------

    async def key_limits(self, key_id: int) -> tuple[float, int]:
        """(requests per second, jobs in flight) for a key; 0 = unlimited. Cached briefly."""
        now = time.monotonic()
        cached = self._limits.get(key_id)
        if cached is not None and now - cached[0] < LIMITS_CACHE_SECONDS:
            return cached[1], cached[2]
        account = await self.accounts.get(key_id)
        defaults = self._rate_limits
        rate = defaults.requests_per_second
        in_flight = defaults.max_in_flight
        if account is not None:
            if account.rate_per_second is not None:
                rate = account.rate_per_second
            if account.max_in_flight is not None:
                in_flight = account.max_in_flight
        self._limits[key_id] = (now, rate, in_flight)
        return rate, in_flight

    async def check_request(self, principal: Principal) -> None:
        """Requests per second for the caller's key: HTTP 429 with Retry-After beyond it."""
        defaults = self._rate_limits
        rate = (
            principal.rate_per_second
            if principal.rate_per_second is not None
            else defaults.requests_per_second
        )
        if rate <= 0:
            return
        burst = defaults.burst or max(1, int(rate * 2))
        try:
            retry = await self.limiter.hit(principal.key_id, rate, burst)
        except Exception:
            log.exception("rate limiter unavailable; request allowed")
            return
        if retry > 0:
            self.metrics.rate_limited.labels("requests").inc()
            raise RateLimited(
                f"too many requests: this key may send {rate:g} per second", retry_after=retry
            )

    async def _leave(self, task_id: str) -> None:
        try:
            await self.limiter.leave(task_id)
        except Exception:
            log.exception("rate limiter unavailable; slot not freed", task_id=task_id)


class OperatorGate:
    """``services.tasks.admission.SubmitGate`` for the task service."""

    def __init__(self, operator: Operator) -> None:
        self._op = operator

    async def validate(self, submitter: Submitter) -> None:
        if submitter.notify_hook:
            await self._op.callbacks.validate(submitter.notify_hook)

    async def enter(self, submitter: Submitter, record: TaskRecord, *, charge: bool) -> InsertHook:
        op = self._op
        key_id = submitter.key_id
        if key_id is not None:
            _rate, limit = await op.key_limits(key_id)
            if limit > 0:
                admitted = True
                try:
                    admitted = await op.limiter.enter(
                        key_id, record.id, limit, record.deadline_ms or 0
                    )
                except Exception:
                    log.exception("rate limiter unavailable; job allowed", task_id=record.id)
                if not admitted:
                    op.metrics.rate_limited.labels("in_flight").inc()
                    raise RateLimited(
                        f"too many jobs in flight: this key may run {limit} at once",
                        retry_after=1,
                    )
        reservation = None
        if charge and key_id is not None:
            reservation = Charge(
                key_id=key_id,
                tenant_id=submitter.tenant_id,
                task_id=record.id,
                action=record.task.action.value,
                mode=record.task.mode,
                price_units=await op.prices.price_units(record.task.action.value, record.task.mode),
            )
        hook = None
        if submitter.notify_hook and key_id is not None:
            hook = Hook(record.id, key_id, submitter.notify_hook, submitter.base_url)
        op.callbacks.remember_hook(hook, record.id)

        async def writes(connection: AsyncConnection) -> None:
            if reservation is not None:
                await op.ledger.reserve_in(connection, reservation)
            if hook is not None:
                await CallbackStore.add_hook(connection, hook)
                await op.callbacks.on_insert(connection, hook, record)

        return writes

    async def leave(self, record: TaskRecord) -> None:
        await self._op._leave(record.id)

    async def withdrawn(self, record: TaskRecord) -> None:
        kind = await self._op.ledger.close(
            record.id, success=False, note="the engine refused the job"
        )
        if kind is not None:
            self._op.metrics.ledger_moves.labels(kind).inc()
        await self._op._leave(record.id)

    async def upload(self, submitter: Submitter) -> None:
        if submitter.key_id is None:
            return
        await self._op.ledger.charge(
            submitter.key_id,
            submitter.tenant_id,
            "UPLOAD",
            await self._op.prices.price_units("UPLOAD", ""),
        )

    async def modal(self, submitter: Submitter, record: TaskRecord) -> None:
        if submitter.key_id is None:
            return
        price = await self._op.prices.price_units("MODAL", record.task.mode)
        await self._op.ledger.reserve(
            Charge(
                key_id=submitter.key_id,
                tenant_id=submitter.tenant_id,
                task_id=record.id,
                action="MODAL",
                mode=record.task.mode,
                price_units=price,
            )
        )
