"""Channel administration shared by ``mjrelay channels disable|enable`` and ``/admin/channels``.

One code path switches and audits a channel (``ChannelAdmin``), so the CLI and the admin API
cannot drift apart: both write the same audit row, only the actor differs. Listings
describe a channel for an operator (declaration, health, load, why an engine stopped) and never
carry its options: they hold upstream secrets, tokens and hosts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mjrelay.core.errors import NotFound
from mjrelay.domain.channel import ChannelSpec
from mjrelay.services.tasks.router import ChannelRouter
from mjrelay.store.audit import AuditStore
from mjrelay.store.channels import ChannelStore


async def switch_channel(
    store: ChannelStore, declared: list[ChannelSpec], name: str, *, paused: bool
) -> ChannelSpec | None:
    """Pause (disable) or resume (enable) a channel; None when there is no such channel.

    Enabling also clears a reason an engine recorded for stopping (e.g. a dead Discord token):
    the operator vouches for the channel again.
    """
    await store.sync_declared(declared)
    spec = await store.set_paused(name, paused)
    if spec is not None and not paused:
        state = await store.get_state(name)
        if state.get("disabled_reason"):
            state.pop("disabled_reason", None)
            state.pop("disabled_at", None)
            await store.set_state(name, state)
    return spec


def channel_status(spec: ChannelSpec, reason: str, declared: set[str]) -> str:
    """active, paused, disabled, dead (an engine gave up on it) or removed (no longer declared)."""
    if spec.name not in declared and spec.source != "cli":
        return "removed"
    if reason:
        return "dead"
    if not spec.enabled:
        return "disabled"
    if spec.paused:
        return "paused"
    return "active"


async def channel_listing(
    store: ChannelStore, declared: list[ChannelSpec], router: ChannelRouter
) -> list[dict[str, Any]]:
    """Every channel as the admin API shows it (wire camelCase; no options)."""
    await store.sync_declared(declared)
    names = {spec.name for spec in declared}
    listing: list[dict[str, Any]] = []
    for spec in await store.all():
        state = await store.get_state(spec.name)
        reason = str(state.get("disabled_reason") or "")
        breaker = router.breakers.of(spec.name)
        listing.append(
            {
                "name": spec.name,
                "engine": spec.engine,
                "status": channel_status(spec, reason, names),
                "enabled": spec.enabled,
                "paused": spec.paused,
                "priority": spec.priority,
                "weight": spec.weight,
                "modes": sorted(spec.modes),
                "maxConcurrency": spec.max_concurrency,
                "running": router.registry.get(spec.name) is not None,
                "health": {
                    "breaker": breaker.state.value,
                    "consecutiveFailures": breaker.failures,
                },
                "inFlight": router.inflight(spec.name),
                "lastError": reason,
                "disabledAt": state.get("disabled_at"),
                "source": spec.source,
            }
        )
    return listing


class ChannelAdmin:
    """Lists channels, and switches one on an operator's behalf with an audit row.

    ``mjrelay.wiring`` builds it twice: for the running relay (with its router, so listings show
    health and load, and with the channel manager's refresh, so this instance routes by a switch
    at once) and for the CLI, which has neither: other instances pick the switch up on their
    next periodic refresh.
    """

    def __init__(
        self,
        store: ChannelStore,
        audit: AuditStore,
        declared: list[ChannelSpec],
        *,
        router: ChannelRouter | None = None,
        refresh: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._store = store
        self._audit = audit
        self._declared = declared
        self._router = router
        self._refresh = refresh

    async def listing(self) -> list[dict[str, Any]]:
        """Every channel as the admin API shows it (see ``channel_listing``)."""
        if self._router is None:
            raise RuntimeError("channel listings need the running relay's router")
        return await channel_listing(self._store, self._declared, self._router)

    async def switch(self, name: str, *, paused: bool, actor: str) -> ChannelSpec:
        """Disable (pause) or enable ``name`` and audit it as ``actor``.

        NotFound (and no audit row) when there is no such channel.
        """
        spec = await switch_channel(self._store, self._declared, name, paused=paused)
        if spec is None:
            raise NotFound(f"channel {name!r}: no such channel")
        action = "channel.disable" if paused else "channel.enable"
        await self._audit.add(actor, action, f"channel:{name}", {})
        if self._refresh is not None:
            await self._refresh()
        return spec
