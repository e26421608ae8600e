"""The SDK against a real mjrelay server: three lines from prompt to upscaled file."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from tests.support.live import LiveRelay
from tests.support.paced import paced_relay
from tests.support.waiting import until

from mjrelay.client import (
    AsyncClient,
    AuthenticationError,
    Client,
    NeedsModal,
    RelayAPIError,
    Task,
    TaskAction,
    TaskStatus,
)


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveRelay]:
    async with paced_relay(tmp_path / "data") as relay:
        yield relay


def _size(path: Path) -> tuple[int, int]:
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        return image.size


async def test_sync_client_imagine_wait_upscale_download(live: LiveRelay, tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []

    def journey() -> tuple[Task, Task, list[Path], list[Path]]:
        with Client(live.base_url, live.key) as mj:
            grid = mj.imagine("a red fox").wait(
                on_progress=lambda t: seen.append((t.status, t.progress))
            )
            upscaled = mj.action(grid, "U1").wait()
            files = mj.download(grid, tmp_path / "grid", split=True)
            return grid, upscaled, files, mj.download(upscaled, tmp_path / "up")

    grid, upscaled, grid_files, up_files = await asyncio.to_thread(journey)
    assert grid.status == TaskStatus.SUCCESS and grid.action == TaskAction.IMAGINE
    assert upscaled.action == TaskAction.UPSCALE and upscaled.status == TaskStatus.SUCCESS
    assert seen[-1] == (TaskStatus.SUCCESS, "100%")
    assert any(status == TaskStatus.IN_PROGRESS for status, _ in seen)
    assert len(seen) == len(set(seen))  # the callback sees each state once
    assert [p.name for p in grid_files] == [f"{grid.id}.png"] + [
        f"{grid.id}-{n}.png" for n in range(1, 5)
    ]
    assert _size(grid_files[0]) == (1024, 1024)
    assert up_files == [tmp_path / "up" / f"{upscaled.id}.png"]
    assert _size(up_files[0]) == (1024, 1024)
    assert live.relay.streams.subscriber_count == 0  # the waits used the stream and closed it


async def test_async_client_with_mj_api_secret_streams_and_lists(live: LiveRelay) -> None:
    async with AsyncClient(live.base_url, live.key, auth="mj-api-secret") as mj:
        handle = await mj.imagine("a blue heron", state="abc")
        states = [task async for task in handle.stream()]
        assert states[-1].status == TaskStatus.SUCCESS and states[-1].state == "abc"
        assert [t.id for t in states] == [handle.id] * len(states)
        polled = await (await mj.imagine("a green heron")).wait(
            use_stream=False, poll_interval=0.05
        )
        assert polled.status == TaskStatus.SUCCESS
        progress: list[str] = []

        async def record(task: Task) -> None:
            progress.append(task.progress)

        reroll = await handle.action("reroll")
        assert (await reroll.wait(on_progress=record)).action == TaskAction.REROLL
        assert progress[-1] == "100%"
        recent = await mj.recent(limit=10)
        assert [t.id for t in recent] == [reroll.id, polled.id, handle.id]


async def test_tenant_event_stream_from_the_sdk(live: LiveRelay) -> None:
    async with AsyncClient(live.base_url, live.key) as mj:
        seen: list[Task] = []

        async def follow() -> None:
            async for task in mj.events():
                seen.append(task)
                if task.status == TaskStatus.SUCCESS:
                    return

        follower = asyncio.create_task(follow())
        await until(lambda: live.relay.streams.subscriber_count == 1)
        handle = await mj.imagine("a moth")
        await asyncio.wait_for(follower, 10)
    assert {t.id for t in seen} == {handle.id}


async def test_modal_buttons_take_their_input(live: LiveRelay) -> None:
    async with AsyncClient(live.base_url, live.key) as mj:
        grid = await (await mj.imagine("a castle")).wait()
        upscaled = await (await mj.action(grid, "U2")).wait()
        pending = await mj.action(upscaled, "Custom Zoom")
        with pytest.raises(NeedsModal):
            await pending.wait()
        await pending.modal(prompt="a castle --zoom 1.5")
        zoomed = await pending.wait()
        assert zoomed.action == TaskAction.CUSTOM_ZOOM and "--zoom 1.5" in zoomed.prompt
        panned = await (await mj.action(upscaled, "left")).wait()
        assert panned.action == TaskAction.PAN


async def test_errors_carry_the_relays_code_and_description(live: LiveRelay) -> None:
    async with AsyncClient(live.base_url, "mjr_wrong") as stranger:
        with pytest.raises(AuthenticationError) as denied:
            await stranger.imagine("x")
    assert denied.value.status == 401
    async with AsyncClient(live.base_url, live.key) as mj:
        with pytest.raises(RelayAPIError) as banned:
            await mj.imagine("nude figure")
        assert banned.value.code == 24
        with pytest.raises(RelayAPIError) as empty:
            await mj.imagine("   ")
        assert empty.value.code == 4 and "prompt" in empty.value.description
        grid = await (await mj.imagine("a tree")).wait()
        with pytest.raises(ValueError, match=r"no button 'U9'.*U1, U2"):
            await mj.action(grid, "U9")
        with pytest.raises(RelayAPIError) as missing:
            await mj.fetch("1234567890123456")
        assert missing.value.status == 404 and missing.value.code == 3
