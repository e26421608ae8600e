"""The engine kinds this build ships, and checking a channel declaration against them.

Kept apart from the ``engines.kinds`` contract: this is the one module that imports every
engine, and no engine imports it.
"""

from __future__ import annotations

from mjrelay.domain.channel import ChannelSpec
from mjrelay.engines.kinds import ChannelConfigError, EngineKind


def builtin_kinds() -> dict[str, EngineKind]:
    """Every engine kind this build knows. Imports are local: a kind costs nothing unused."""
    from mjrelay.engines.discord import discord_kind
    from mjrelay.engines.sandbox import sandbox_kind
    from mjrelay.engines.upstream import upstream_kind

    kinds = [sandbox_kind(), upstream_kind(), discord_kind()]
    return {kind.name: kind for kind in kinds}


def validate_channel(spec: ChannelSpec, kinds: dict[str, EngineKind] | None = None) -> None:
    """Raise ChannelConfigError unless ``spec`` names a known engine with valid options."""
    known = kinds if kinds is not None else builtin_kinds()
    kind = known.get(spec.engine)
    if kind is None:
        raise ChannelConfigError(
            f"channel {spec.name}: unknown engine {spec.engine!r} "
            f"(known: {', '.join(sorted(known))})"
        )
    kind.validate(spec)
