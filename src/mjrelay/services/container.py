"""What the HTTP layer may ask of a running relay: its services, by name and type.

``mjrelay.wiring.Relay`` builds and satisfies it; ``api`` depends on this protocol instead of
the wiring module, so the layers stay one way (wiring → api → services) and the routes see
only use cases, never the database or an engine.
"""

from __future__ import annotations

from typing import Protocol

from mjrelay.core.settings import Settings
from mjrelay.media.store import MediaStore
from mjrelay.services.channels.admin import ChannelAdmin
from mjrelay.services.health import HealthCheck
from mjrelay.services.operator.account import AccountService
from mjrelay.services.operator.admin import AdminService
from mjrelay.services.operator.exporter import MetricsExporter
from mjrelay.services.operator.service import Operator
from mjrelay.services.streams.watch import TaskWatcher
from mjrelay.services.tasks.push import PushReceiver
from mjrelay.services.tasks.service import TaskService
from mjrelay.store.keys import KeyStore


class Services(Protocol):
    """The relay as the API sees it (attributes are read-only to it)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def keys(self) -> KeyStore: ...
    @property
    def ops(self) -> Operator: ...
    @property
    def tasks(self) -> TaskService: ...
    @property
    def admin(self) -> AdminService: ...
    @property
    def account(self) -> AccountService: ...
    @property
    def channel_admin(self) -> ChannelAdmin: ...
    @property
    def exporter(self) -> MetricsExporter: ...
    @property
    def health(self) -> HealthCheck: ...
    @property
    def watcher(self) -> TaskWatcher: ...
    @property
    def push(self) -> PushReceiver: ...
    @property
    def media(self) -> MediaStore: ...

    async def start(self, *, migrate: bool = True) -> None:
        """Migrate (optionally), start engines and background work."""
        ...

    async def stop(self) -> None:
        """Stop background work and engines; close connections."""
        ...
