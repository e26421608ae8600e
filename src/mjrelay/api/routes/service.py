"""Routes outside the task API: landing, health, and relay-hosted images."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from sqlalchemy import text

from mjrelay import __version__
from mjrelay.api.contract import errors
from mjrelay.api.deps import CurrentRelay
from mjrelay.core.errors import InternalFailure, TaskNotFound
from mjrelay.core.logging import get_logger

router = APIRouter(tags=["service"])
log = get_logger("mjrelay.api")


@router.get("/")
async def landing() -> dict[str, Any]:
    return {
        "name": "mjrelay",
        "version": __version__,
        "api": "/mj",
        "dashboard": "/ui",
        "docs": "/docs",
        "openapi": "/openapi.json",
        "health": "/healthz",
    }


@router.get("/healthz", responses=errors(503))
async def healthz(relay: CurrentRelay) -> dict[str, Any]:
    """200 while the database answers; 503 (the envelope) when it does not, so a load balancer
    takes the instance out instead of seeing a server error."""
    try:
        async with relay.db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # whatever the driver raises, the instance is not healthy
        log.warning("health check failed", error=type(exc).__name__, detail=str(exc)[:200])
        raise InternalFailure("database: unavailable", http_status=503) from exc
    return {"status": "ok"}


@router.get("/mj/image/{key}", response_class=StreamingResponse, responses=errors(404))
async def image(key: str, relay: CurrentRelay) -> StreamingResponse:
    """Images need no key (browsers load them) but their names cannot be guessed.

    The bytes stream from the media backend (data dir or S3 bucket) through the relay, so the
    URL is the same whichever backend holds them.
    """
    opened = await relay.media.open(key)
    if opened is None:
        raise TaskNotFound("image not found")
    return StreamingResponse(
        opened.chunks,
        media_type=opened.content_type,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "Content-Length": str(opened.size),
        },
    )
