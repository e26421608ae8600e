"""Reading a task stream over real HTTP in tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from mjrelay.client.sse import SSEParser


async def sse_tasks(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The task JSON of each ``event: task`` frame of an open stream response."""
    parser = SSEParser()
    async for line in response.aiter_lines():
        event = parser.feed(line)
        if event is not None and event.event == "task":
            yield json.loads(event.data)


async def collect_task_stream(
    client: httpx.AsyncClient, task_id: str, within: float = 15
) -> list[dict[str, Any]]:
    """Every task state a task stream sends, until the server ends the stream."""

    async def run() -> list[dict[str, Any]]:
        seen = []
        async with client.stream("GET", f"/mj/task/{task_id}/stream") as response:
            assert response.status_code == 200, await response.aread()
            assert response.headers["content-type"].startswith("text/event-stream")
            async for task in sse_tasks(response):
                seen.append(task)
        return seen

    return await asyncio.wait_for(run(), within)
