"""A real HTTP callback receiver on 127.0.0.1 (ephemeral port) that can be told to misbehave."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.types import Receive, Scope, Send

# What to do with the n-th request (1-based): an HTTP status to answer, or "slow" to hang
# longer than the relay's timeout (the request then counts as not received).
Behaviour = Callable[[int], int | str]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    requests: int = 0


@asynccontextmanager
async def running_receiver(behaviour: Behaviour) -> AsyncIterator[Receiver]:
    receiver = Receiver(url="")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        receiver.requests += 1
        outcome = behaviour(receiver.requests)
        if outcome == "slow":
            await asyncio.sleep(2)
            status = 503
        else:
            status = int(outcome)
            if 200 <= status < 300:
                headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
                receiver.received.append(Received(headers, body))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        if serving.done():
            serving.result()
        if time.monotonic() > deadline:
            raise TimeoutError("receiver did not start")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    receiver.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield receiver
    finally:
        server.should_exit = True
        await serving
