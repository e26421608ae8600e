"""The composition root: the one place that builds stores and services and connects them.

Services receive their stores and collaborators, and of the settings only their own concern;
nothing below this module constructs a store or reads the root ``Settings``. The routes get
narrow dependencies from ``api.deps``, which reads them off the ``Relay`` built here.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from mjrelay.core.logging import get_logger
from mjrelay.core.netguard import Resolver, default_resolver
from mjrelay.core.settings import Settings
from mjrelay.engines.base import Engine
from mjrelay.engines.kinds import EngineContext, EngineDefaults
from mjrelay.engines.registry import EngineRegistry
from mjrelay.media.backends import build_backend
from mjrelay.media.fetch import ImageFetcher
from mjrelay.media.store import MediaStore
from mjrelay.services.channels.admin import ChannelAdmin
from mjrelay.services.channels.manager import ChannelManager, declared_channels
from mjrelay.services.health import HealthCheck
from mjrelay.services.operator.account import AccountService
from mjrelay.services.operator.admin import AdminService
from mjrelay.services.operator.callbacks import CallbackService
from mjrelay.services.operator.exporter import MetricsExporter
from mjrelay.services.operator.metrics import Metrics
from mjrelay.services.operator.pricing import PriceBook
from mjrelay.services.operator.ratelimit import Limiter, build_limiter
from mjrelay.services.operator.service import Operator
from mjrelay.services.streams.broker import TaskBroker
from mjrelay.services.streams.fanout_redis import RedisFanout
from mjrelay.services.streams.watch import TaskWatcher
from mjrelay.services.tasks.breaker import BreakerBoard
from mjrelay.services.tasks.cache import WireCache
from mjrelay.services.tasks.dispatch import Dispatcher
from mjrelay.services.tasks.lifecycle import TaskLifecycle
from mjrelay.services.tasks.limits import TaskLimits
from mjrelay.services.tasks.push import PushReceiver
from mjrelay.services.tasks.redispatch import Redispatcher
from mjrelay.services.tasks.router import ChannelRouter
from mjrelay.services.tasks.runner import Runner
from mjrelay.services.tasks.service import TaskService
from mjrelay.store.audit import AuditStore
from mjrelay.store.callbacks import CallbackStore
from mjrelay.store.channels import ChannelStore
from mjrelay.store.db import Database
from mjrelay.store.keys import KeyAccounts, KeyStore
from mjrelay.store.ledger import LedgerStore
from mjrelay.store.prices import PriceStore
from mjrelay.store.tasks import TaskStore

log = get_logger("mjrelay")


@dataclass
class Relay:
    settings: Settings
    db: Database
    keys: KeyStore
    media: MediaStore
    lifecycle: TaskLifecycle
    tasks: TaskService
    runner: Runner
    fetcher: ImageFetcher
    channels: ChannelManager
    dispatcher: Dispatcher
    ops: Operator
    streams: TaskBroker
    registry: EngineRegistry = field(repr=False)
    push: PushReceiver = field(repr=False)
    # What the routes depend on (``api.deps``), each a service with one concern.
    admin: AdminService = field(repr=False)
    account: AccountService = field(repr=False)
    channel_admin: ChannelAdmin = field(repr=False)
    exporter: MetricsExporter = field(repr=False)
    health: HealthCheck = field(repr=False)
    watcher: TaskWatcher = field(repr=False)
    fanout: RedisFanout | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        engines: list[Engine] | None = None,
        fetch_transport: httpx.AsyncBaseTransport | None = None,
        callback_transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver = default_resolver,
        limiter: Limiter | None = None,
        upstream_transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> Relay:
        """Wire every service; keyword arguments replace real collaborators in tests.

        ``clock`` (monotonic seconds) times the channels' circuit breakers, so a test can let
        a breaker's open period pass by advancing it instead of sleeping.
        """
        db = Database(settings.resolved_database_url)
        media = MediaStore(
            settings.images_dir, backend=build_backend(settings.media, settings.images_dir)
        )
        cache = WireCache(settings.fetch_cache_entries, cache_unfinished=db.is_sqlite)
        task_store = TaskStore(db)
        lifecycle = TaskLifecycle(task_store, cache)
        # Injected engines (tests) are fixed channels; otherwise channels come from config + DB.
        registry = EngineRegistry(engines, engines[0].name if engines else None)
        routing = settings.routing
        router = ChannelRouter(
            registry,
            BreakerBoard(
                failure_threshold=routing.breaker_failures,
                open_seconds=routing.breaker_open_seconds,
                clock=clock,
            ),
        )
        lifecycle.add_listener(router.note)
        dispatcher = Dispatcher(
            registry, router, lifecycle, submit_timeout=routing.submit_timeout_seconds
        )
        channel_store = ChannelStore(db)
        context = EngineContext(
            defaults=EngineDefaults(
                public_url=settings.public_url,
                max_image_bytes=settings.max_image_bytes,
                submit_timeout_seconds=routing.submit_timeout_seconds,
                sandbox=settings.sandbox,
            ),
            media=media,
            channel_state=channel_store,
            channel_tasks=task_store,
            instance_id=secrets.token_hex(8),
            http_transport=upstream_transport,
            redispatch=Redispatcher(dispatcher, lifecycle),
        )
        fetcher = ImageFetcher(max_bytes=settings.max_image_bytes, transport=fetch_transport)
        paid = _PaidSide.build(
            settings,
            db,
            limiter=limiter,
            callback_transport=callback_transport,
            resolver=resolver,
        )
        ops = paid.ops
        ops.attach(lifecycle)
        streams = TaskBroker(max_subscribers=settings.stream_max_clients)
        lifecycle.add_listener(streams.on_record)
        fanout = None
        if settings.redis_url:
            fanout = RedisFanout(settings.redis_url, settings.redis_channel, streams)
            streams.forward_to(fanout.publish)
        declared = declared_channels(settings)
        channels = ChannelManager(
            declared,
            channel_store,
            registry,
            context,
            refresh_seconds=settings.channel_refresh_seconds,
            injected=engines is not None,
        )
        limits = TaskLimits(
            max_prompt_chars=settings.max_prompt_chars,
            max_image_bytes=settings.max_image_bytes,
            max_image_pixels=settings.max_image_pixels,
            task_timeout_seconds=settings.task_timeout_seconds,
        )
        return cls(
            settings=settings,
            db=db,
            keys=paid.keys,
            media=media,
            lifecycle=lifecycle,
            tasks=TaskService(
                limits, lifecycle, registry, media, fetcher, dispatcher, gate=ops.gate
            ),
            runner=Runner(
                lifecycle,
                registry,
                timeout_seconds=settings.task_timeout_seconds,
                sweep_interval=settings.sweep_interval_seconds,
            ),
            fetcher=fetcher,
            ops=ops,
            streams=streams,
            fanout=fanout,
            channels=channels,
            dispatcher=dispatcher,
            registry=registry,
            push=PushReceiver(task_store, registry),
            admin=paid.admin,
            account=AccountService(ops.ledger, ops.key_limits, ops.callbacks),
            channel_admin=ChannelAdmin(
                channel_store, paid.audit, declared, router=router, refresh=channels.refresh
            ),
            exporter=MetricsExporter(ops.metrics, db, ops.ledger, ops.callbacks, router),
            health=HealthCheck(db),
            watcher=TaskWatcher(
                task_store, streams, heartbeat_seconds=settings.stream_heartbeat_seconds
            ),
        )

    async def start(self, *, migrate: bool = True) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self.media.ensure_root)  # S3: a network check
        if migrate:
            await self.db.migrate()
        if self.fanout is not None:
            await self.fanout.start()
        await self.channels.load()
        for record in await self.lifecycle.store.unfinished():
            await self.dispatcher.router.note(record)
        await self.runner.start()
        self.channels.watch(self.runner.sink)
        await self.ops.start()
        log.info("relay started", database=self.db.engine.url.render_as_string(hide_password=True))

    async def stop(self) -> None:
        self.health.drain()  # readiness answers 503 from the first moment of shutdown
        await self.channels.stop()
        await self.runner.stop()
        await self.ops.stop()
        if self.fanout is not None:
            await self.fanout.stop()
        await self.fetcher.close()
        await self.db.dispose()


@dataclass(frozen=True)
class _OperatorStores:
    """The operator layer's stores over one database: one set for a relay, or for the CLI."""

    keys: KeyStore
    accounts: KeyAccounts
    ledger: LedgerStore
    prices: PriceBook
    audit: AuditStore

    @classmethod
    def over(cls, db: Database, settings: Settings) -> _OperatorStores:
        return cls(
            KeyStore(db),
            KeyAccounts(db),
            LedgerStore(db),
            PriceBook(settings.ledger, PriceStore(db)),
            AuditStore(db),
        )

    def admin(self, db: Database) -> AdminService:
        return AdminService(db, self.keys, self.accounts, self.ledger, self.prices, self.audit)


@dataclass(frozen=True)
class _PaidSide:
    """The operator and the stores and services the routes share with it."""

    ops: Operator
    admin: AdminService
    keys: KeyStore
    audit: AuditStore

    @classmethod
    def build(
        cls,
        settings: Settings,
        db: Database,
        *,
        limiter: Limiter | None,
        callback_transport: httpx.AsyncBaseTransport | None,
        resolver: Resolver,
    ) -> _PaidSide:
        metrics = Metrics()
        stores = _OperatorStores.over(db, settings)
        callbacks = CallbackService(
            CallbackStore(db),
            settings.callbacks,
            metrics,
            public_url=settings.public_url,
            transport=callback_transport,
            resolver=resolver,
        )
        ops = Operator(
            ledger=stores.ledger,
            accounts=stores.accounts,
            prices=stores.prices,
            limiter=limiter
            if limiter is not None
            else build_limiter(settings.redis_url, prefix=settings.redis_prefix),
            callbacks=callbacks,
            metrics=metrics,
            rate_limits=settings.rate_limits,
        )
        return cls(ops, stores.admin(db), stores.keys, stores.audit)


def build_admin(db: Database, settings: Settings) -> AdminService:
    """The operator use cases over ``db``, for the CLI, which has a database but no relay."""
    return _OperatorStores.over(db, settings).admin(db)


def build_channel_admin(db: Database, settings: Settings) -> ChannelAdmin:
    """Channel switching over ``db``, for the CLI: the same audited path as ``/admin/channels``."""
    return ChannelAdmin(ChannelStore(db), AuditStore(db), declared_channels(settings))
