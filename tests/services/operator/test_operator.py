"""The operator layer behind TaskService, without HTTP: reserve, settle, refund, limits."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from mjrelay.core.errors import InsufficientBalance, QueueFull, RateLimited, RelayError, ReturnCode
from mjrelay.core.settings.operator import RateLimitSettings
from mjrelay.domain.task import TaskStatus
from mjrelay.domain.updates import TaskUpdate
from mjrelay.services.operator.ratelimit import MemoryLimiter
from mjrelay.store.keys import Principal
from tests.support.services import Services, common_for, running_services

IMAGINE_UNITS = 1_000  # the default IMAGINE price, 0.1, in ledger units (1/10,000)
START_UNITS = 10_000


async def kinds_of(services: Services, task_id: str) -> list[str]:
    """The kinds of a task's ledger entries, oldest first."""
    entries = await services.relay.ops.ledger.entries(task_id=task_id)
    return [entry.kind for entry in sorted(entries, key=lambda e: e.id)]


async def test_submit_reserves_the_price(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        payer = await services.key("payer", quota=Decimal(1))
        submitted = await services.tasks.imagine(payer.tenant_id, "a fox", None, common_for(payer))
        assert await services.relay.ops.ledger.balance(payer.id) == START_UNITS - IMAGINE_UNITS
        reservation = await services.relay.ops.ledger.reservation(submitted.task_id)
        assert reservation is not None and reservation.price_units == IMAGINE_UNITS


async def test_success_settles_and_keeps_the_charge(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        payer = await services.key("payer", quota=Decimal(1))
        submitted = await services.tasks.imagine(payer.tenant_id, "a fox", None, common_for(payer))
        await services.engine.finish(submitted.task_id)
        assert await services.relay.ops.ledger.balance(payer.id) == START_UNITS - IMAGINE_UNITS
        assert await kinds_of(services, submitted.task_id) == ["reserve", "settle"]


async def test_failure_refunds_exactly_once(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        payer = await services.key("payer", quota=Decimal(1))
        submitted = await services.tasks.imagine(payer.tenant_id, "a fox", None, common_for(payer))
        await services.engine.fail(submitted.task_id)
        # A repeated final report, and the operator seeing the task again, change nothing.
        await services.engine.fail(submitted.task_id, "reported twice")
        record = await services.record(submitted.task_id)
        assert record is not None
        await services.relay.ops.on_task(record)
        assert await services.relay.ops.ledger.balance(payer.id) == START_UNITS
        assert await kinds_of(services, submitted.task_id) == ["reserve", "refund"]


async def test_cancel_refunds(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        payer = await services.key("payer", quota=Decimal(1))
        submitted = await services.tasks.imagine(payer.tenant_id, "a fox", None, common_for(payer))
        await services.tasks.cancel(payer.tenant_id, submitted.task_id)
        assert await services.relay.ops.ledger.balance(payer.id) == START_UNITS
        assert await kinds_of(services, submitted.task_id) == ["reserve", "refund"]


async def test_a_job_the_engine_refuses_is_refunded(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        payer = await services.key("payer", quota=Decimal(1))
        services.engine.refuse_with = QueueFull("queue full")
        with pytest.raises(RelayError) as refused:
            await services.tasks.imagine(payer.tenant_id, "a fox", None, common_for(payer))
        assert refused.value.code == ReturnCode.QUEUE_REJECTED
        assert await services.relay.ops.ledger.balance(payer.id) == START_UNITS


async def test_without_balance_nothing_is_stored_or_sent(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        payer = await services.key("poor", quota=Decimal("0.05"))
        with pytest.raises(InsufficientBalance):
            await services.tasks.imagine(payer.tenant_id, "a fox", None, common_for(payer))
        assert services.engine.jobs == {}
        listed = await services.tasks.list_recent(payer.tenant_id, limit=5, offset=0, before=None)
        assert listed == []
        assert await services.relay.ops.ledger.balance(payer.id) == 500


async def test_in_flight_limit_refuses_then_frees_the_slot_at_the_end(tmp_path: Path) -> None:
    limits = RateLimitSettings(max_in_flight=1)
    async with running_services(tmp_path, rate_limits=limits) as services:
        payer = await services.key("busy")
        first = await services.tasks.imagine(payer.tenant_id, "one", None, common_for(payer))
        with pytest.raises(RateLimited, match="in flight"):
            await services.tasks.imagine(payer.tenant_id, "two", None, common_for(payer))
        # Another key has its own slots.
        other = await services.key("other")
        await services.tasks.imagine(other.tenant_id, "three", None, common_for(other))
        await services.engine.finish(first.task_id)
        again = await services.tasks.imagine(payer.tenant_id, "four", None, common_for(payer))
        assert again.task_id in services.engine.jobs


async def test_request_rate_limit_raises_rate_limited_until_time_passes(tmp_path: Path) -> None:
    now = [1000.0]
    limiter = MemoryLimiter(clock=lambda: now[0])
    async with running_services(tmp_path, limiter=limiter) as services:
        payer = await services.key("chatty")
        principal = Principal(payer.id, payer.tenant_id, rate_per_second=1)
        # The default burst is twice the rate: two requests at once pass, the third waits.
        await services.relay.ops.check_request(principal)
        await services.relay.ops.check_request(principal)
        with pytest.raises(RateLimited) as refused:
            await services.relay.ops.check_request(principal)
        assert refused.value.retry_after > 0
        now[0] += 1.0
        await services.relay.ops.check_request(principal)


async def test_keys_without_a_limit_are_never_rate_limited(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        payer = await services.key("free")
        for _ in range(50):
            await services.relay.ops.check_request(Principal(payer.id, payer.tenant_id))


async def test_an_unfinished_update_does_not_close_the_reservation(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        payer = await services.key("payer", quota=Decimal(1))
        submitted = await services.tasks.imagine(payer.tenant_id, "a fox", None, common_for(payer))
        await services.engine.report(
            TaskUpdate(submitted.task_id, TaskStatus.IN_PROGRESS, progress="50%")
        )
        assert await kinds_of(services, submitted.task_id) == ["reserve"]
