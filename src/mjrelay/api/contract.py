"""The one place that makes the OpenAPI document declare the statuses the routes really answer.

Every error leaves the app as the wire envelope (``api.errors``), with a status that follows from
what the route depends on. So instead of repeating error responses in every decorator, this
module derives them from each route: its auth dependency (401, 429 for a user key; 401, 404 for
the admin token), its parameters (400 when FastAPI validates any), its JSON body (400, 413).
Route decorators add only what is theirs alone (``responses=errors(404)`` for a task lookup).

FastAPI also declares a 422 for every route with parameters; ``api.errors`` answers validation
errors with 400 instead, so :func:`without_unused_validation_status` removes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from mjrelay.api.admin_auth import require_admin
from mjrelay.api.deps import authenticate
from mjrelay.api.wire import Envelope

ERROR_DESCRIPTIONS = {
    400: "Invalid request: a parameter or the JSON body (`description` names which).",
    401: "Missing or invalid credentials.",
    404: "Not found (for `/admin`: also when no admin token is configured).",
    413: "Request body larger than the configured limit.",
    429: "Too many requests for this key; see `Retry-After`.",
    503: "A service the relay needs is unavailable.",
}

Responses = dict[int | str, dict[str, Any]]


def errors(*statuses: int) -> Responses:
    """The ``responses=`` entries of error statuses, each answered with the envelope."""
    return {
        status: {"model": Envelope, "description": ERROR_DESCRIPTIONS[status]}
        for status in statuses
    }


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for child in dependant.dependencies:
        yield from _dependants(child)


def _calls(route: APIRoute) -> set[Callable[..., Any]]:
    return {d.call for d in _dependants(route.dependant) if d.call is not None}


def _validates_parameters(route: APIRoute) -> bool:
    """True if FastAPI can refuse a request to this route before it runs (answered as 400)."""
    for dependant in _dependants(route.dependant):
        if dependant.query_params or dependant.header_params or dependant.cookie_params:
            return True
        if any(param.field_info.annotation is not str for param in dependant.path_params):
            return True
    return route.body_field is not None


def derived_statuses(route: APIRoute) -> list[int]:
    """The error statuses a route answers because of what it depends on."""
    statuses: set[int] = set()
    calls = _calls(route)
    if authenticate in calls:
        statuses |= {401, 429}  # the key check, then the key's request rate
    if require_admin in calls:
        statuses |= {401, 404}  # a wrong token; no admin token configured at all
    if _validates_parameters(route):
        statuses.add(400)
    if route.body_field is not None:
        statuses |= {400, 413}  # malformed JSON; the body size limit
    return sorted(statuses)


def declare_error_statuses(router: APIRouter) -> APIRouter:
    """Adds the derived error responses to the router's routes (a route's own are kept).

    Done on each router before the app includes it: the app builds its routes, and their
    documented responses, from the routers' routes as they are then.
    """
    for route in router.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            for status, response in errors(*derived_statuses(route)).items():
                route.responses.setdefault(status, response)
    return router


def without_unused_validation_status(document: dict[str, Any]) -> dict[str, Any]:
    """Drops FastAPI's 422 responses and their schemas: this app answers 400 instead."""
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return document
