"""notifyHook callbacks: checked at submit, queued durably, delivered signed and in order.

Every saved change of a task with a hook becomes an outbox row keyed by (task, version). A
worker delivers, per task, only the oldest pending row, so states arrive in order; a row is
retried with exponential backoff until ``retry_seconds`` after it was queued, then given up so
later states can follow. Attempts time out after ``timeout_seconds``. A state older than one
already delivered is never sent. Delivery goes through ``GuardedTransport``: the URL is
SSRF-checked again at every attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from mjrelay.core.background import Periodic, run_periodically
from mjrelay.core.errors import ValidationFailed
from mjrelay.core.ids import now_ms
from mjrelay.core.logging import get_logger
from mjrelay.core.netguard import (
    GuardedTransport,
    Resolver,
    UnsafeURLError,
    URLPolicy,
    check_outbound_url,
    default_resolver,
)
from mjrelay.core.settings.operator import CallbackSettings
from mjrelay.core.signing import HEADER, sign
from mjrelay.domain.record import TaskRecord
from mjrelay.media.store import BASE_URL_MARKER
from mjrelay.services.operator.metrics import Metrics
from mjrelay.store.callbacks import CallbackStore, Hook, Pending

log = get_logger("mjrelay.callbacks")

HOOK_CACHE_SIZE = 10_000
_MARKER = BASE_URL_MARKER.encode()


class CallbackService:
    def __init__(
        self,
        store: CallbackStore,
        settings: CallbackSettings,
        metrics: Metrics,
        *,
        public_url: str = "",
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver = default_resolver,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._settings = settings
        self._metrics = metrics
        self._public_url = public_url
        self._resolver = resolver
        self._clock = clock
        self._policy = URLPolicy(allow_hosts=frozenset(settings.allow_hosts))
        self._client = httpx.AsyncClient(
            transport=GuardedTransport(
                self._policy, resolver=resolver, inner=transport, purpose="callback URL"
            ),
            timeout=settings.timeout_seconds,
            follow_redirects=False,
            trust_env=False,  # proxy env vars would route around the SSRF guard
        )
        self._hooks: OrderedDict[str, Hook | None] = OrderedDict()
        self._wake = asyncio.Event()
        self._worker: Periodic | None = None
        self._pruner: Periodic | None = None
        self._secrets: dict[int, str] = {}

    # ---- submit side --------------------------------------------------------------------------

    async def validate(self, url: str) -> None:
        """Refuse a notifyHook that is malformed or points at a private address (code 4)."""
        try:
            await check_outbound_url(
                url, self._policy, resolver=self._resolver, purpose="notifyHook"
            )
        except UnsafeURLError as exc:
            raise ValidationFailed(f"notifyHook: {exc}") from exc

    def remember_hook(self, hook: Hook | None, task_id: str) -> None:
        self._hooks[task_id] = hook
        self._hooks.move_to_end(task_id)
        while len(self._hooks) > HOOK_CACHE_SIZE:
            self._hooks.popitem(last=False)

    def _body(self, hook: Hook, record: TaskRecord) -> bytes:
        base = self._public_url or hook.base_url
        return (
            record.wire.replace(_MARKER, base.encode()) if _MARKER in record.wire else record.wire
        )

    async def _queue_in(
        self, executor: AsyncConnection | AsyncSession, hook: Hook, record: TaskRecord
    ) -> None:
        await CallbackStore.enqueue_in(
            executor,
            hook,
            version=record.version,
            status=record.task.status.value,
            body=self._body(hook, record),
            give_up_ms=now_ms() + int(self._settings.retry_seconds * 1000),
        )

    async def on_insert(self, connection: AsyncConnection, hook: Hook, record: TaskRecord) -> None:
        """Insert hook: the first state (version 1) is queued in the task's insert transaction."""
        await self._queue_in(connection, hook, record)

    async def on_save(self, connection: AsyncConnection, record: TaskRecord) -> None:
        """Lifecycle save hook: queue this state in the same transaction that saves it.

        A crash after the commit cannot lose the callback: the row is committed with the state.
        """
        if record.id in self._hooks:
            hook = self._hooks[record.id]
        else:
            hook = await CallbackStore.hook_in(connection, record.id)
            self.remember_hook(hook, record.id)
        if hook is not None:
            await self._queue_in(connection, hook, record)

    async def on_task(self, record: TaskRecord) -> None:
        """Lifecycle listener (after the commit): wake the worker for a task with a hook."""
        if self._hooks.get(record.id) is not None:
            self._wake.set()

    # ---- delivery -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._worker = run_periodically(
            "callback delivery",
            self._settings.poll_seconds,
            self._drain,
            log=log,
            sleep=self._idle,
            wait_first=False,
        )
        if self._settings.keep_finished_hours > 0:
            self._pruner = run_periodically(
                "callback pruning", self._settings.prune_seconds, self.prune, log=log
            )

    async def stop(self) -> None:
        for loop in (self._worker, self._pruner):
            if loop is not None:
                await loop.stop()
        self._worker = self._pruner = None
        await self._client.aclose()

    async def prune(self) -> int:
        """Delete callbacks finished longer than ``keep_finished_hours`` ago (0: keep all).

        Delivered rows hold a copy of the task JSON each; without pruning the outbox grows with
        every state of every task for the life of the database.
        """
        keep_hours = self._settings.keep_finished_hours
        if keep_hours <= 0:
            return 0
        before_ms = int((self._clock() - keep_hours * 3600) * 1000)
        pruned = 0
        while batch := await self._store.prune_finished(before_ms):
            pruned += batch
        if pruned:
            log.info("callbacks pruned", count=pruned, older_than_hours=keep_hours)
        return pruned

    async def _drain(self) -> None:
        """Deliver rounds back to back while there is work; the loop then idles."""
        while await self.run_once():
            pass

    async def _idle(self, seconds: float) -> None:
        """Wait for the poll interval, or less when a task with a hook changes (``on_task``)."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def run_once(self) -> int:
        """Deliver every due head-of-line callback once; returns how many were attempted."""
        now = now_ms()
        due = await self._store.due(now, limit=self._settings.concurrency * 4)
        lease = int((self._settings.timeout_seconds + 30) * 1000)
        claimed = [item for item in due if await self._store.claim(item.id, now, lease)]
        if not claimed:
            return 0
        limit = asyncio.Semaphore(self._settings.concurrency)

        async def one(item: Pending) -> None:
            async with limit:
                await self._deliver(item)

        await asyncio.gather(*(one(item) for item in claimed))
        return len(claimed)

    async def _deliver(self, item: Pending) -> None:
        if await self._store.newer_delivered(item.task_id, item.version):
            await self._store.finish(
                item,
                state="superseded",
                next_attempt_ms=0,
                at_ms=now_ms(),
                duration_ms=0,
                http_status=None,
                error="a newer state was delivered already",
                attempted=False,
            )
            self._metrics.callbacks.labels("superseded").inc()
            return
        secret = await self._secret(item.key_id)
        timestamp = int(self._clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "mjrelay-callbacks",
            HEADER: sign(secret, timestamp, item.body),
            "X-Mjrelay-Task-Id": item.task_id,
            "X-Mjrelay-Task-Version": str(item.version),
            "X-Mjrelay-Delivery": str(item.id),
        }
        started = time.monotonic()
        at = now_ms()
        status: int | None = None
        error = ""
        try:
            response = await self._client.post(item.url, content=item.body, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except UnsafeURLError as exc:
            error = f"refused: {exc}"
        except httpx.TimeoutException:
            error = "timed out"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}"
        duration = time.monotonic() - started
        self._metrics.callback_seconds.observe(duration)
        if not error:
            await self._store.finish(
                item,
                state="delivered",
                next_attempt_ms=0,
                at_ms=at,
                duration_ms=int(duration * 1000),
                http_status=status,
                error="",
            )
            self._metrics.callbacks.labels("delivered").inc()
            log.debug("callback delivered", task_id=item.task_id, version=item.version)
            self._wake.set()  # the task's next state may be waiting
            return
        backoff = min(
            self._settings.first_retry_seconds * 2**item.attempts,
            self._settings.max_backoff_seconds,
        )
        next_attempt = now_ms() + int(backoff * 1000)
        gave_up = next_attempt > item.give_up_ms
        await self._store.finish(
            item,
            state="failed" if gave_up else "pending",
            next_attempt_ms=0 if gave_up else next_attempt,
            at_ms=at,
            duration_ms=int(duration * 1000),
            http_status=status,
            error=error,
        )
        self._metrics.callbacks.labels("gave_up" if gave_up else "failed_attempt").inc()
        log.info(
            "callback attempt failed",
            task_id=item.task_id,
            version=item.version,
            attempt=item.attempts + 1,
            error=error,
            gave_up=gave_up,
        )
        if gave_up:
            self._wake.set()

    async def _secret(self, key_id: int) -> str:
        secret = self._secrets.get(key_id)
        if secret is None:
            secret = await self._store.secret(key_id) or ""
            self._secrets[key_id] = secret
        return secret

    async def log(self, task_id: str) -> list[dict[str, object]]:
        return await self._store.log(task_id)

    async def secret(self, key_id: int) -> str | None:
        return await self._store.secret(key_id)

    async def counts(self) -> dict[str, int]:
        return await self._store.counts()
