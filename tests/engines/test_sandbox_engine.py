"""The sandbox engine on its own: updates sent to a sink, admission, bans, cancel, resume."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import pytest
from PIL import Image
from tests.support.waiting import until

from mjrelay.core.errors import BannedPrompt, QueueFull, ReturnCode
from mjrelay.core.settings import SandboxSettings
from mjrelay.domain.buttons import grid_buttons, upscale_buttons
from mjrelay.domain.task import TaskAction, TaskStatus
from mjrelay.domain.updates import TaskUpdate
from mjrelay.engines.base import EngineJob, ParentRef
from mjrelay.engines.sandbox import SandboxEngine
from mjrelay.media.store import MediaStore


class Sink:
    """Collects every update; lets a test wait for a task's final one."""

    def __init__(self) -> None:
        self.updates: list[TaskUpdate] = []

    async def __call__(self, update: TaskUpdate) -> None:
        self.updates.append(update)

    def of(self, task_id: str) -> list[TaskUpdate]:
        return [u for u in self.updates if u.task_id == task_id]

    async def final(self, task_id: str, within: float = 20) -> TaskUpdate:
        deadline = time.monotonic() + within
        while True:
            for update in self.of(task_id):
                if update.status.is_final:
                    return update
            assert time.monotonic() < deadline, self.of(task_id)
            await asyncio.sleep(0.01)


def make_engine(tmp_path: Path, **sandbox: object) -> tuple[SandboxEngine, MediaStore]:
    values: dict[str, object] = {"job_seconds": 0.05, "progress_steps": 1}
    values.update(sandbox)
    media = MediaStore(tmp_path / "images")
    media.ensure_root()
    return SandboxEngine(SandboxSettings(**values), media), media  # type: ignore[arg-type]


def size_of(media: MediaStore, url: str) -> tuple[int, int]:
    key = media.key_of_url(url)
    assert key is not None, url
    path = media.path_of(key)
    assert path is not None
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        return image.size


async def test_progress_then_success_with_grid_buttons(tmp_path: Path) -> None:
    engine, media = make_engine(tmp_path, progress_steps=3, job_seconds=0.2)
    sink = Sink()
    await engine.start(sink)
    admission = await engine.submit(EngineJob("1700000000000001", TaskAction.IMAGINE, "a fox"))
    assert not admission.queued
    final = await sink.final("1700000000000001")
    updates = sink.of("1700000000000001")
    assert [u.status for u in updates] == [
        TaskStatus.SUBMITTED,
        TaskStatus.IN_PROGRESS,
        TaskStatus.IN_PROGRESS,
        TaskStatus.IN_PROGRESS,
        TaskStatus.IN_PROGRESS,
        TaskStatus.SUCCESS,
    ]
    assert [u.progress for u in updates[1:5]] == ["0%", "25%", "50%", "75%"]
    previews = [u.image_url for u in updates[2:5]]
    assert all(p and media.key_of_url(p) for p in previews)
    assert len(set(previews)) == 3
    assert all(size_of(media, p) == (512, 512) for p in previews if p)  # half-size previews
    assert final.image_url and size_of(media, final.image_url) == (1024, 1024)
    assert final.image_url not in previews
    assert final.image_urls is not None and len(final.image_urls) == 4
    job_hash = final.engine_state["job_hash"]
    assert final.buttons == grid_buttons(job_hash)
    assert final.image_url.endswith(f"_{job_hash}.png")
    assert final.properties == {"finalPrompt": "a fox"}
    seed = await engine.image_seed("1700000000000001", final.engine_state)
    assert seed == str(final.engine_state["seed"])
    assert engine.load == (0, 0)
    await engine.stop()


async def test_upscale_has_upscale_buttons(tmp_path: Path) -> None:
    engine, media = make_engine(tmp_path)
    sink = Sink()
    await engine.start(sink)
    await engine.submit(EngineJob("1700000000000010", TaskAction.IMAGINE, "a tree --seed 77"))
    grid = await sink.final("1700000000000010")
    assert grid.engine_state["seed"] == 77
    parent = ParentRef(
        "1700000000000010", TaskAction.IMAGINE, "a tree --seed 77", grid.engine_state
    )
    assert grid.buttons is not None
    u2 = grid.buttons[1].custom_id
    await engine.submit(
        EngineJob("1700000000000011", TaskAction.UPSCALE, "", custom_id=u2, parent=parent)
    )
    up = await sink.final("1700000000000011")
    assert up.status == TaskStatus.SUCCESS
    assert up.buttons == upscale_buttons(up.engine_state["job_hash"])
    assert up.image_urls == []
    assert up.image_url and size_of(media, up.image_url) == (1024, 1024)
    await engine.stop()


async def test_banned_words(tmp_path: Path) -> None:
    engine, _media = make_engine(tmp_path, banned_words=["gore", "blood bath"])
    await engine.start(Sink())
    for prompt, word in (("so much GORE", "gore"), ("a blood bath scene", "blood bath")):
        with pytest.raises(BannedPrompt) as caught:
            await engine.submit(EngineJob("1700000000000020", TaskAction.IMAGINE, prompt))
        assert caught.value.code == ReturnCode.BANNED_PROMPT
        assert caught.value.properties == {"promptEn": prompt, "bannedWord": word}
    # Whole words only, and nothing was started.
    assert engine.load == (0, 0)
    assert not (
        await engine.submit(EngineJob("1700000000000021", TaskAction.IMAGINE, "gorey"))
    ).queued
    await engine.stop()


async def test_admission_runs_core_size_and_queues_queue_size(tmp_path: Path) -> None:
    engine, _media = make_engine(tmp_path, job_seconds=0.4, core_size=2, queue_size=2)
    sink = Sink()
    await engine.start(sink)
    ids = [f"170000000000003{n}" for n in range(5)]
    admissions = [
        await engine.submit(EngineJob(task_id, TaskAction.IMAGINE, f"job {task_id}"))
        for task_id in ids[:4]
    ]
    assert [(a.queued, a.queued_ahead) for a in admissions] == [
        (False, 0),
        (False, 0),
        (True, 0),
        (True, 1),
    ]
    assert engine.load == (2, 2)
    with pytest.raises(QueueFull) as caught:
        await engine.submit(EngineJob(ids[4], TaskAction.IMAGINE, "one too many"))
    assert caught.value.code == ReturnCode.QUEUE_REJECTED
    # Queued jobs have not started: no update for them yet.
    assert sink.of(ids[2]) == [] and sink.of(ids[3]) == []
    finals = [await sink.final(task_id) for task_id in ids[:4]]
    assert all(f.status == TaskStatus.SUCCESS for f in finals)
    assert sink.of(ids[4]) == []
    # A queued job started only after a running one finished.
    order = [
        u.task_id for u in sink.updates if u.status in (TaskStatus.SUBMITTED, TaskStatus.SUCCESS)
    ]
    first_success = min(order.index(ids[0], 1), order.index(ids[1], 1))
    assert order.index(ids[2]) > first_success
    assert engine.load == (0, 0)
    await engine.stop()


async def test_slot_is_free_once_success_is_reported(tmp_path: Path) -> None:
    """A client that submits the moment it sees SUCCESS must not be queued behind that job."""
    engine, _media = make_engine(tmp_path, core_size=1, queue_size=1)
    admissions = []

    async def resubmit_on_success(update: TaskUpdate) -> None:
        if update.task_id == "1700000000000001" and update.status == TaskStatus.SUCCESS:
            job = EngineJob("1700000000000002", TaskAction.IMAGINE, "next")
            admissions.append(await engine.submit(job))

    sink = Sink()

    async def both(update: TaskUpdate) -> None:
        await sink(update)
        await resubmit_on_success(update)

    await engine.start(both)
    await engine.submit(EngineJob("1700000000000001", TaskAction.IMAGINE, "first"))
    await sink.final("1700000000000002")
    assert [a.queued for a in admissions] == [False]
    await engine.stop()


async def test_cancel_waiting_and_running_jobs(tmp_path: Path) -> None:
    engine, _media = make_engine(tmp_path, job_seconds=0.6, core_size=1, queue_size=5)
    sink = Sink()
    await engine.start(sink)
    running, waiting, after = "1700000000000040", "1700000000000041", "1700000000000042"
    for task_id in (running, waiting, after):
        await engine.submit(EngineJob(task_id, TaskAction.IMAGINE, f"job {task_id}"))
    await until(lambda: bool(sink.of(running)))
    assert sink.of(running)[0].status == TaskStatus.SUBMITTED  # it started
    assert sink.of(waiting) == []  # it did not
    assert await engine.cancel(waiting) is True
    assert await engine.cancel(running) is True
    assert await engine.cancel("1700000000000099") is False
    # The slot freed by the cancelled job goes to the next one still waiting.
    final = await sink.final(after)
    assert final.status == TaskStatus.SUCCESS
    # One more job through the only slot outlasts the cancelled jobs' own run time.
    last = "1700000000000043"
    await engine.submit(EngineJob(last, TaskAction.IMAGINE, f"job {last}"))
    assert (await sink.final(last)).status == TaskStatus.SUCCESS
    assert sink.of(waiting) == []
    assert all(not u.status.is_final for u in sink.of(running))
    assert engine.load == (0, 0)
    await engine.stop()


async def test_resume_reruns_the_job(tmp_path: Path) -> None:
    engine, _media = make_engine(tmp_path, core_size=1, queue_size=0)
    sink = Sink()
    await engine.start(sink)
    job = EngineJob("1700000000000050", TaskAction.SHORTEN, "a very big red fox")
    assert await engine.resume(job, {}) is True
    # Resumed jobs are admitted even past the queue limit: they were accepted before.
    assert await engine.resume(EngineJob("1700000000000052", TaskAction.IMAGINE, "x"), {}) is True
    final = await sink.final(job.task_id)
    assert final.status == TaskStatus.SUCCESS
    assert final.properties["finalPrompt"].startswith("## Important tokens")
    assert final.buttons is not None and len(final.buttons) == 5
    # A job whose input image is gone fails with a reason instead of hanging.
    await engine.resume(
        EngineJob("1700000000000051", TaskAction.DESCRIBE, "", images=("missing_key_0000000.png",)),
        {},
    )
    failed = await sink.final("1700000000000051")
    assert failed.status == TaskStatus.FAILURE
    assert failed.fail_reason == "sandbox error: FileNotFoundError"
    assert str(tmp_path) not in failed.fail_reason  # no server paths in client-visible text
    await sink.final("1700000000000052")
    await engine.stop()


async def test_stop_cancels_running_jobs(tmp_path: Path) -> None:
    engine, _media = make_engine(tmp_path, job_seconds=5, core_size=1)
    sink = Sink()
    await engine.start(sink)
    await engine.submit(EngineJob("1700000000000060", TaskAction.IMAGINE, "long"))
    await engine.submit(EngineJob("1700000000000061", TaskAction.IMAGINE, "longer"))
    started = time.monotonic()
    await engine.stop()
    assert time.monotonic() - started < 2
    assert engine.load == (0, 0)
    assert all(not u.status.is_final for u in sink.updates)
