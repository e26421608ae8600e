"""Benchmark: mjrelay relaying to an upstream, all figures measured in one run.

    ./dev.sh python bench/relay.py [--submits 400] [--stale-tasks 60] [--inflight 1000]

Runs the fake midjourney-proxy (tests/support/fake_upstream.py, a real HTTP server) in this
process and real ``mjrelay serve`` subprocesses (SQLite, log level WARNING) configured with
``[[channels]]`` pointing at it, all on 127.0.0.1. Measures:

1. submit overhead: ``POST /mj/submit/imagine`` straight to the upstream vs through mjrelay
   (sequential requests, p50/p99 latency and what mjrelay adds);
2. staleness: time from the upstream finishing a job to a client's fetch of mjrelay showing
   SUCCESS, with push (notifyHook callbacks) and with polling only (default poll settings);
3. upstream requests per task with N tasks in flight (push off: the poller does all the work),
   per poll cycle and per 100 in-flight tasks.
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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.fake_upstream import FakeUpstream  # noqa: E402
from tests.support.server_process import free_port  # noqa: E402


async def _admin(sql: str) -> None:
    import asyncpg  # type: ignore[import-not-found,unused-ignore]

    connection = await asyncpg.connect(
        DATABASE_URL.replace("postgresql+asyncpg://", "postgresql://")
    )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _fresh_database() -> str:
    """A new, empty PostgreSQL database per relay, on the server of ``--database-url``."""
    import uuid

    name = f"mjrelay_bench_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    base, _, _old = DATABASE_URL.rpartition("/")
    return f"{base}/{name}"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@dataclass
class Served:
    base_url: str
    client: httpx.AsyncClient


DATABASE_URL = ""  # --database-url: empty = SQLite in the data dir


@asynccontextmanager
async def mjrelay(fake: FakeUpstream, work: Path, **channel: Any) -> AsyncIterator[Served]:
    """A real ``mjrelay serve`` subprocess with one upstream channel pointing at ``fake``."""
    port = free_port()
    work.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - setup, not the measured path
    options = {
        "name": "up",
        "engine": "upstream",
        "base_url": fake.base_url,
        "secret": fake.secret,
        "auth": fake.auth,
        "mirror_allow_hosts": ["localhost"],
        **channel,
    }
    lines = [f"{k} = {json.dumps(v)}" for k, v in options.items()]
    config = work / "mjrelay.toml"
    database_url = await _fresh_database() if DATABASE_URL else ""
    database = f"database_url = {json.dumps(database_url)}\n" if database_url else ""
    config.write_text(
        database + f'data_dir = "{work / "data"}"\npublic_url = "http://127.0.0.1:{port}"\n'
        'log_level = "WARNING"\ncreate_initial_key = true\ntask_timeout_seconds = 3600\n\n'
        "[[channels]]\n" + "\n".join(lines) + "\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MJRELAY_")}
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
        [sys.executable, "-m", "mjrelay", "serve", "--config", str(config), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(base_url=base_url) as probe:
            while True:
                if process.poll() is not None:
                    raise RuntimeError("mjrelay serve exited")
                try:
                    if (await probe.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("mjrelay serve did not start")
                await asyncio.sleep(0.1)
        key = (work / "data" / "initial-api-key.txt").read_text().strip()
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {key}"},
            limits=limits,
            timeout=60,
        ) as client:
            yield Served(base_url, client)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        if database_url:
            name = database_url.rpartition("/")[2]
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def timed_posts(client: httpx.AsyncClient, path: str, n: int) -> list[float]:
    samples = []
    for i in range(n):
        started = time.perf_counter()
        answer = await client.post(path, json={"prompt": f"bench prompt {i}"})
        samples.append((time.perf_counter() - started) * 1000)
        assert answer.json()["code"] == 1, answer.text
    return samples


async def submit_overhead(work: Path, n: int) -> dict[str, float]:
    async with FakeUpstream(job_seconds=3600) as fake:
        headers = {"mj-api-secret": fake.secret}
        async with httpx.AsyncClient(base_url=fake.base_url, headers=headers) as direct:
            await timed_posts(direct, "/mj/submit/imagine", 50)  # warm up
            straight = await timed_posts(direct, "/mj/submit/imagine", n)
        async with mjrelay(fake, work / "overhead") as relay:
            await timed_posts(relay.client, "/mj/submit/imagine", 50)
            through = await timed_posts(relay.client, "/mj/submit/imagine", n)
    return {
        "direct_p50": pct(straight, 50),
        "direct_p99": pct(straight, 99),
        "relay_p50": pct(through, 50),
        "relay_p99": pct(through, 99),
        "added_p50": pct(through, 50) - pct(straight, 50),
        "added_p99": pct(through, 99) - pct(straight, 99),
    }


async def staleness(work: Path, tasks: int, **channel: Any) -> list[float]:
    """Seconds from upstream completion to the first client fetch that shows SUCCESS."""
    async with (
        FakeUpstream(job_seconds=1.0, progress_steps=2) as fake,
        mjrelay(fake, work, **channel) as relay,
    ):
        ids: list[str] = []
        seen: dict[str, float] = {}
        submitted = asyncio.Event()

        async def observe() -> None:
            """Watch every submitted task from the start, so no completion goes unseen."""
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                waiting = [i for i in ids if i not in seen]
                if not waiting and submitted.is_set():
                    return
                if waiting:
                    listed = await relay.client.post(
                        "/mj/task/list-by-condition", json={"ids": waiting}
                    )
                    now = time.monotonic()
                    for task in listed.json():
                        if task["status"] == "SUCCESS" and task["id"] not in seen:
                            seen[task["id"]] = now
                await asyncio.sleep(0.01)

        observer = asyncio.create_task(observe())
        for i in range(tasks):
            answer = await relay.client.post("/mj/submit/imagine", json={"prompt": f"s{i}"})
            ids.append(answer.json()["result"])
            await asyncio.sleep(0.02)  # spread completions out
        submitted.set()
        await observer
        uid_of = dict(zip(ids, fake.tasks, strict=True))
        return [seen[t] - fake.completed_at[uid_of[t]] for t in ids if t in seen]


async def requests_per_task(work: Path, inflight: int) -> dict[str, float]:
    async with (
        FakeUpstream(job_seconds=25.0, progress_steps=4) as fake,
        mjrelay(fake, work / "inflight", push=False, mirror=False) as relay,
    ):
        limit = asyncio.Semaphore(32)

        async def one(i: int) -> str:
            async with limit:
                answer = await relay.client.post("/mj/submit/imagine", json={"prompt": f"r{i}"})
                return str(answer.json()["result"])

        started = time.monotonic()
        ids = await asyncio.gather(*(one(i) for i in range(inflight)))
        submit_seconds = time.monotonic() - started
        # Watch poll cycles while every task is in flight.
        window_start = time.monotonic()
        await asyncio.sleep(12)
        window = [r for r in fake.requests if r.at >= window_start and "/submit/" not in r.path]
        cycles = _cycles([r.at for r in window if "list-by-condition" in r.path])
        in_flight = sum(1 for t in fake.tasks.values() if t["status"] != "SUCCESS")
        # Then let every job finish and count everything the relay asked the upstream.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            listed = await relay.client.post("/mj/task/list-by-condition", json={"ids": ids})
            if all(t["status"] == "SUCCESS" for t in listed.json()):
                break
            await asyncio.sleep(0.5)
        total = len(fake.requests)
        lists = sum(1 for r in fake.requests if "list-by-condition" in r.path)
        fetches = sum(1 for r in fake.requests if r.path.endswith("/fetch"))
        per_cycle = len(window) / max(1, cycles)
        return {
            "tasks": inflight,
            "submit_seconds": submit_seconds,
            "in_flight_during_window": in_flight,
            "poll_cycles_in_window": cycles,
            "requests_per_cycle": per_cycle,
            "requests_per_100_inflight_per_cycle": per_cycle / max(1, in_flight) * 100,
            "max_ids_per_list": max(
                (len(r.body["ids"]) for r in fake.requests if "list-by-condition" in r.path),
                default=0,
            ),
            "upstream_requests_per_task": total / inflight,
            "poll_requests_per_task": (lists + fetches) / inflight,
            "fetches": fetches,
        }


def _cycles(times: list[float], gap: float = 0.2) -> int:
    """Poll cycles = bursts of list calls separated by quiet gaps."""
    count, last = 0, -1e9
    for at in sorted(times):
        if at - last > gap:
            count += 1
        last = at
    return count


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submits", type=int, default=400)
    parser.add_argument("--stale-tasks", type=int, default=60)
    parser.add_argument("--inflight", type=int, default=1000)
    parser.add_argument(
        "--database-url", default="", help="e.g. postgresql+asyncpg://postgres@127.0.0.1/test"
    )
    args = parser.parse_args()
    global DATABASE_URL
    DATABASE_URL = args.database_url
    with tempfile.TemporaryDirectory(prefix="mjrelay-bench-") as tmp:
        work = Path(tmp)
        overhead = await submit_overhead(work, args.submits)
        push = await staleness(work / "push", args.stale_tasks)
        poll = await staleness(work / "poll", args.stale_tasks, push=False)
        load = await requests_per_task(work, args.inflight)
    print(f"## mjrelay relay benchmark ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    store = "PostgreSQL" if DATABASE_URL else "SQLite"
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {store}, all on 127.0.0.1")
    print(f"load average before: {os.getloadavg()[0]:.2f}\n")
    print(f"| submit, {args.submits} sequential | p50 ms | p99 ms |")
    print("|---|---|---|")
    for label, key in (
        ("straight to the upstream", "direct"),
        ("through mjrelay", "relay"),
        ("**added by mjrelay**", "added"),
    ):
        print(f"| {label} | {overhead[key + '_p50']:.2f} | {overhead[key + '_p99']:.2f} |")
    print()
    print(f"| staleness, {args.stale_tasks} tasks | p50 s | p95 s | max s |")
    print("|---|---|---|---|")
    for name, values in (("push (notifyHook)", push), ("polling only (defaults)", poll)):
        print(
            f"| {name} | {pct(values, 50):.3f} | {pct(values, 95):.3f} | {max(values):.3f} |"
            f"{'' if len(values) == args.stale_tasks else f' ({len(values)} seen)'}"
        )
    print()
    print(f"| {load['tasks']} tasks in flight, push off | value |")
    print("|---|---|")
    for key in (
        "in_flight_during_window",
        "poll_cycles_in_window",
        "requests_per_cycle",
        "requests_per_100_inflight_per_cycle",
        "max_ids_per_list",
        "poll_requests_per_task",
        "upstream_requests_per_task",
        "fetches",
        "submit_seconds",
    ):
        value = load[key]
        print(
            f"| {key.replace('_', ' ')} | {value:.3f} |"
            if isinstance(value, float)
            else f"| {key.replace('_', ' ')} | {value} |"
        )
    print(f"\nmean push staleness {statistics.mean(push):.3f} s")


if __name__ == "__main__":
    asyncio.run(main())
