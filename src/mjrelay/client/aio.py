"""The asyncio client: ``await (await AsyncClient(url, key).imagine("a fox")).wait()``.

It mirrors ``mjrelay.client.sync`` call for call; both share ``mjrelay.client.core``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from mjrelay.client import core
from mjrelay.client.core import AuthStyle, ImageInput, RetryPolicy
from mjrelay.client.errors import NeedsModal, TaskFailed, WaitTimeout
from mjrelay.client.models import Task, TaskStatus
from mjrelay.client.sse import SSEParser
from mjrelay.client.sync import StreamUnsupported

ProgressCallback = Callable[[Task], Awaitable[None] | None]


class AsyncClient:
    """An asyncio client for any ``/mj`` relay (mjrelay, midjourney-proxy and relays like it)."""

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        auth: AuthStyle = "bearer",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.supports_stream: bool | None = None
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=core.auth_headers(key, auth),
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    # ---- calls ---------------------------------------------------------------------------

    async def imagine(
        self,
        prompt: str,
        *,
        images: Sequence[ImageInput] = (),
        mode: str | None = None,
        state: str | None = None,
        notify_hook: str | None = None,
        bot_type: str | None = None,
    ) -> AsyncTaskHandle:
        body = core.imagine_body(prompt, images, core.common_fields(state, notify_hook, bot_type))
        envelope = core.parse_submission(
            await self._send("POST", f"{core.mode_prefix(mode)}/mj/submit/imagine", json=body)
        )
        return AsyncTaskHandle(self, str(envelope.result))

    async def action(
        self,
        task: Task | str,
        button: str,
        *,
        prompt: str | None = None,
        mask: ImageInput | None = None,
        mode: str | None = None,
    ) -> AsyncTaskHandle:
        """Press a button (label like ``U1``/``V2``/``Zoom Out 2x``, emoji, or customId).

        Buttons that open a modal (custom zoom, vary region) take ``prompt``/``mask`` here.
        """
        parent = task if isinstance(task, Task) else None
        task_id = task.id if isinstance(task, Task) else task
        custom_id = button
        if not button.startswith("MJ::"):
            custom_id = core.find_button(parent or await self.fetch(task_id), button).custom_id
        envelope = core.parse_submission(
            await self._send(
                "POST",
                f"{core.mode_prefix(mode)}/mj/submit/action",
                json={"taskId": task_id, "customId": custom_id},
            )
        )
        handle = AsyncTaskHandle(self, str(envelope.result), modal=envelope.code == core.MODAL_CODE)
        if handle.needs_modal and (prompt is not None or mask is not None):
            await handle.modal(prompt=prompt, mask=mask)
        return handle

    async def modal(
        self, task_id: str, *, prompt: str | None = None, mask: ImageInput | None = None
    ) -> str:
        body: dict[str, Any] = {"taskId": task_id}
        if prompt is not None:
            body["prompt"] = prompt
        if mask is not None:
            body["maskBase64"] = core.data_url(mask)
        return str(
            core.parse_submission(await self._send("POST", "/mj/submit/modal", json=body)).result
        )

    async def fetch(self, task_id: str) -> Task:
        return core.parse_task(await self._send("GET", f"/mj/task/{task_id}/fetch"))

    async def recent(self, *, limit: int = 20) -> list[Task]:
        """The caller's newest tasks."""
        return core.parse_tasks(await self._send("GET", "/mj/task/list", params={"limit": limit}))

    def stream(self, task_id: str, *, timeout: float = 600.0) -> AsyncIterator[Task]:
        """The task now and on every change until it ends (Server-Sent Events)."""
        return self._events(f"/mj/task/{task_id}/stream", timeout)

    def events(self, *, timeout: float = 3600.0) -> AsyncIterator[Task]:
        """Every change of the caller's tasks, as they happen."""
        return self._events("/mj/task/stream", timeout)

    async def download(
        self, task: Task, directory: str | Path, *, split: bool = False
    ) -> list[Path]:
        """Save the task's image (and with ``split`` its four panels); returns the files."""
        target = Path(directory)
        await asyncio.to_thread(target.mkdir, parents=True, exist_ok=True)
        saved = []
        for url, stem in core.download_targets(task, split=split):
            request = self._http.build_request("GET", url)
            if not core.same_origin(str(request.url), self.base_url):
                for header in core.AUTH_HEADERS:
                    request.headers.pop(header, None)
            response = await self._http.send(request, stream=True)
            try:
                core.raise_for_error(response)
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > core.MAX_DOWNLOAD_BYTES:
                        raise ValueError(f"image larger than {core.MAX_DOWNLOAD_BYTES} bytes")
            finally:
                await response.aclose()
            path = target / core.file_name(stem, url, response.headers.get("content-type", ""))
            await asyncio.to_thread(path.write_bytes, bytes(data))
            saved.append(path)
        return saved

    # ---- transport -----------------------------------------------------------------------

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if not self.retry.retry_error(attempt, method, exc):
                    raise
                await asyncio.sleep(self.retry.delay(attempt))
            else:
                if not self.retry.retry_status(attempt, response):
                    return response
                await asyncio.sleep(self.retry.delay(attempt, response))
            attempt += 1

    async def _events(self, path: str, timeout: float) -> AsyncIterator[Task]:  # noqa: ASYNC109
        limits = httpx.Timeout(timeout, connect=10.0)
        async with self._http.stream(
            "GET", path, headers={"Accept": "text/event-stream"}, timeout=limits
        ) as response:
            if core.stream_unsupported(response):
                await response.aread()
                self.supports_stream = False
                raise StreamUnsupported(path)
            if response.status_code >= 400:
                await response.aread()
                core.raise_for_error(response)
            self.supports_stream = True
            parser = SSEParser()
            async for line in response.aiter_lines():
                event = parser.feed(line)
                if event is not None and event.event == "task":
                    yield Task.model_validate_json(event.data)


class AsyncTaskHandle:
    """One task on the relay: ``wait()``, ``stream()``, ``download()``, ``action()``."""

    def __init__(self, client: AsyncClient, task_id: str, *, modal: bool = False) -> None:
        self.client = client
        self.id = task_id
        self.needs_modal = modal
        self.task: Task | None = None

    def __repr__(self) -> str:
        status = self.task.status.value if self.task else "?"
        return f"AsyncTaskHandle({self.id!r}, {status})"

    async def fetch(self) -> Task:
        self.task = await self.client.fetch(self.id)
        return self.task

    async def modal(
        self, *, prompt: str | None = None, mask: ImageInput | None = None
    ) -> AsyncTaskHandle:
        await self.client.modal(self.id, prompt=prompt, mask=mask)
        self.needs_modal = False
        return self

    async def stream(self, *, timeout: float = 600.0) -> AsyncIterator[Task]:  # noqa: ASYNC109
        async for task in self.client.stream(self.id, timeout=timeout):
            self.task = task
            yield task

    async def wait(
        self,
        *,
        timeout: float = 600.0,  # noqa: ASYNC109 (same API as the sync client)
        on_progress: ProgressCallback | None = None,
        poll_interval: float = 1.0,
        use_stream: bool = True,
        raise_on_failure: bool = True,
    ) -> Task:
        """Block until the task ends; ``on_progress`` sees every state on the way.

        Follows the stream where the relay has one and polls fetch otherwise.
        """
        if self.needs_modal:
            raise NeedsModal(self.id)
        deadline = time.monotonic() + timeout
        last: tuple[str, str] | None = None

        async def seen(task: Task) -> bool:
            nonlocal last
            self.task = task
            if on_progress is not None and (task.status.value, task.progress) != last:
                result = on_progress(task)
                if result is not None:
                    await result
            last = (task.status.value, task.progress)
            return task.status.is_final

        if use_stream and self.client.supports_stream is not False:
            try:
                async for task in self.client.stream(self.id, timeout=timeout):
                    if await seen(task):
                        return self._outcome(task, raise_on_failure)
                    if time.monotonic() > deadline:
                        raise WaitTimeout(task, timeout)
            except (StreamUnsupported, httpx.TransportError):
                pass  # poll below, from wherever the stream got to
        while True:
            if await seen(await self.client.fetch(self.id)):
                assert self.task is not None
                return self._outcome(self.task, raise_on_failure)
            if self.task is not None and self.task.status == TaskStatus.MODAL:
                raise NeedsModal(self.id)
            if time.monotonic() + poll_interval > deadline:
                raise WaitTimeout(self.task, timeout)
            await asyncio.sleep(poll_interval)

    async def download(self, directory: str | Path, *, split: bool = False) -> list[Path]:
        task = self.task if self.task and self.task.status.is_final else await self.fetch()
        return await self.client.download(task, directory, split=split)

    async def action(self, button: str, **kwargs: Any) -> AsyncTaskHandle:
        return await self.client.action(self.task or await self.fetch(), button, **kwargs)

    @staticmethod
    def _outcome(task: Task, raise_on_failure: bool) -> Task:
        if raise_on_failure and task.status != TaskStatus.SUCCESS:
            raise TaskFailed(task)
        return task
