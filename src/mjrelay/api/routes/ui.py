"""``/ui``: the dashboard, static files shipped inside the package (nothing from a CDN).

The page is plain ES modules and one stylesheet under ``api/ui_static``; it signs in with an API
key kept in the browser and calls the public ``/mj`` API like any other client. A strict
Content-Security-Policy allows only this origin's scripts and styles.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

UI_DIR = Path(__file__).resolve().parent.parent / "ui_static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob: http: https:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/ui")
async def dashboard() -> FileResponse:
    return FileResponse(UI_DIR / "index.html", headers=HEADERS)


@router.get("/ui/")
async def dashboard_slash() -> RedirectResponse:
    return RedirectResponse("/ui", status_code=308)


class _StaticFiles(StaticFiles):
    """Static assets revalidated on each load: a new release never runs stale modules."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def install_ui(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/ui/static", _StaticFiles(directory=UI_DIR), name="ui-static")
