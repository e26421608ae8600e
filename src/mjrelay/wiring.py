"""Wires the relay together: one object that owns the database, engines and services."""

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
from mjrelay.engines.kinds import EngineContext
from mjrelay.engines.registry import EngineRegistry
from mjrelay.media.backends import build_backend
from mjrelay.media.fetch import ImageFetcher
from mjrelay.media.store import MediaStore
from mjrelay.services.channels.manager import ChannelManager
from mjrelay.services.operator.ratelimit import Limiter
from mjrelay.services.operator.service import Operator
from mjrelay.services.streams.broker import TaskBroker
from mjrelay.services.streams.fanout_redis import RedisFanout
from mjrelay.services.tasks.breaker import BreakerBoard
from mjrelay.services.tasks.cache import WireCache
from mjrelay.services.tasks.dispatch import Dispatcher
from mjrelay.services.tasks.lifecycle import TaskLifecycle
from mjrelay.services.tasks.push import PushReceiver
from mjrelay.services.tasks.redispatch import Redispatcher
from mjrelay.services.tasks.router import ChannelRouter
from mjrelay.services.tasks.runner import Runner
from mjrelay.services.tasks.service import TaskService
from mjrelay.store.channels import ChannelStore
from mjrelay.store.db import Database
from mjrelay.store.keys import KeyStore
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
            settings=settings,
            media=media,
            channel_state=channel_store,
            channel_tasks=task_store,
            instance_id=secrets.token_hex(8),
            http_transport=upstream_transport,
            extras={"redispatch": Redispatcher(dispatcher, lifecycle)},
        )
        fetcher = ImageFetcher(max_bytes=settings.max_image_bytes, transport=fetch_transport)
        ops = Operator(
            settings,
            db,
            limiter=limiter,
            callback_transport=callback_transport,
            resolver=resolver,
        )
        ops.attach(lifecycle)
        streams = TaskBroker(max_subscribers=settings.stream_max_clients)
        lifecycle.add_listener(streams.on_record)
        fanout = None
        if settings.redis_url:
            fanout = RedisFanout(settings.redis_url, settings.redis_channel, streams)
            streams.forward_to(fanout.publish)
        return cls(
            settings=settings,
            db=db,
            keys=KeyStore(db),
            media=media,
            lifecycle=lifecycle,
            tasks=TaskService(
                settings, lifecycle, registry, media, fetcher, ops.gate, dispatcher=dispatcher
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
            channels=ChannelManager(
                settings, channel_store, registry, context, injected=engines is not None
            ),
            dispatcher=dispatcher,
            registry=registry,
            push=PushReceiver(task_store, registry),
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
        await self.channels.stop()
        await self.runner.stop()
        await self.ops.stop()
        if self.fanout is not None:
            await self.fanout.stop()
        await self.fetcher.close()
        await self.db.dispose()
