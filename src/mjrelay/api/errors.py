"""The one place that turns errors into the wire envelope. Handlers never format errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mjrelay.core.errors import RateLimited, RelayError, ReturnCode
from mjrelay.core.logging import get_logger

log = get_logger("mjrelay.api")


def envelope(
    code: int,
    description: str,
    *,
    status: int = 200,
    result: Any = None,
    properties: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {
            "code": code,
            "description": description,
            "result": result,
            "properties": properties or {},
        },
        status_code=status,
        headers=headers,
    )


def relay_error_response(exc: RelayError) -> JSONResponse:
    """The envelope of a ``RelayError`` (also used by the ASGI fetch fast path)."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    return envelope(
        int(exc.code),
        exc.description,
        status=exc.http_status,
        result=exc.result,
        properties=exc.properties,
        headers=headers,
    )


async def _relay_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RelayError)
    return relay_error_response(exc)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return envelope(int(ReturnCode.VALIDATION_ERROR), "body: malformed JSON", status=400)
    problems = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part != "body"]
        where = ".".join(location) or "body"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return envelope(int(ReturnCode.VALIDATION_ERROR), "; ".join(problems), status=400)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = ReturnCode.NOT_FOUND if exc.status_code == 404 else ReturnCode.VALIDATION_ERROR
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    return envelope(int(code), detail, status=exc.status_code, headers=exc.headers)


def unexpected_error_response(path: str, exc: Exception) -> JSONResponse:
    """Logs an unexpected error with its traceback; the client sees only "internal error"."""
    log.exception("unhandled error", path=path, error=type(exc).__name__)
    return envelope(int(ReturnCode.FAILURE), "internal error", status=500)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    return unexpected_error_response(request.url.path, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RelayError, _relay_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
