"""A crash between reserving and submitting leaves no reservation behind after a restart."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from mjrelay.core.settings import Settings
from mjrelay.services.tasks.service import Common
from mjrelay.store.ledger import Charge
from mjrelay.wiring import Relay
from tests.support.operator import BACKENDS, StallingEngine, balance_of, database_url, ledger_rows
from tests.support.settings import fast_settings


@pytest.fixture(params=BACKENDS)
async def settings_on(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    async with database_url(request.param, tmp_path) as url:
        yield fast_settings(tmp_path / "data", database_url=url)


async def test_crash_after_reserve_before_submit_is_refunded(settings_on: Settings) -> None:
    engine = StallingEngine()
    first = Relay.build(settings_on, engines=[engine])
    await first.start()
    _key, info = await first.admin.create_key("payer", actor="test", balance=Decimal("1"))
    submit = asyncio.create_task(
        first.tasks.imagine(info.tenant_id, "a boat", None, Common(key_id=info.id))
    )
    await asyncio.wait_for(engine.entered.wait(), 10)
    # The task and its reservation are committed; the engine has not answered. Crash now.
    submit.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await submit
    assert await balance_of(first.db, info.id) == Decimal("0.9")
    await first.stop()

    second = Relay.build(settings_on, engines=[StallingEngine()])
    await second.start()
    try:
        assert await second.ops.ledger.stale_reservations() == []
        assert await balance_of(second.db, info.id) == Decimal("1")
        rows = await ledger_rows(second.db, info.id)
        assert Counter(row.kind for row in rows) == {"topup": 1, "reserve": 1, "refund": 1}
        refund = next(row for row in rows if row.kind == "refund")
        task = await second.lifecycle.store.get(str(refund.task_id))
        assert task is not None and task.task.status.value == "FAILURE"
    finally:
        await second.stop()


async def test_reservation_without_a_task_is_refunded_on_start(settings_on: Settings) -> None:
    first = Relay.build(settings_on, engines=[StallingEngine()])
    await first.start()
    _key, info = await first.admin.create_key("payer", actor="test", balance=Decimal("1"))
    # What a crash inside a withdrawal would leave: a reservation whose task row is gone.
    await first.ops.ledger.reserve(
        Charge(info.id, info.tenant_id, "1700000000000123", "IMAGINE", "", 1000)
    )
    await first.stop()
    second = Relay.build(settings_on, engines=[StallingEngine()])
    await second.start()
    try:
        assert await balance_of(second.db, info.id) == Decimal("1")
        assert await second.ops.ledger.stale_reservations() == []
        assert await second.ops.reconcile() == 0
    finally:
        await second.stop()
