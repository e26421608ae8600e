"""Rate limits: the in-memory and the Redis backend behave alike; HTTP answers 429."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mjrelay.core.settings import SandboxSettings
from mjrelay.core.settings.operator import RateLimitSettings
from mjrelay.services.operator.ratelimit import Limiter, MemoryLimiter, RedisLimiter
from tests.support.live import running_relay, wait_for_status
from tests.support.settings import fast_settings
from tests.support.waiting import until_async

REDIS_URL = "redis://127.0.0.1:6379/0"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _redis_available() -> bool:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        return bool(await client.ping())
    except OSError:
        return False
    finally:
        await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[Limiter]:
    if request.param == "memory":
        yield MemoryLimiter()
        return
    if not await _redis_available():
        pytest.skip("Redis not reachable at 127.0.0.1:6379")
    redis_limiter = RedisLimiter(REDIS_URL, prefix=f"mjrelay-test-{uuid.uuid4().hex}")
    yield redis_limiter
    await redis_limiter.close()


async def test_requests_per_second_with_burst(limiter: Limiter) -> None:
    allowed = [await limiter.hit(1, 5.0, 5) == 0 for _ in range(8)]
    assert allowed == [True] * 5 + [False] * 3
    retry = await limiter.hit(1, 5.0, 5)
    assert 0 < retry <= 0.2 + 0.05
    assert await limiter.hit(2, 5.0, 5) == 0  # other keys are not affected
    # A refused hit is not counted, so asking again until one passes waits out the retry time.
    started = time.monotonic()

    async def allowed_again() -> bool:
        return await limiter.hit(1, 5.0, 5) == 0

    await until_async(allowed_again, within=2)
    assert time.monotonic() - started >= retry - 0.05


async def test_jobs_in_flight(limiter: Limiter) -> None:
    later = int(time.time() * 1000) + 60_000
    assert await limiter.enter(7, "a", 2, later)
    assert await limiter.enter(7, "b", 2, later)
    assert not await limiter.enter(7, "c", 2, later)
    assert await limiter.enter(7, "a", 2, later)  # the same task again takes no new slot
    assert await limiter.in_flight(7) == 2
    await limiter.leave("a")
    await limiter.leave("a")
    assert await limiter.enter(7, "c", 2, later)
    assert not await limiter.enter(7, "d", 2, later)
    # A slot past its task's deadline frees itself (a crash never leaks slots for long).
    await limiter.leave("b")
    await limiter.leave("c")
    assert await limiter.enter(8, "x", 1, int(time.time() * 1000) - 1)
    assert await limiter.enter(8, "y", 1, later)


async def test_memory_gcra_uses_the_injected_clock() -> None:
    clock = Clock()
    memory = MemoryLimiter(clock)
    assert await memory.hit(1, 2.0, 1) == 0
    assert await memory.hit(1, 2.0, 1) == pytest.approx(0.5)
    clock.now += 0.5
    assert await memory.hit(1, 2.0, 1) == 0


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_http_429_with_retry_after(backend: str, tmp_path: Path) -> None:
    overrides: dict[str, object] = {
        "rate_limits": RateLimitSettings(requests_per_second=2, burst=2),
    }
    if backend == "redis":
        if not await _redis_available():
            pytest.skip("Redis not reachable at 127.0.0.1:6379")
        overrides |= {"redis_url": REDIS_URL, "redis_prefix": f"t-{uuid.uuid4().hex}"}
    settings = fast_settings(tmp_path / "data", **overrides)
    async with running_relay(settings) as live, live.client() as client:
        answers = [await client.get("/mj/task/list") for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        limited = answers[2]
        assert limited.headers["retry-after"] == "1"
        body = limited.json()
        assert body["description"].startswith("too many requests")
        assert set(body) == {"code", "description", "result", "properties"}


async def test_jobs_in_flight_over_http(tmp_path: Path) -> None:
    settings = fast_settings(
        tmp_path / "data",
        rate_limits=RateLimitSettings(max_in_flight=1),
        sandbox=SandboxSettings(job_seconds=30, progress_steps=1),
    )
    async with running_relay(settings) as live, live.client() as client:
        first = (await client.post("/mj/submit/imagine", json={"prompt": "one"})).json()
        assert first["code"] == 1
        second = await client.post("/mj/submit/imagine", json={"prompt": "two"})
        assert second.status_code == 429
        assert second.json()["description"].startswith("too many jobs in flight")
        assert (await client.post(f"/mj/task/{first['result']}/cancel")).json()["code"] == 1
        await wait_for_status(client, first["result"], {"CANCEL"})
        third = (await client.post("/mj/submit/imagine", json={"prompt": "three"})).json()
        assert third["code"] == 1
        assert [t["prompt"] for t in (await client.get("/mj/task/list")).json()] == [
            "three",
            "one",
        ]
