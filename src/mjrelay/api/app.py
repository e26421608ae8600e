"""The ASGI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from mjrelay import __version__
from mjrelay.api.deps import KeyCache
from mjrelay.api.errors import install_error_handlers
from mjrelay.api.middleware import BodyLimitMiddleware, ModePrefixMiddleware
from mjrelay.api.routes import service, streams, submit, tasks
from mjrelay.api.routes.ui import install_ui
from mjrelay.services.relay import Relay

DESCRIPTION = """
A Midjourney-compatible relay. Authenticate with `Authorization: Bearer <key>` or
`mj-api-secret: <key>`. Every `/mj/...` path is also served under `/mj-fast/mj/...`,
`/mj-relax/mj/...` and `/mj-turbo/mj/...`, which set the job's speed mode.
"""


def create_app(relay: Relay, *, manage_lifecycle: bool = True) -> FastAPI:
    """Build the app around a relay; with ``manage_lifecycle`` the app starts and stops it."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await relay.start()
        try:
            yield
        finally:
            if manage_lifecycle:
                await relay.stop()

    app = FastAPI(title="mjrelay", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.relay = relay
    app.state.key_cache = KeyCache(relay.settings.auth_cache_seconds)
    install_error_handlers(app)
    app.include_router(service.router)
    app.include_router(submit.router)
    app.include_router(tasks.router)
    app.include_router(streams.router)
    install_ui(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=relay.settings.max_body_bytes)
    app.add_middleware(ModePrefixMiddleware)
    return app
