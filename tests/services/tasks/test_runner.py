"""The runner: restart recovery with an engine that cannot resume, and the deadline sweep."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mjrelay.core.settings import SandboxSettings
from mjrelay.domain.task import TaskStatus
from mjrelay.domain.updates import TaskUpdate
from mjrelay.engines.base import Admission, Engine, EngineJob, UpdateSink
from mjrelay.services.tasks.runner import RESTART_FAILURE
from tests.support.live import running_relay, wait_for_status
from tests.support.settings import fast_settings
from tests.support.wire import submit, submit_ok


class ForgetfulEngine(Engine):
    """Starts jobs and never finishes them; after a restart it cannot pick them up again.

    Like an upstream relay that lost its queue: the runner must fail such tasks, not leave them.
    """

    name = "forgetful"

    def __init__(self) -> None:
        self.sink: UpdateSink | None = None
        self.submitted: list[str] = []
        self.cancelled: list[str] = []
        self.resumes: list[str] = []

    async def start(self, sink: UpdateSink) -> None:
        self.sink = sink

    async def stop(self) -> None:
        self.sink = None

    async def submit(self, job: EngineJob) -> Admission:
        self.submitted.append(job.task_id)
        assert self.sink is not None
        await self.sink(TaskUpdate(job.task_id, TaskStatus.SUBMITTED))
        await self.sink(TaskUpdate(job.task_id, TaskStatus.IN_PROGRESS, progress="10%"))
        return Admission()

    async def cancel(self, task_id: str) -> bool:
        self.cancelled.append(task_id)
        return True

    async def resume(self, job: EngineJob, engine_state: dict[str, Any]) -> bool:
        self.resumes.append(job.task_id)
        return False

    async def image_seed(self, task_id: str, engine_state: dict[str, Any]) -> str | None:
        return None


async def test_unresumable_tasks_fail_with_a_clear_reason_after_restart(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path / "data")
    first = ForgetfulEngine()
    async with running_relay(settings, engines=[first]) as live, live.client() as client:
        running = await submit_ok(client, "/mj/submit/imagine", {"prompt": "a lost job"})
        task = (await client.get(f"/mj/task/{running}/fetch")).json()
        assert task["status"] == "IN_PROGRESS" and task["progress"] == "10%"
    assert first.submitted == [running]

    second = ForgetfulEngine()
    async with running_relay(settings, engines=[second]) as live, live.client() as client:
        task = (await client.get(f"/mj/task/{running}/fetch")).json()
        assert task["status"] == "FAILURE"
        assert task["failReason"] == RESTART_FAILURE
        assert "restarted" in task["failReason"]
        assert task["progress"] == "" and task["finishTime"] is not None
    assert second.resumes == [running]


async def test_modal_tasks_wait_for_the_client_across_restarts(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path / "data")
    async with running_relay(settings) as live, live.client() as client:
        grid_id = await submit_ok(client, "/mj/submit/imagine", {"prompt": "a patient job"})
        grid = await wait_for_status(client, grid_id, {"SUCCESS"})
        modal = await submit(
            client,
            "/mj/submit/action",
            {"taskId": grid_id, "customId": grid["buttons"][5]["customId"], "enableRemix": True},
        )
        assert modal["code"] == 21
    async with running_relay(settings) as live, live.client() as client:
        assert (await client.get(f"/mj/task/{modal['result']}/fetch")).json()["status"] == "MODAL"
        done = await submit(client, "/mj/submit/modal", {"taskId": modal["result"], "prompt": "p"})
        assert done["code"] == 1
        task = await wait_for_status(client, modal["result"], {"SUCCESS", "FAILURE"})
        assert task["status"] == "SUCCESS"


async def test_deadline_sweep_fails_stuck_tasks(tmp_path: Path) -> None:
    settings = fast_settings(
        tmp_path / "data", task_timeout_seconds=0.5, sweep_interval_seconds=0.1
    )
    engine = ForgetfulEngine()
    async with running_relay(settings, engines=[engine]) as live, live.client() as client:
        stuck = await submit_ok(client, "/mj/submit/imagine", {"prompt": "a stuck job"})
        task = await wait_for_status(client, stuck, {"FAILURE"}, within=10)
        assert task["failReason"].startswith("timed out")
        assert task["progress"] == ""
        assert engine.cancelled == [stuck]  # the engine was told to stop working on it
        assert task["finishTime"] - task["submitTime"] >= 500


async def test_a_modal_nobody_submits_times_out(tmp_path: Path) -> None:
    settings = fast_settings(
        tmp_path / "data", task_timeout_seconds=1.0, sweep_interval_seconds=0.1
    )
    async with running_relay(settings) as live, live.client() as client:
        grid_id = await submit_ok(client, "/mj/submit/imagine", {"prompt": "a quick job"})
        grid = await wait_for_status(client, grid_id, {"SUCCESS", "FAILURE"})
        assert grid["status"] == "SUCCESS"  # finished well within its deadline
        modal = await submit(
            client,
            "/mj/submit/action",
            {"taskId": grid_id, "customId": grid["buttons"][5]["customId"], "enableRemix": True},
        )
        task = await wait_for_status(client, modal["result"], {"FAILURE"}, within=10)
        assert task["failReason"].startswith("timed out: a modal submit")
        # The sweep that failed the modal ran after the grid's own deadline had passed too, so
        # a sweep that ignored final states would already have failed the grid.
        assert (await client.get(f"/mj/task/{grid_id}/fetch")).json()["status"] == "SUCCESS"


async def test_a_submitted_modal_still_queued_at_restart_is_resumed(tmp_path: Path) -> None:
    settings = fast_settings(
        tmp_path / "data",
        sandbox=SandboxSettings(job_seconds=0.4, progress_steps=1, core_size=1, queue_size=5),
    )
    async with running_relay(settings) as live, live.client() as client:
        grid_id = await submit_ok(client, "/mj/submit/imagine", {"prompt": "a base"})
        grid = await wait_for_status(client, grid_id, {"SUCCESS"})
        modal = await submit(
            client,
            "/mj/submit/action",
            {"taskId": grid_id, "customId": grid["buttons"][6]["customId"], "enableRemix": True},
        )
        await submit_ok(client, "/mj/submit/imagine", {"prompt": "a blocker"})
        queued = await submit(
            client, "/mj/submit/modal", {"taskId": modal["result"], "prompt": "q"}
        )
        assert queued["code"] == 22
        # Accepted: no longer waiting for the client, even while it waits for a slot.
        task = (await client.get(f"/mj/task/{modal['result']}/fetch")).json()
        assert task["status"] == "SUBMITTED"
    async with running_relay(settings) as live, live.client() as client:
        task = await wait_for_status(client, modal["result"], {"SUCCESS", "FAILURE"})
        assert task["status"] == "SUCCESS" and task["prompt"] == "q"
