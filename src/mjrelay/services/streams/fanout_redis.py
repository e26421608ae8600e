"""Task changes across relay instances through Redis pub/sub (``MJRELAY_REDIS_URL``).

Each instance publishes the changes it applies and delivers the changes other instances publish
to its own broker, so a stream opened on any instance sees a task whatever instance runs it.
Publishing goes through a bounded outbox drained by one background task: a slow or unreachable
Redis costs dropped cross-instance events (logged), never a stalled lifecycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Any

import orjson
import redis.asyncio as aioredis

from mjrelay.core.logging import get_logger
from mjrelay.services.streams.broker import TaskBroker, TaskEvent

log = get_logger("mjrelay.streams.redis")

RECONNECT_MAX_SECONDS = 10.0


class RedisFanout:
    def __init__(
        self, url: str, channel: str, broker: TaskBroker, *, outbox_size: int = 1000
    ) -> None:
        self._url = url
        self._channel = channel
        self._broker = broker
        self.instance = secrets.token_hex(8)
        self._outbox: asyncio.Queue[TaskEvent] = asyncio.Queue(maxsize=outbox_size)
        self._client: aioredis.Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()
        self.dropped = 0

    async def publish(self, event: TaskEvent) -> None:
        """Queue a local change for the other instances; never waits."""
        try:
            self._outbox.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("redis outbox full, event dropped", task_id=event.task_id)

    async def start(self, *, ready_timeout: float = 5.0) -> None:
        self._client = aioredis.Redis.from_url(self._url)
        self._tasks = [
            asyncio.create_task(self._receive_forever(), name="mjrelay-redis-receive"),
            asyncio.create_task(self._send_forever(), name="mjrelay-redis-send"),
        ]
        try:
            await asyncio.wait_for(self._subscribed.wait(), ready_timeout)
        except TimeoutError:
            log.error(
                "redis not reachable yet; streams stay local until it is", channel=self._channel
            )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _encode(self, event: TaskEvent) -> bytes:
        return orjson.dumps(
            {
                "i": self.instance,
                "t": event.tenant_id,
                "k": event.task_id,
                "v": event.version,
                "f": event.final,
                "w": event.wire.decode(),
            }
        )

    def _decode(self, data: bytes) -> TaskEvent | None:
        try:
            raw: dict[str, Any] = orjson.loads(data)
            if raw.get("i") == self.instance:
                return None
            return TaskEvent(
                int(raw["t"]), str(raw["k"]), int(raw["v"]), bool(raw["f"]), raw["w"].encode()
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            log.warning("malformed message on the task channel ignored", channel=self._channel)
            return None

    async def _send_forever(self) -> None:
        assert self._client is not None
        while True:
            event = await self._outbox.get()
            delay = 0.1
            while True:
                try:
                    await self._client.publish(self._channel, self._encode(event))
                    break
                except (aioredis.RedisError, OSError) as exc:
                    if self._outbox.full():
                        self.dropped += 1
                        log.warning("redis publish failed, event dropped", error=str(exc))
                        break
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def _receive_forever(self) -> None:
        assert self._client is not None
        delay = 0.1
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._subscribed.set()
                log.info("subscribed to task changes", channel=self._channel)
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    event = self._decode(message["data"])
                    if event is not None:
                        self._broker.deliver(event)
            except (aioredis.RedisError, OSError) as exc:
                log.warning("redis subscription lost, reconnecting", error=str(exc))
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)
