"""Routes depend on narrow services, never on the whole relay, the database or a store."""

from __future__ import annotations

import inspect
from typing import Any, get_type_hints

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from mjrelay.api.deps import relay_of
from mjrelay.api.routes import account, admin, metrics, service, streams, submit, tasks, upstream
from mjrelay.services.tasks.service import TaskService
from mjrelay.store.db import Database
from mjrelay.store.keys import KeyAccounts, Principal
from mjrelay.store.ledger import LedgerStore
from mjrelay.wiring import Relay

ROUTERS = (account, admin, metrics, service, streams, submit, tasks, upstream)


def _calls(dependant: Dependant) -> list[Any]:
    """The endpoint and every dependency below it, depth first."""
    found = [dependant.call] if dependant.call is not None else []
    for sub in dependant.dependencies:
        found.extend(_calls(sub))
    return found


def _too_wide(annotation: Any) -> bool:
    """The relay, the database, or a store (a class of ``mjrelay.store`` built on a Database;
    value types from there, such as ``Principal``, are fine)."""
    if annotation is Relay or annotation is Database:
        return True
    if not inspect.isclass(annotation) or not annotation.__module__.startswith("mjrelay.store."):
        return False
    parameters = inspect.signature(annotation.__init__).parameters.values()
    return any(parameter.annotation in (Database, "Database") for parameter in parameters)


def test_no_route_or_route_dependency_receives_the_relay_the_database_or_a_store() -> None:
    routes = [
        route for module in ROUTERS for route in module.router.routes if isinstance(route, APIRoute)
    ]
    assert len(routes) > 30  # the whole API is checked, not an empty list
    offenders: list[str] = []
    for route in routes:
        for call in _calls(route.dependant):
            assert call is not relay_of  # only the deps' own getters read the relay
            hints = get_type_hints(call, include_extras=False)
            hints.pop("return", None)
            offenders.extend(
                f"{route.path}: {call.__qualname__}({name})"
                for name, annotation in hints.items()
                if _too_wide(annotation)
            )
    assert offenders == []


def test_the_check_tells_stores_from_value_types() -> None:
    assert _too_wide(LedgerStore)
    assert _too_wide(KeyAccounts)
    assert _too_wide(Relay)
    assert not _too_wide(Principal)
    assert not _too_wide(TaskService)
