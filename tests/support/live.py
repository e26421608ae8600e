"""A real mjrelay server on an ephemeral port inside the test's event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from mjrelay.api.app import create_app
from mjrelay.core.settings import Settings
from mjrelay.engines.base import Engine
from mjrelay.wiring import Relay


@dataclass
class LiveRelay:
    relay: Relay
    base_url: str
    key: str

    def client(self, key: str | None = None, *, header: str = "bearer") -> httpx.AsyncClient:
        token = self.key if key is None else key
        headers = (
            {"Authorization": f"Bearer {token}"} if header == "bearer" else {"mj-api-secret": token}
        )
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30)

    async def new_key(self, name: str) -> str:
        key, _info = await self.relay.keys.create(name)
        return key


@asynccontextmanager
async def serving_app(
    app: Any, *, port: int = 0, lifespan: str = "on", ws: str = "auto", what: str = "server"
) -> AsyncIterator[int]:
    """Run an ASGI app with uvicorn on 127.0.0.1 inside this event loop; yields its port."""
    # A long keep-alive: with the default 5 s, a busy test loop can reuse a pooled connection in
    # the instant the server closes it as idle, and the request fails with a ReadError.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan=lifespan,
        ws=ws,
        timeout_keep_alive=300,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 15
    while not server.started:
        if serving.done():
            serving.result()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not start")
        await asyncio.sleep(0.01)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        await serving


@asynccontextmanager
async def running_relay(
    settings: Settings, *, engines: list[Engine] | None = None, port: int = 0, **build: Any
) -> AsyncIterator[LiveRelay]:
    relay = Relay.build(settings, engines=engines, **build)
    async with serving_app(create_app(relay), port=port, what="relay server") as bound:
        key, _info = await relay.keys.create("test")
        yield LiveRelay(relay, f"http://127.0.0.1:{bound}", key)


async def wait_for_status(
    client: httpx.AsyncClient, task_id: str, statuses: set[str], within: float = 15
) -> dict[str, Any]:
    """Poll fetch until the task reaches one of ``statuses``; returns the task JSON."""
    deadline = time.monotonic() + within
    while True:
        response = await client.get(f"/mj/task/{task_id}/fetch")
        assert response.status_code == 200, response.text
        task: dict[str, Any] = response.json()
        if task["status"] in statuses:
            return task
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} stuck in {task['status']}: {task}")
        await asyncio.sleep(0.02)
