"""Routes outside the task API: landing, health, and relay-hosted images."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse
from sqlalchemy import text

from mjrelay import __version__
from mjrelay.api.deps import CurrentRelay
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
    }


@router.get("/healthz")
async def healthz(relay: CurrentRelay) -> dict[str, Any]:
    async with relay.db.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/mj/image/{key}", response_class=FileResponse)
async def image(key: str, relay: CurrentRelay) -> FileResponse:
    """Images need no key (browsers load them) but their names cannot be guessed."""
    path = relay.media.path_of(key)
    if path is None or not path.is_file():
        raise TaskNotFound("image not found")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=31536000, immutable"})
