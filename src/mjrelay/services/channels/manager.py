"""Keeping the running engines in step with the declared channels.

At start: the channels of the config file (or, when it declares none, the implicit ``sandbox``
channel) are written to the database, then every channel in the database that is currently
declared (config, default, or added with ``channels add``) gets an engine. Every
``channel_refresh_seconds`` the table is read again, so ``channels add|disable|enable`` reach
running servers without a restart. A channel whose options are invalid is logged and skipped,
never fatal to the others.
"""

from __future__ import annotations

from mjrelay.core.background import Periodic, run_periodically
from mjrelay.core.logging import get_logger
from mjrelay.core.settings import Settings
from mjrelay.domain.channel import ChannelSpec
from mjrelay.engines.base import Engine, UpdateSink
from mjrelay.engines.builtin import builtin_kinds
from mjrelay.engines.kinds import ChannelConfigError, EngineContext, EngineKind
from mjrelay.engines.registry import EngineRegistry
from mjrelay.store.channels import ChannelStore

log = get_logger("mjrelay.channels")

DEFAULT_SANDBOX = ChannelSpec(name="sandbox", engine="sandbox", source="default")


def declared_channels(settings: Settings) -> list[ChannelSpec]:
    """The config file's channels, or the implicit sandbox when it declares none."""
    if settings.channels:
        return [ChannelSpec.from_config(config) for config in settings.channels]
    return [DEFAULT_SANDBOX]


class ChannelManager:
    def __init__(
        self,
        declared: list[ChannelSpec],
        store: ChannelStore,
        registry: EngineRegistry,
        context: EngineContext,
        *,
        refresh_seconds: float,
        injected: bool = False,
        kinds: dict[str, EngineKind] | None = None,
    ) -> None:
        # Only what it uses of the settings: the config's channels and the refresh pace.
        self._declared_specs = declared
        self._refresh_seconds = refresh_seconds
        self._store = store
        self._registry = registry
        self._context = context
        # Engines handed to Relay.build (tests): the registry is fixed, the table is not used.
        self._injected = injected
        self._kinds = kinds if kinds is not None else builtin_kinds()
        self._declared = {spec.name for spec in declared}
        self._sink: UpdateSink | None = None
        self._watcher: Periodic | None = None
        self._broken: set[str] = set()

    async def load(self) -> None:
        """Sync declared channels into the database and build their engines (not started)."""
        if self._injected:
            return
        await self._store.sync_declared(self._declared_specs)
        await self.refresh()

    def watch(self, sink: UpdateSink) -> None:
        """Start engines of channels added later with ``sink``, re-reading the table."""
        self._sink = sink
        if not self._injected and self._watcher is None:
            self._watcher = run_periodically(
                "channel refresh", self._refresh_seconds, self._refresh_round, log=log
            )

    async def stop(self) -> None:
        if self._watcher is not None:
            await self._watcher.stop()
            self._watcher = None

    def _wanted(self, spec: ChannelSpec) -> bool:
        return spec.name in self._declared or spec.source == "cli"

    async def refresh(self) -> list[str]:
        """Re-read the table; returns the names of channels that got a new engine."""
        added: list[str] = []
        for spec in await self._store.all():
            if not self._wanted(spec):
                continue
            if self._registry.get(spec.name) is not None:
                self._registry.put(spec)  # pause switch, weight, priority... take effect now
                continue
            engine = self._build(spec)
            if engine is None:
                continue
            if self._sink is not None:
                await engine.start(self._sink)
            self._registry.put(spec, engine)
            added.append(spec.name)
            log.info("channel ready", **spec.describe())
        return added

    def _build(self, spec: ChannelSpec) -> Engine | None:
        kind = self._kinds.get(spec.engine)
        try:
            if kind is None:
                raise ChannelConfigError(f"channel {spec.name}: unknown engine {spec.engine!r}")
            return kind.build(spec, self._context)
        except ChannelConfigError as exc:
            if spec.name not in self._broken:
                log.error("channel skipped", channel=spec.name, error=str(exc))
                self._broken.add(spec.name)
            return None

    async def _refresh_round(self) -> None:
        await self.refresh()
