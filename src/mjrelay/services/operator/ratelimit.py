"""Per-key rate limits: requests per second (GCRA) and jobs in flight.

Two interchangeable backends: in-process (one instance) and Redis (shared by every instance,
atomic through Lua scripts). Jobs in flight are tracked per task id with the task's deadline as
expiry, so a slot lost in a crash frees itself when the task would have timed out anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, cast


class Limiter(Protocol):
    async def hit(self, key_id: int, rate: float, burst: int) -> float:
        """Count one request; 0 if allowed, else seconds until one would be."""
        ...

    async def enter(self, key_id: int, task_id: str, limit: int, expires_ms: int) -> bool:
        """Take a job slot for ``task_id``; False when ``limit`` jobs are in flight."""
        ...

    async def leave(self, task_id: str) -> None:
        """Give the task's slot back (idempotent)."""
        ...

    async def in_flight(self, key_id: int) -> int: ...

    async def close(self) -> None: ...


def _gcra(tat: float, now: float, rate: float, burst: int) -> tuple[float, float]:
    """(new theoretical arrival time, retry-after seconds); retry 0 means allowed."""
    interval = 1.0 / rate
    tolerance = interval * (max(burst, 1) - 1)
    tat = max(tat, now)
    allow_at = tat - tolerance
    if now < allow_at:
        return tat, allow_at - now
    return tat + interval, 0.0


class MemoryLimiter:
    """For a single instance: state lives in this process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tat: dict[int, float] = {}
        self._slots: dict[int, dict[str, int]] = {}
        self._owner: dict[str, int] = {}

    async def hit(self, key_id: int, rate: float, burst: int) -> float:
        now = self._clock()
        tat, retry = _gcra(self._tat.get(key_id, now), now, rate, burst)
        if retry == 0:
            self._tat[key_id] = tat
        return retry

    async def enter(self, key_id: int, task_id: str, limit: int, expires_ms: int) -> bool:
        slots = self._slots.setdefault(key_id, {})
        now = int(time.time() * 1000)
        for stale in [t for t, expires in slots.items() if expires < now]:
            del slots[stale]
            self._owner.pop(stale, None)
        if task_id not in slots and len(slots) >= limit:
            return False
        slots[task_id] = expires_ms
        self._owner[task_id] = key_id
        return True

    async def leave(self, task_id: str) -> None:
        key_id = self._owner.pop(task_id, None)
        if key_id is not None:
            self._slots.get(key_id, {}).pop(task_id, None)

    async def in_flight(self, key_id: int) -> int:
        return len(self._slots.get(key_id, {}))

    async def close(self) -> None:
        return None


_HIT = """
local now = tonumber(redis.call('TIME')[1]) + tonumber(redis.call('TIME')[2]) / 1000000
local interval = 1.0 / tonumber(ARGV[1])
local burst = math.max(tonumber(ARGV[2]), 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - interval * (burst - 1)
if now < allow_at then return tostring(allow_at - now) end
local new_tat = tat + interval
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return '0'
"""

_ENTER = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[3]) == false
   and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.call('SET', KEYS[2], KEYS[1], 'PXAT', ARGV[5])
return 1
"""

_LEAVE = """
local slots = redis.call('GET', KEYS[1])
if slots then
  redis.call('ZREM', slots, ARGV[1])
  redis.call('DEL', KEYS[1])
end
return 1
"""


class RedisLimiter:
    """Shared by every instance that uses the same Redis (``MJRELAY_REDIS_URL``)."""

    def __init__(self, url: str, *, prefix: str = "mjrelay") -> None:
        from redis.asyncio import Redis

        self._redis: Any = Redis.from_url(url, decode_responses=True)
        self._prefix = prefix
        self._hit = self._redis.register_script(_HIT)
        self._enter = self._redis.register_script(_ENTER)
        self._leave = self._redis.register_script(_LEAVE)

    def _key(self, *parts: object) -> str:
        return ":".join([self._prefix, *(str(part) for part in parts)])

    async def hit(self, key_id: int, rate: float, burst: int) -> float:
        retry = await self._hit(keys=[self._key("rate", key_id)], args=[rate, burst])
        return float(cast(str, retry))

    async def enter(self, key_id: int, task_id: str, limit: int, expires_ms: int) -> bool:
        now = int(time.time() * 1000)
        result = await self._enter(
            keys=[self._key("inflight", key_id), self._key("task", task_id)],
            args=[now, limit, task_id, expires_ms, max(expires_ms, now + 1000)],
        )
        return int(result) == 1

    async def leave(self, task_id: str) -> None:
        await self._leave(keys=[self._key("task", task_id)], args=[task_id])

    async def in_flight(self, key_id: int) -> int:
        key = self._key("inflight", key_id)
        await self._redis.zremrangebyscore(key, "-inf", int(time.time() * 1000))
        return int(await self._redis.zcard(key))

    async def close(self) -> None:
        await self._redis.aclose()


def build_limiter(redis_url: str, *, prefix: str = "mjrelay") -> Limiter:
    return RedisLimiter(redis_url, prefix=prefix) if redis_url else MemoryLimiter()
