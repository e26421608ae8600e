"""Receiving status pushes (callbacks) from channels, e.g. an upstream's ``notifyHook`` calls.

The route carries no API key: the signature in the URL is the credential, checked by the
engine of the task's channel. Unknown tasks and bad signatures look the same (HTTP 401), and
callbacks for finished tasks are acknowledged and dropped (late duplicates are normal).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import orjson

from mjrelay.core.errors import Unauthorized, ValidationFailed
from mjrelay.core.logging import get_logger
from mjrelay.domain.task import TaskAction
from mjrelay.engines.registry import EngineRegistry
from mjrelay.store.tasks import TaskStore

log = get_logger("mjrelay.push")

MAX_PUSH_BYTES = 1024 * 1024


@runtime_checkable
class PushTarget(Protocol):
    def verify_push(self, task_id: str, signature: str) -> bool: ...

    async def on_push(
        self, task_id: str, action: TaskAction, engine_state: dict[str, Any], payload: Any
    ) -> bool: ...


class PushReceiver:
    def __init__(self, store: TaskStore, registry: EngineRegistry) -> None:
        self._store = store
        self._registry = registry

    async def receive(self, task_id: str, signature: str, body: bytes) -> bool:
        """Apply one push; True when it was used, False when ignored (finished, not ours)."""
        record = await self._store.get(task_id) if len(task_id) <= 32 else None
        engine = None if record is None else self._registry.get(record.engine)
        if (
            record is None
            or not isinstance(engine, PushTarget)
            or not engine.verify_push(task_id, signature)
        ):
            raise Unauthorized("invalid callback signature", http_status=401)
        if len(body) > MAX_PUSH_BYTES:
            raise ValidationFailed("body: callback larger than 1 MiB", http_status=413)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ValidationFailed("body: not JSON", http_status=400) from None
        if record.task.status.is_final:
            return False
        used = await engine.on_push(task_id, record.task.action, record.engine_state, payload)
        if not used:
            log.warning("push for another upstream task ignored", task_id=task_id)
        return used
