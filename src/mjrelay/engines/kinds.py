"""The engine-kind contract: what ``engine = "..."`` in a ``[[channels]]`` entry can name.

Each kind brings a pydantic model for its options (the engine-specific keys of the channel
table) and a factory that builds one engine per channel from an ``EngineContext``. Engines
import this module; the list of built-in kinds lives in ``engines.builtin``, which imports the
engines, so that no engine imports the module that imports every engine. Adding an engine =
writing its module and registering its kind in ``builtin.builtin_kinds``; routing, failover,
breakers, the CLI and the database need no change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ValidationError

from mjrelay.core.settings import SandboxSettings
from mjrelay.domain.channel import ChannelSpec, PendingTask
from mjrelay.engines.base import Engine
from mjrelay.media.store import MediaStore


class ChannelConfigError(ValueError):
    """A channel's options are invalid; the message names the channel and the field."""


class ChannelState(Protocol):
    """Per-channel persistence an engine may use (implemented by ``store.channels``)."""

    async def get_state(self, name: str) -> dict[str, Any]: ...

    async def set_state(self, name: str, state: dict[str, Any]) -> None: ...

    async def try_lease(self, name: str, owner: str, ttl_ms: int) -> bool: ...

    async def release_lease(self, name: str, owner: str) -> None: ...


class ChannelTasks(Protocol):
    """The unfinished tasks of a channel, whichever instance submitted them."""

    async def pending_of(self, channel: str) -> list[PendingTask]: ...

    async def finished_of(self, channel: str, since_ms: int) -> list[PendingTask]:
        """Tasks of the channel that succeeded since ``since_ms`` (epoch ms)."""
        ...


#: Moves a job off a channel that died (task id, channel to avoid, reason); False when no other
#: channel took it and the task was failed instead. Implemented by ``services.tasks.redispatch``.
Redispatch = Callable[[str, str, str], Awaitable[bool]]


@dataclass(frozen=True)
class EngineDefaults:
    """The relay-wide values an engine falls back on where its channel's options are silent.

    Engines get these, not the whole ``Settings``: what an engine may depend on is listed here.
    """

    public_url: str = ""
    max_image_bytes: int = 10 * 1024 * 1024
    submit_timeout_seconds: float = 20.0
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)


@dataclass(frozen=True)
class EngineContext:
    """What the relay lends every engine. Engines never see routes or SQL, only these."""

    defaults: EngineDefaults
    media: MediaStore
    channel_state: ChannelState
    channel_tasks: ChannelTasks
    # Identifies this process among several sharing a database (lease owner).
    instance_id: str
    # Injected into outbound HTTP clients by tests/benchmarks; None = real network.
    http_transport: httpx.AsyncBaseTransport | None = None
    # Lets an engine hand its jobs to another channel (a Discord account whose token died).
    redispatch: Redispatch | None = None


Factory = Callable[[ChannelSpec, Any, EngineContext], Engine]


@dataclass(frozen=True)
class EngineKind:
    name: str
    options_model: type[BaseModel]
    factory: Factory

    def validate(self, spec: ChannelSpec) -> BaseModel:
        unknown = sorted(set(spec.options) - set(self.options_model.model_fields))
        if unknown:
            raise ChannelConfigError(
                f"channel {spec.name}: unknown option(s) for engine {self.name}: "
                + ", ".join(unknown)
            )
        try:
            return self.options_model.model_validate(spec.options)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            )
            raise ChannelConfigError(f"channel {spec.name}: {problems}") from None

    def build(self, spec: ChannelSpec, context: EngineContext) -> Engine:
        return self.factory(spec, self.validate(spec), context)
