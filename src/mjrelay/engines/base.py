"""The one small interface every engine implements.

The task service hands an engine an ``EngineJob`` and the engine reports what happens through
``TaskUpdate``s sent to a sink. Engines never see HTTP requests, routes or SQL: what they need
from the rest of the relay (image storage, the network) is injected.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

from mjrelay.domain.task import TaskAction
from mjrelay.domain.updates import TaskUpdate

__all__ = ["Admission", "Engine", "EngineJob", "ParentRef", "TaskUpdate", "UpdateSink"]


@dataclass(frozen=True, slots=True)
class ParentRef:
    """What an action needs to know about the task whose button was pressed."""

    task_id: str
    action: TaskAction
    prompt: str
    engine_state: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EngineJob:
    """A unit of work, persisted with its task so it can be resumed after a restart."""

    task_id: str
    action: TaskAction
    prompt: str = ""
    mode: str = ""
    bot_type: str = "MID_JOURNEY"
    custom_id: str = ""
    parent: ParentRef | None = None
    # Media keys of input images (reference images, blend sources, describe input).
    images: tuple[str, ...] = ()
    mask: str = ""
    dimensions: str = ""
    link: str = ""
    enable_remix: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["action"] = self.action.value
        data["images"] = list(self.images)
        if self.parent is not None:
            data["parent"]["action"] = self.parent.action.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineJob:
        parent = data.get("parent")
        return cls(
            task_id=data["task_id"],
            action=TaskAction(data["action"]),
            prompt=data.get("prompt", ""),
            mode=data.get("mode", ""),
            bot_type=data.get("bot_type", "MID_JOURNEY"),
            custom_id=data.get("custom_id", ""),
            parent=None
            if parent is None
            else ParentRef(
                task_id=parent["task_id"],
                action=TaskAction(parent["action"]),
                prompt=parent.get("prompt", ""),
                engine_state=dict(parent.get("engine_state", {})),
            ),
            images=tuple(data.get("images", ())),
            mask=data.get("mask", ""),
            dimensions=data.get("dimensions", ""),
            link=data.get("link", ""),
            enable_remix=bool(data.get("enable_remix", False)),
        )


@dataclass(frozen=True, slots=True)
class Admission:
    """An accepted job; ``queued`` when it waits for a free slot behind ``queued_ahead`` jobs."""

    queued: bool = False
    queued_ahead: int = 0


class UpdateSink(Protocol):
    async def __call__(self, update: TaskUpdate) -> None: ...


class Engine(Protocol):
    """What the task service needs from an engine.

    ``submit`` raises ``core.errors.RelayError`` subclasses for refusals the client must see
    (``QueueFull`` → code 23, ``BannedPrompt`` → 24, ``NotFound`` → 3).
    """

    name: str

    async def start(self, sink: UpdateSink) -> None: ...

    async def stop(self) -> None: ...

    async def submit(self, job: EngineJob) -> Admission: ...

    async def cancel(self, task_id: str) -> bool: ...

    async def resume(self, job: EngineJob, engine_state: dict[str, Any]) -> bool:
        """Pick a job up again after a restart; False means it cannot be resumed."""
        ...

    async def image_seed(self, task_id: str, engine_state: dict[str, Any]) -> str | None: ...
