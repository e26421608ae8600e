"""TaskLifecycle: every accepted change is saved and announced; nothing moves backwards."""

from __future__ import annotations

from pathlib import Path

from mjrelay.domain.record import TaskRecord
from mjrelay.domain.task import TaskStatus
from mjrelay.domain.updates import TaskUpdate
from mjrelay.services.tasks.service import Common
from tests.support.services import Services, running_services


class Seen:
    """A lifecycle listener that keeps (status, progress) of every record it is handed."""

    def __init__(self) -> None:
        self.changes: list[tuple[str, TaskStatus, str]] = []

    async def __call__(self, record: TaskRecord) -> None:
        self.changes.append((record.id, record.task.status, record.task.progress))


async def submitted_task(services: Services) -> str:
    return (await services.tasks.imagine(services.alice.tenant_id, "a fox", None, Common())).task_id


async def test_each_change_is_saved_and_announced_in_order(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        task_id = await submitted_task(services)
        seen = Seen()
        lifecycle = services.relay.lifecycle
        lifecycle.add_listener(seen)
        await lifecycle.apply(TaskUpdate(task_id, TaskStatus.IN_PROGRESS, progress="30%"))
        saved = await services.record(task_id)
        assert saved is not None
        assert (saved.task.status, saved.task.progress) == (TaskStatus.IN_PROGRESS, "30%")
        await lifecycle.apply(TaskUpdate(task_id, TaskStatus.SUCCESS, progress="100%"))
        assert [(status, progress) for _id, status, progress in seen.changes] == [
            (TaskStatus.IN_PROGRESS, "30%"),
            (TaskStatus.SUCCESS, "100%"),
        ]


async def test_created_tasks_are_announced(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        seen = Seen()
        services.relay.lifecycle.add_listener(seen)
        task_id = await submitted_task(services)
        assert seen.changes[0][0] == task_id
        assert seen.changes[0][1] in (TaskStatus.NOT_START, TaskStatus.SUBMITTED)


async def test_a_finished_task_never_moves_backwards(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        task_id = await submitted_task(services)
        lifecycle = services.relay.lifecycle
        assert await lifecycle.apply(TaskUpdate(task_id, TaskStatus.SUCCESS)) is not None
        seen = Seen()
        lifecycle.add_listener(seen)
        late = TaskUpdate(task_id, TaskStatus.IN_PROGRESS, progress="80%")
        assert await lifecycle.apply(late) is None
        assert await lifecycle.apply(TaskUpdate(task_id, TaskStatus.FAILURE)) is None
        saved = await services.record(task_id)
        assert saved is not None and saved.task.status == TaskStatus.SUCCESS
        assert seen.changes == []


async def test_progress_never_goes_down(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        task_id = await submitted_task(services)
        lifecycle = services.relay.lifecycle
        await lifecycle.apply(TaskUpdate(task_id, TaskStatus.IN_PROGRESS, progress="60%"))
        await lifecycle.apply(TaskUpdate(task_id, TaskStatus.IN_PROGRESS, progress="20%"))
        saved = await services.record(task_id)
        assert saved is not None and saved.task.progress == "60%"


async def test_an_update_for_an_unknown_task_changes_nothing(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        seen = Seen()
        services.relay.lifecycle.add_listener(seen)
        update = TaskUpdate("1700000000000000", TaskStatus.SUCCESS)
        assert await services.relay.lifecycle.apply(update) is None
        assert seen.changes == []


async def test_a_failing_listener_does_not_stop_the_others_or_the_save(tmp_path: Path) -> None:
    async def broken(record: TaskRecord) -> None:
        raise RuntimeError("listener bug")

    async with running_services(tmp_path) as services:
        task_id = await submitted_task(services)
        seen = Seen()
        services.relay.lifecycle.add_listener(broken)
        services.relay.lifecycle.add_listener(seen)
        await services.relay.lifecycle.apply(TaskUpdate(task_id, TaskStatus.FAILURE))
        saved = await services.record(task_id)
        assert saved is not None and saved.task.status == TaskStatus.FAILURE
        assert seen.changes == [(task_id, TaskStatus.FAILURE, saved.task.progress)]


async def test_fetch_sees_the_latest_state_through_the_cache(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        task_id = await submitted_task(services)
        tenant = services.alice.tenant_id
        await services.tasks.fetch_wire(tenant, task_id)  # cached while unfinished
        await services.relay.lifecycle.apply(TaskUpdate(task_id, TaskStatus.SUCCESS))
        assert b'"status":"SUCCESS"' in (await services.tasks.fetch_wire(tenant, task_id)).replace(
            b" ", b""
        )
