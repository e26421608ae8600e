"""The broker's promises: bounded per-client memory, no waiting, idempotent versions."""

from __future__ import annotations

import asyncio

import pytest

from mjrelay.services.streams.broker import TaskBroker, TaskEvent, TooManyStreams


def _event(task_id: str, version: int, *, tenant: int = 1, final: bool = False) -> TaskEvent:
    return TaskEvent(
        tenant, task_id, version, final, b'{"id":"%s","v":%d}' % (task_id.encode(), version)
    )


async def test_a_client_that_never_reads_holds_a_bounded_backlog() -> None:
    broker = TaskBroker(max_pending=8)
    slow = broker.subscribe(1)
    for n in range(10_000):  # the lifecycle publishes; nobody reads
        broker.deliver(_event(f"t{n}", 1))
    assert slow.dropped == 10_000 - 8
    received = [await slow.next(0.01) for _ in range(8)]
    assert [e.task_id for e in received if e] == [f"t{n}" for n in range(9992, 10_000)]
    assert await slow.next(0.01) is None


async def test_a_followed_task_keeps_only_its_latest_state() -> None:
    broker = TaskBroker(max_pending=2)
    follower = broker.subscribe(1, "t1")
    for version in range(1, 500):
        broker.deliver(_event("t1", version))
    broker.deliver(_event("t1", 500, final=True))
    broker.deliver(_event("t2", 1))  # another task: not this subscription's business
    event = await follower.next(0.01)
    assert event is not None and event.version == 500 and event.final
    assert await follower.next(0.01) is None
    assert follower.dropped == 0


async def test_old_and_repeated_versions_are_ignored() -> None:
    broker = TaskBroker()
    sub = broker.subscribe(1, "t1")
    sub.mark_seen("t1", 3)  # the snapshot the client already has
    delivered = []
    for version in (2, 3, 4, 4, 3, 5):
        broker.deliver(_event("t1", version))
        got = await sub.next(0.01)
        if got is not None:
            delivered.append(got.version)
    assert delivered == [4, 5]


async def test_other_tenants_changes_never_reach_a_subscription() -> None:
    broker = TaskBroker()
    mine = broker.subscribe(1)
    broker.deliver(_event("t9", 1, tenant=2))
    assert await mine.next(0.01) is None


async def test_next_wakes_as_soon_as_an_event_arrives() -> None:
    broker = TaskBroker()
    sub = broker.subscribe(1)
    waiting = asyncio.create_task(sub.next(10))
    await asyncio.sleep(0.01)
    broker.deliver(_event("t1", 1))
    event = await asyncio.wait_for(waiting, 1)
    assert event is not None and event.task_id == "t1"


def test_the_number_of_open_streams_is_capped() -> None:
    broker = TaskBroker(max_subscribers=2)
    first = broker.subscribe(1)
    broker.subscribe(1)
    with pytest.raises(TooManyStreams):
        broker.subscribe(1)
    broker.unsubscribe(first)
    broker.subscribe(1)
    assert broker.subscriber_count == 2
