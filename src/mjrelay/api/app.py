"""The ASGI application."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from mjrelay import __version__
from mjrelay.api.contract import declare_error_statuses, without_unused_validation_status
from mjrelay.api.deps import BaseURLs, KeyCache, KeyCheck
from mjrelay.api.errors import install_error_handlers
from mjrelay.api.fast_fetch import FastFetch
from mjrelay.api.middleware import (
    BodyLimitMiddleware,
    JsonBodyMiddleware,
    ModePrefixMiddleware,
    NulInURLMiddleware,
)
from mjrelay.api.routes import (
    account,
    admin,
    insight_face,
    metrics,
    service,
    streams,
    submit,
    tasks,
    upstream,
)
from mjrelay.api.routes.ui import install_ui
from mjrelay.services.container import Services

DESCRIPTION = """
A Midjourney-compatible relay. Authenticate with `Authorization: Bearer <key>` or
`mj-api-secret: <key>`. Every `/mj/...` path is also served under `/mj-fast/mj/...`,
`/mj-relax/mj/...` and `/mj-turbo/mj/...`, which set the job's speed mode.
"""


# Young-generation threshold while serving (CPython's default is 700). See tune_gc_for_serving.
GC_YOUNG_THRESHOLD = 20_000


def tune_gc_for_serving() -> None:
    """Keep the cyclic garbage collector off the request path, once startup is done.

    The modules, models and engines loaded at startup (a few hundred thousand objects) live as
    long as the process, yet every full collection walked all of them again: measured with
    ``bench/fetch.py``, that was a third of the CPU time of a polled fetch. Freezing moves them
    out of the collector's reach (reference counting still frees them). A larger young
    generation then means fewer collections, and fewer in-flight request objects promoted to
    older generations only to die there: a few more percent of fetch throughput.
    """
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), middle, old)


class RelayApp(FastAPI):
    """FastAPI with one pure-ASGI layer in front of all of FastAPI's own: ``api.fast_fetch``."""

    front: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is None:
            await super().__call__(scope, receive, send)
        else:
            await self.front(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        """FastAPI's document, less the 422 answers this app never gives (``api.contract``)."""
        if self.openapi_schema is None:
            self.openapi_schema = without_unused_validation_status(super().openapi())
        return self.openapi_schema


def create_app(relay: Services, *, manage_lifecycle: bool = True) -> FastAPI:
    """Build the app around a relay; with ``manage_lifecycle`` the app starts and stops it."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await relay.start()
            tune_gc_for_serving()
        try:
            yield
        finally:
            if manage_lifecycle:
                await relay.stop()

    app = RelayApp(title="mjrelay", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.relay = relay
    app.state.key_check = key_check = KeyCheck(
        relay.keys, relay.ops, KeyCache(relay.settings.auth_cache_seconds)
    )
    app.state.base_urls = base_urls = BaseURLs(relay.settings.public_url)
    install_error_handlers(app)
    routers = (service, submit, insight_face, tasks, account, admin, metrics, streams, upstream)
    for module in routers:
        app.include_router(declare_error_statuses(module.router))
    install_ui(app)
    # Pure ASGI middleware, outermost last: mode prefix -> NUL in URL -> body limit -> JSON body
    # -> routes.
    app.add_middleware(JsonBodyMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=relay.settings.max_body_bytes)
    app.add_middleware(NulInURLMiddleware)
    app.add_middleware(ModePrefixMiddleware)
    if relay.settings.cors_origins:
        # Off unless configured: browsers may then call the API from these origins only.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=relay.settings.cors_origins,
            allow_methods=["GET", "POST", "PUT"],
            allow_headers=["Authorization", "Content-Type", "mj-api-secret"],
            max_age=600,
        )
    # In front of everything: plain task fetches, the polling traffic, skip FastAPI entirely.
    app.front = FastFetch(partial(FastAPI.__call__, app), relay.tasks, key_check, base_urls)
    return app
