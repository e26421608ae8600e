"""The one small interface every engine implements.

The task service hands an engine an ``EngineJob`` and the engine reports what happens through
``TaskUpdate``s sent to a sink. Engines never see HTTP requests, routes or SQL: what they need
from the rest of the relay (image storage, the network) is injected.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from mjrelay.domain.task import TaskAction
from mjrelay.domain.updates import TaskUpdate
from mjrelay.engines.push import TaskLoader

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
    # Video jobs: ``vid_1.1_i2v_480`` (SD) or ``vid_1.1_i2v_720`` (HD); '' means SD. A field of
    # its own rather than a prompt flag: Midjourney's prompt has no resolution parameter, and
    # the renderer must not guess the size from the text the client wrote.
    video_type: str = ""

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
            video_type=str(data.get("video_type", "")),
        )


@dataclass(frozen=True, slots=True)
class Admission:
    """An accepted job; ``queued`` when it waits for a free slot behind ``queued_ahead`` jobs."""

    queued: bool = False
    queued_ahead: int = 0


class UpdateSink(Protocol):
    async def __call__(self, update: TaskUpdate) -> None: ...


class Engine(ABC):
    """What the relay needs from an engine; every engine (and every test fake) subclasses it.

    The abstract methods are the work every engine must do. The concrete ones are capabilities
    with a neutral default, declared here rather than probed for, so a misspelt override is a
    type error instead of a silent "always accepting": routing asks ``accepting``/``occupancy``,
    dispatch asks ``refusal``, the push route asks ``verify_push``/``on_push``.

    ``submit`` raises ``core.errors.RelayError`` subclasses for refusals the client must see
    (``QueueFull`` → code 23, ``BannedPrompt`` → 24, ``ValidationFailed`` → 4); ``NotFound``
    says the channel cannot serve now and ``InternalFailure`` that it failed, both of which the
    dispatcher answers by trying another channel. Any other exception counts as a failure.
    """

    name: str

    @abstractmethod
    async def start(self, sink: UpdateSink) -> None:
        """Begin reporting updates to ``sink``; called once before any job."""

    @abstractmethod
    async def stop(self) -> None:
        """Release connections and background tasks; jobs stay resumable."""

    @abstractmethod
    async def submit(self, job: EngineJob) -> Admission:
        """Take a new job (or queue it); raise a ``RelayError`` to refuse it."""

    @abstractmethod
    async def cancel(self, task_id: str) -> bool:
        """Stop working on ``task_id``; False when the engine did not know it."""

    @abstractmethod
    async def resume(self, job: EngineJob, engine_state: dict[str, Any]) -> bool:
        """Pick a job up again after a restart; False means it cannot be resumed."""

    @abstractmethod
    async def image_seed(self, task_id: str, engine_state: dict[str, Any]) -> str | None:
        """The seed of a finished task's image, when the engine can tell it."""

    def accepting(self) -> bool:
        """False when the engine cannot take any job now (e.g. a disabled Discord account)."""
        return True

    def occupancy(self) -> float:
        """How busy the engine is, 0 idle to 1 full: ranks channels of equal priority."""
        return 0.0

    def refusal(self, job: EngineJob) -> str | None:
        """Why this engine declines ``job`` before trying it (None: it will try).

        A declined job is not a failure of the channel: the dispatcher moves on to the next
        channel without counting it against the channel's circuit breaker.
        """
        return None

    def verify_push(self, task_id: str, signature: str) -> bool:
        """Whether a status push for ``task_id`` carries this engine's signature.

        Engines without pushes (the default) reject every one, so the route answers 401.
        """
        return False

    async def on_push(self, task_id: str, payload: Any, load: TaskLoader) -> bool:
        """Apply a verified status push; True when it was used (or a harmless repeat)."""
        return False
