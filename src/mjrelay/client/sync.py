"""The blocking client: ``Client(base_url, key).imagine("a fox").wait()``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from mjrelay.client import core
from mjrelay.client.core import AuthStyle, ImageInput, RetryPolicy
from mjrelay.client.errors import NeedsModal, TaskFailed, WaitTimeout
from mjrelay.client.models import Task, TaskStatus
from mjrelay.client.sse import SSEParser

ProgressCallback = Callable[[Task], None]


class Client:
    """A blocking client for any ``/mj`` relay (mjrelay, midjourney-proxy and relays like it)."""

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        auth: AuthStyle = "bearer",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.supports_stream: bool | None = None
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=core.auth_headers(key, auth),
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ---- calls ---------------------------------------------------------------------------

    def imagine(
        self,
        prompt: str,
        *,
        images: Sequence[ImageInput] = (),
        mode: str | None = None,
        state: str | None = None,
        notify_hook: str | None = None,
        bot_type: str | None = None,
    ) -> TaskHandle:
        body = core.imagine_body(prompt, images, core.common_fields(state, notify_hook, bot_type))
        envelope = core.parse_submission(
            self._send("POST", f"{core.mode_prefix(mode)}/mj/submit/imagine", json=body)
        )
        return TaskHandle(self, str(envelope.result))

    def action(
        self,
        task: Task | str,
        button: str,
        *,
        prompt: str | None = None,
        mask: ImageInput | None = None,
        mode: str | None = None,
    ) -> TaskHandle:
        """Press a button (label like ``U1``/``V2``/``Zoom Out 2x``, emoji, or customId).

        Buttons that open a modal (custom zoom, vary region) take ``prompt``/``mask`` here.
        """
        parent = task if isinstance(task, Task) else None
        task_id = task.id if isinstance(task, Task) else task
        custom_id = button
        if not button.startswith("MJ::"):
            custom_id = core.find_button(parent or self.fetch(task_id), button).custom_id
        envelope = core.parse_submission(
            self._send(
                "POST",
                f"{core.mode_prefix(mode)}/mj/submit/action",
                json={"taskId": task_id, "customId": custom_id},
            )
        )
        handle = TaskHandle(self, str(envelope.result), modal=envelope.code == core.MODAL_CODE)
        if handle.needs_modal and (prompt is not None or mask is not None):
            handle.modal(prompt=prompt, mask=mask)
        return handle

    def modal(
        self, task_id: str, *, prompt: str | None = None, mask: ImageInput | None = None
    ) -> str:
        body: dict[str, Any] = {"taskId": task_id}
        if prompt is not None:
            body["prompt"] = prompt
        if mask is not None:
            body["maskBase64"] = core.data_url(mask)
        return str(core.parse_submission(self._send("POST", "/mj/submit/modal", json=body)).result)

    def fetch(self, task_id: str) -> Task:
        return core.parse_task(self._send("GET", f"/mj/task/{task_id}/fetch"))

    def recent(self, *, limit: int = 20) -> list[Task]:
        """The caller's newest tasks."""
        return core.parse_tasks(self._send("GET", "/mj/task/list", params={"limit": limit}))

    def stream(self, task_id: str, *, timeout: float = 600.0) -> Iterator[Task]:
        """The task now and on every change until it ends (Server-Sent Events)."""
        yield from self._events(f"/mj/task/{task_id}/stream", timeout)

    def events(self, *, timeout: float = 3600.0) -> Iterator[Task]:
        """Every change of the caller's tasks, as they happen."""
        yield from self._events("/mj/task/stream", timeout)

    def download(self, task: Task, directory: str | Path, *, split: bool = False) -> list[Path]:
        """Save the task's image (and with ``split`` its four panels); returns the files."""
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        saved = []
        for url, stem in core.download_targets(task, split=split):
            request = self._http.build_request("GET", url)
            if not core.same_origin(str(request.url), self.base_url):
                for header in core.AUTH_HEADERS:
                    request.headers.pop(header, None)
            response = self._http.send(request, stream=True)
            try:
                core.raise_for_error(response)
                data = bytearray()
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > core.MAX_DOWNLOAD_BYTES:
                        raise ValueError(f"image larger than {core.MAX_DOWNLOAD_BYTES} bytes")
            finally:
                response.close()
            path = target / core.file_name(stem, url, response.headers.get("content-type", ""))
            path.write_bytes(bytes(data))
            saved.append(path)
        return saved

    # ---- transport -----------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if not self.retry.retry_error(attempt, method, exc):
                    raise
                time.sleep(self.retry.delay(attempt))
            else:
                if not self.retry.retry_status(attempt, response):
                    return response
                time.sleep(self.retry.delay(attempt, response))
            attempt += 1

    def _events(self, path: str, timeout: float) -> Iterator[Task]:
        limits = httpx.Timeout(timeout, connect=10.0)
        with self._http.stream(
            "GET", path, headers={"Accept": "text/event-stream"}, timeout=limits
        ) as response:
            if core.stream_unsupported(response):
                response.read()
                self.supports_stream = False
                raise StreamUnsupported(path)
            if response.status_code >= 400:
                response.read()
                core.raise_for_error(response)
            self.supports_stream = True
            parser = SSEParser()
            for line in response.iter_lines():
                event = parser.feed(line)
                if event is not None and event.event == "task":
                    yield Task.model_validate_json(event.data)


class StreamUnsupported(Exception):
    """The relay has no stream endpoint; ``wait()`` polls fetch instead."""


class TaskHandle:
    """One task on the relay: ``wait()``, ``stream()``, ``download()``, ``action()``."""

    def __init__(self, client: Client, task_id: str, *, modal: bool = False) -> None:
        self.client = client
        self.id = task_id
        self.needs_modal = modal
        self.task: Task | None = None

    def __repr__(self) -> str:
        status = self.task.status.value if self.task else "?"
        return f"TaskHandle({self.id!r}, {status})"

    def fetch(self) -> Task:
        self.task = self.client.fetch(self.id)
        return self.task

    def modal(self, *, prompt: str | None = None, mask: ImageInput | None = None) -> TaskHandle:
        self.client.modal(self.id, prompt=prompt, mask=mask)
        self.needs_modal = False
        return self

    def stream(self, *, timeout: float = 600.0) -> Iterator[Task]:
        for task in self.client.stream(self.id, timeout=timeout):
            self.task = task
            yield task

    def wait(
        self,
        *,
        timeout: float = 600.0,
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

        def seen(task: Task) -> bool:
            nonlocal last
            self.task = task
            if on_progress is not None and (task.status.value, task.progress) != last:
                on_progress(task)
            last = (task.status.value, task.progress)
            return task.status.is_final

        if use_stream and self.client.supports_stream is not False:
            try:
                for task in self.client.stream(self.id, timeout=timeout):
                    if seen(task):
                        return self._outcome(task, raise_on_failure)
                    if time.monotonic() > deadline:
                        raise WaitTimeout(task, timeout)
            except (StreamUnsupported, httpx.TransportError):
                pass  # poll below, from wherever the stream got to
        while True:
            if seen(self.client.fetch(self.id)):
                assert self.task is not None
                return self._outcome(self.task, raise_on_failure)
            if self.task is not None and self.task.status == TaskStatus.MODAL:
                raise NeedsModal(self.id)
            if time.monotonic() + poll_interval > deadline:
                raise WaitTimeout(self.task, timeout)
            time.sleep(poll_interval)

    def download(self, directory: str | Path, *, split: bool = False) -> list[Path]:
        task = self.task if self.task and self.task.status.is_final else self.fetch()
        return self.client.download(task, directory, split=split)

    def action(self, button: str, **kwargs: Any) -> TaskHandle:
        return self.client.action(self.task or self.fetch(), button, **kwargs)

    @staticmethod
    def _outcome(task: Task, raise_on_failure: bool) -> Task:
        if raise_on_failure and task.status != TaskStatus.SUCCESS:
            raise TaskFailed(task)
        return task
