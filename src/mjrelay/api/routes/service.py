"""Routes outside the task API: landing, health, and relay-hosted images."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from mjrelay import __version__
from mjrelay.api.contract import errors
from mjrelay.api.deps import HealthDep, MediaDep
from mjrelay.core.errors import TaskNotFound

router = APIRouter(tags=["service"])


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
        "ready": "/readyz",
    }


@router.get("/healthz", responses=errors(503))
async def healthz(health: HealthDep) -> dict[str, Any]:
    """200 while the database answers; 503 (the envelope) when it does not."""
    await health.check()
    return {"status": "ok"}


@router.get("/readyz", responses=errors(503))
async def readyz(health: HealthDep) -> dict[str, Any]:
    """200 when this instance should get traffic: the database answers, its schema is this
    version's, and the instance is not shutting down; 503 (the envelope, saying why) otherwise."""
    await health.ready()
    return {"status": "ready"}


@router.get("/mj/image/{key}", response_class=StreamingResponse, responses=errors(404))
async def image(key: str, media: MediaDep) -> StreamingResponse:
    """Images need no key (browsers load them) but their names cannot be guessed.

    The bytes stream from the media backend (data dir or S3 bucket) through the relay, so the
    URL is the same whichever backend holds them.
    """
    opened = await media.open(key)
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
