"""Routing: priority first, weighted random within a priority, only channels that can take it."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from mjrelay.core.settings import SandboxSettings
from mjrelay.domain.channel import ChannelSpec
from mjrelay.domain.record import TaskRecord
from mjrelay.domain.task import Task, TaskAction, TaskStatus
from mjrelay.engines.registry import EngineRegistry
from mjrelay.engines.sandbox import SandboxEngine
from mjrelay.media.store import MediaStore
from mjrelay.services.tasks.breaker import BreakerBoard
from mjrelay.services.tasks.router import ChannelRouter


def registry_of(tmp_path: Path, *specs: ChannelSpec) -> EngineRegistry:
    registry = EngineRegistry()
    media = MediaStore(tmp_path)
    for spec in specs:
        registry.put(spec, SandboxEngine(SandboxSettings(), media, name=spec.name))
    return registry


def record(task_id: str, channel: str, status: TaskStatus) -> TaskRecord:
    return TaskRecord(
        task=Task(id=task_id, action=TaskAction.IMAGINE, status=status),
        tenant_id=1,
        engine=channel,
        job={},
    )


def test_highest_priority_first_then_the_rest_as_failover_order(tmp_path: Path) -> None:
    registry = registry_of(
        tmp_path,
        ChannelSpec("low", "sandbox", priority=0),
        ChannelSpec("high", "sandbox", priority=10),
        ChannelSpec("mid", "sandbox", priority=5),
    )
    assert ChannelRouter(registry).plan("") == ["high", "mid", "low"]


def test_weights_share_load_within_a_priority(tmp_path: Path) -> None:
    registry = registry_of(
        tmp_path,
        ChannelSpec("heavy", "sandbox", weight=3),
        ChannelSpec("light", "sandbox", weight=1),
        ChannelSpec("never-first", "sandbox", weight=0),
    )
    router = ChannelRouter(registry, rng=random.Random(7))
    firsts = Counter(router.plan("")[0] for _ in range(4000))
    assert firsts["never-first"] == 0
    assert 0.70 < firsts["heavy"] / 4000 < 0.80
    assert router.plan("")[-1] == "never-first"


def test_mode_pause_breaker_and_capacity_filter_channels(tmp_path: Path) -> None:
    registry = registry_of(
        tmp_path,
        ChannelSpec("relax-only", "sandbox", priority=9, modes=frozenset({"relax"})),
        ChannelSpec("paused", "sandbox", priority=8, paused=True),
        ChannelSpec("disabled", "sandbox", priority=8, enabled=False),
        ChannelSpec("broken", "sandbox", priority=7),
        ChannelSpec("small", "sandbox", priority=6, max_concurrency=1),
        ChannelSpec("any", "sandbox", priority=0),
    )
    breakers = BreakerBoard(failure_threshold=1)
    router = ChannelRouter(registry, breakers)
    breakers.of("broken").failure()
    assert router.plan("fast") == ["small", "any"]
    assert router.plan("relax") == ["relax-only", "small", "any"]
    assert router.plan("") == ["relax-only", "small", "any"]


async def test_capacity_counts_unfinished_tasks_until_they_finish(tmp_path: Path) -> None:
    registry = registry_of(
        tmp_path,
        ChannelSpec("small", "sandbox", priority=1, max_concurrency=2),
        ChannelSpec("big", "sandbox"),
    )
    router = ChannelRouter(registry)
    await router.note(record("1", "small", TaskStatus.SUBMITTED))
    await router.note(record("1", "small", TaskStatus.IN_PROGRESS))  # same task: counted once
    assert router.plan("")[0] == "small"
    await router.note(record("2", "small", TaskStatus.NOT_START))
    assert router.plan("") == ["big"]
    await router.note(record("1", "small", TaskStatus.SUCCESS))
    assert router.plan("")[0] == "small"
    await router.note(record("2", "big", TaskStatus.SUBMITTED))  # moved by failover
    assert router.inflight("small") == 0
    assert router.inflight("big") == 1
