"""``GET /mj/task/{id}/fetch`` answered in plain ASGI, in front of FastAPI.

Clients poll fetch many times per task, so it is most of the traffic. Through FastAPI, the
middleware layers, routing, request objects and dependency resolution cost several times more
than the work itself (a key-cache hit and a task-cache hit). This layer does only that work, with
the same pieces the FastAPI route uses: ``resolve_principal`` (the one auth check, with its key
cache), ``TaskService.fetch_wire`` (tenant isolation: a foreign id is a 404 like an unknown one),
``with_base`` (base-URL substitution) and the error envelopes of ``api.errors``.

Only a plain ``GET /mj/task/{id}/fetch`` is served here. Everything else goes on to FastAPI
unchanged, including fetches with a mode prefix (``/mj-fast/...``), with a NUL in the id (the
URL check answers 400), with a request body (``Content-Length``, so the body limit still answers
413), from a browser on another origin (``Origin``, so CORS applies), with a trailing slash, or in
an app mounted under a root path; FastAPI's ``fetch`` route serves those and documents the endpoint.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from mjrelay.api.deps import BaseURLs, KeyCheck, presented_key, resolve_principal
from mjrelay.api.errors import relay_error_response, unexpected_error_response
from mjrelay.api.routes.tasks import with_base
from mjrelay.core.errors import RelayError
from mjrelay.services.tasks.service import TaskService

_PREFIX = "/mj/task/"
_SUFFIX = "/fetch"
_CONTENT_TYPE = (b"content-type", b"application/json")


class FastFetch:
    """Pure ASGI: serves task fetches itself and passes every other request to ``app``."""

    def __init__(
        self, app: ASGIApp, tasks: TaskService, keys: KeyCheck, base_urls: BaseURLs
    ) -> None:
        self.app = app
        self.tasks = tasks
        self.keys = keys
        self.base_urls = base_urls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path"):
            path: str = scope["path"]
            if path.startswith(_PREFIX) and path.endswith(_SUFFIX):
                task_id = path[len(_PREFIX) : -len(_SUFFIX)]
                one_segment = bool(task_id) and "/" not in task_id
                plain = one_segment and "\x00" not in task_id
                if plain and await self._fetch(task_id, scope, receive, send):
                    return
        await self.app(scope, receive, send)

    async def _fetch(self, task_id: str, scope: Scope, receive: Receive, send: Send) -> bool:
        """Serves the fetch; False (nothing sent) hands the request on to FastAPI."""
        authorization: str | None = None
        secret: str | None = None
        for name, value in scope["headers"]:
            # First occurrence wins, as with Starlette's ``request.headers.get``.
            if name == b"authorization":
                if authorization is None:
                    authorization = value.decode("latin-1")
            elif name == b"mj-api-secret":
                if secret is None:
                    secret = value.decode("latin-1")
            elif name in (b"content-length", b"origin"):
                # A body must meet the body limit; a cross-origin call needs the CORS layer.
                return False
        try:
            principal = await resolve_principal(presented_key(authorization, secret), self.keys)
            wire = await self.tasks.fetch_wire(principal.tenant_id, task_id)
            body = with_base(wire, self.base_urls.of(scope))
        except RelayError as exc:
            await relay_error_response(exc)(scope, receive, send)
            return True
        except Exception as exc:
            await unexpected_error_response(scope["path"], exc)(scope, receive, send)
            return True
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode()), _CONTENT_TYPE],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return True
