"""Benchmark of the Discord engine against the fake Discord (run: ./dev.sh python bench/discord.py).

The fake Discord runs in a child process with instant replies (Waiting to start → one progress
update → result → delete), so what is measured here is the client side only:

1. baseline: a minimal client (one gateway connection, POST /interactions, wait for the result
   message by prompt) — the floor any Discord client pays against this fake;
2. engine: the real ``DiscordEngine`` (gateway, tracker, slots, updates to a sink) through one
   account with ``core_size`` = the baseline's concurrency;
3. memory per in-flight job: tracemalloc over the engine holding K jobs the bot never answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import orjson  # noqa: E402
import websockets  # noqa: E402

from mjrelay.domain.channel import ChannelSpec, PendingTask  # noqa: E402
from mjrelay.domain.task import TaskAction, TaskStatus  # noqa: E402
from mjrelay.engines.base import EngineJob, TaskUpdate  # noqa: E402
from mjrelay.engines.discord import discord_kind  # noqa: E402
from mjrelay.engines.discord.engine import DiscordEngine  # noqa: E402
from mjrelay.engines.discord.payloads import Target, imagine, new_nonce  # noqa: E402
from mjrelay.engines.kinds import EngineContext, EngineDefaults  # noqa: E402
from mjrelay.media.store import MediaStore  # noqa: E402

# ---- the fake, in its own process ---------------------------------------------------------------


async def serve_fake() -> None:
    from tests.support.fake_discord import running_fake_discord

    async with running_fake_discord() as fake:
        fake.bot.controls.progress_steps = 1
        fake.bot.controls.step_delay = 0
        fake.gateway.controls.heartbeat_interval_ms = 30_000
        account = fake.add_account("bench")
        print(json.dumps(fake.channel_options(account)), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


# ---- baseline: a minimal client -----------------------------------------------------------------


async def baseline(options: dict[str, Any], jobs: int, concurrency: int) -> float:
    waiting: dict[str, asyncio.Future[None]] = {}
    url = options["gateway_url"] + "/?v=9&encoding=json&compress=zlib-stream"
    async with websockets.connect(url, compression=None, max_size=2**23) as ws:
        inflater = zlib.decompressobj()
        ready = asyncio.Event()

        async def reader() -> None:
            buffer = bytearray()
            async for frame in ws:
                buffer.extend(frame if isinstance(frame, bytes) else frame.encode())
                if not buffer.endswith(b"\x00\x00\xff\xff"):
                    continue
                message = orjson.loads(inflater.decompress(bytes(buffer)))
                buffer.clear()
                if message.get("t") == "READY":
                    ready.set()
                data = message.get("d") or {}
                if message.get("t") == "MESSAGE_CREATE" and data.get("components"):
                    prompt = str(data.get("content", "")).split("**")[1]
                    future = waiting.pop(prompt, None)
                    if future is not None and not future.done():
                        future.set_result(None)

        read = asyncio.create_task(reader())  # hello is its first frame (zlib stream start)
        await ws.send(orjson.dumps({"op": 2, "d": {"token": options["user_token"]}}).decode())
        await ready.wait()
        target = Target(options["guild_id"], options["channel_id"], "0" * 32)
        limit = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(
            base_url=options["api_base_url"] + "/api/v9",
            headers={"Authorization": options["user_token"]},
        ) as client:

            async def one(i: int) -> None:
                async with limit:
                    prompt = f"baseline job {i}"
                    done = asyncio.get_running_loop().create_future()
                    waiting[prompt] = done
                    response = await client.post(
                        "/interactions", json=imagine(target, new_nonce(), prompt)
                    )
                    assert response.status_code == 204, response.text
                    await done

            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(jobs)))
            elapsed = time.perf_counter() - started
        read.cancel()
    return jobs / elapsed * 60


# ---- the engine ---------------------------------------------------------------------------------


class MemoryState:
    def __init__(self) -> None:
        self.states: dict[str, dict[str, Any]] = {}

    async def get_state(self, name: str) -> dict[str, Any]:
        return dict(self.states.get(name, {}))

    async def set_state(self, name: str, state: dict[str, Any]) -> None:
        self.states[name] = dict(state)

    async def try_lease(self, name: str, owner: str, ttl_ms: int) -> bool:
        return True

    async def release_lease(self, name: str, owner: str) -> None:
        return None


class NoTasks:
    async def pending_of(self, channel: str) -> list[PendingTask]:
        return []


async def _engine(options: dict[str, Any], core: int, queue: int, data: Path) -> DiscordEngine:
    spec = ChannelSpec(
        name="bench",
        engine="discord",
        options={**options, "core_size": min(core, 12), "queue_size": queue},
    )
    context = EngineContext(
        defaults=EngineDefaults(),
        media=MediaStore(data / "images"),
        channel_state=MemoryState(),
        channel_tasks=NoTasks(),
        instance_id="bench",
    )
    engine = discord_kind().build(spec, context)
    assert isinstance(engine, DiscordEngine)
    engine.slots.core_size = core  # beyond the config limit of 12, for the memory figure
    return engine


async def engine_rate(options: dict[str, Any], jobs: int, concurrency: int, data: Path) -> float:
    done: dict[str, asyncio.Future[None]] = {}

    async def sink(update: TaskUpdate) -> None:
        if update.status.is_final:
            future = done.get(update.task_id)
            if future is not None and not future.done():
                if update.status != TaskStatus.SUCCESS:
                    future.set_exception(RuntimeError(update.fail_reason))
                else:
                    future.set_result(None)

    engine = await _engine(options, concurrency, jobs, data)
    await engine.start(sink)
    try:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        for i in range(jobs):
            task_id = f"t{i}"
            done[task_id] = loop.create_future()
            await engine.submit(EngineJob(task_id, TaskAction.IMAGINE, f"engine job {i}"))
        await asyncio.gather(*done.values())
        elapsed = time.perf_counter() - started
    finally:
        await engine.stop()
    return jobs / elapsed * 60


async def memory_per_job(options: dict[str, Any], inflight: int, data: Path) -> float:
    submitted = 0

    async def sink(update: TaskUpdate) -> None:
        nonlocal submitted
        if update.status == TaskStatus.SUBMITTED:
            submitted += 1

    engine = await _engine(options, inflight, 0, data)
    await engine.start(sink)
    try:
        # Warm up (connection, first job), then measure only the jobs themselves.
        await engine.submit(EngineJob("warm", TaskAction.IMAGINE, "silent warm-up"))
        await asyncio.sleep(0.2)
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for i in range(inflight - 1):
            await engine.submit(EngineJob(f"m{i}", TaskAction.IMAGINE, f"silent job {i}"))
        while submitted < inflight:  # noqa: ASYNC110 (a benchmark, polling is fine)
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # let the bot's acknowledgements arrive and be tracked
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
        assert len(engine.tracker) == inflight
    finally:
        await engine.stop()
    return grown / (inflight - 1)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument("--inflight", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="median of this many runs each")
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        await serve_fake()
        return
    child = subprocess.Popen(  # noqa: ASYNC220 (started once, before anything is measured)
        [sys.executable, __file__, "--serve-fake"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert child.stdout is not None
        options = json.loads(child.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp)
            bases, rates = [], []
            for round_ in range(args.rounds):  # interleaved, so drift hits both alike
                bases.append(await baseline(options, args.jobs, args.concurrency))
                rates.append(
                    await engine_rate(options, args.jobs, args.concurrency, data / f"e{round_}")
                )
            base, rate = statistics.median(bases), statistics.median(rates)
            memory = await memory_per_job(options, args.inflight, data / "m")
        print(
            f"jobs: {args.jobs} x {args.rounds} rounds, concurrency (core_size): {args.concurrency}"
        )
        print(f"baseline minimal client: {base:,.0f} jobs/min")
        print(f"DiscordEngine:           {rate:,.0f} jobs/min ({rate / base:.0%} of baseline)")
        print(f"memory per in-flight job: {memory / 1024:.1f} KiB ({args.inflight} jobs)")
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=20)


if __name__ == "__main__":
    asyncio.run(main())
