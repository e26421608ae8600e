"""Receiving status pushes (callbacks) from channels, e.g. an upstream's ``notifyHook`` calls.

The route carries no API key: the signature in the URL is the credential, checked by the
engine of the channel named in the URL before anything else is done. Repeats are recognised by
the engine without touching the database (upstreams echo every state, often twice); the task
row is read only for a report that may change it, and reports for finished tasks are dropped.
"""

from __future__ import annotations

import orjson

from mjrelay.core.errors import Unauthorized, ValidationFailed
from mjrelay.core.logging import get_logger
from mjrelay.engines.push import PushedTask
from mjrelay.engines.registry import EngineRegistry
from mjrelay.store.tasks import TaskStore

log = get_logger("mjrelay.push")

MAX_PUSH_BYTES = 1024 * 1024


class PushReceiver:
    def __init__(self, store: TaskStore, registry: EngineRegistry) -> None:
        self._store = store
        self._registry = registry

    async def receive(self, channel: str, task_id: str, signature: str, body: bytes) -> bool:
        """Apply one push; True when it was used (or a harmless repeat), False when ignored."""
        engine = self._registry.get(channel)
        # Engines that take no pushes reject every signature (``Engine.verify_push`` default).
        if len(task_id) > 32 or engine is None or not engine.verify_push(task_id, signature):
            raise Unauthorized("invalid callback signature", http_status=401)
        if len(body) > MAX_PUSH_BYTES:
            raise ValidationFailed("body: callback larger than 1 MiB", http_status=413)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ValidationFailed("body: not JSON", http_status=400) from None

        async def load() -> PushedTask | None:
            record = await self._store.get(task_id)
            if record is None or record.engine != channel:
                return None
            return PushedTask(record.task.action, record.task.status.is_final, record.engine_state)

        used = await engine.on_push(task_id, payload, load)
        if not used:
            log.warning("push ignored", task_id=task_id, channel=channel)
        return used
