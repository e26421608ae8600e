"""The ``discord`` engine kind: Midjourney through Discord user accounts (one per channel).

Modules: ``options`` (account config), ``payloads`` (interaction JSON), ``rest`` (REST calls,
uploads, 429s), ``gateway`` (WebSocket session), ``messages`` (bot message parsing), ``tracker``
(reply → job matching), ``slots`` (per-account concurrency and queue), ``engine`` (the engine).
"""

from __future__ import annotations

from typing import Any

from mjrelay.domain.channel import ChannelSpec
from mjrelay.engines.base import Engine
from mjrelay.engines.kinds import EngineContext, EngineKind


def _build(spec: ChannelSpec, options: Any, context: EngineContext) -> Engine:
    from mjrelay.engines.discord.engine import DiscordEngine

    return DiscordEngine(spec, options, context)


def discord_kind() -> EngineKind:
    from mjrelay.engines.discord.options import DiscordOptions

    return EngineKind("discord", DiscordOptions, _build)
