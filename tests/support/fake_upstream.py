"""A fake midjourney-proxy: a real HTTP/1.1 server on 127.0.0.1 for tests and benchmarks.

It speaks the upstream side of the ``/mj`` wire protocol like midjourney-proxy(-plus): 16-digit
task ids, ``mj-api-secret`` or bearer auth (401 with an empty body otherwise), submit codes
1/21/22, jobs that go SUBMITTED → IN_PROGRESS (with progress) → SUCCESS with buttons and an
image URL, callbacks of the whole task JSON to each task's ``notifyHook``, ``fetch`` (empty body
for unknown ids) and ``list-by-condition``. It is a hand-written asyncio server rather than an
ASGI app so faults can be real: a connection can be cut without any answer.

Fault injection (``faults``, changeable at any time): HTTP 5xx, slow answers (timeouts),
dropped connections, malformed JSON, submit codes 3/9/23, tasks silently left out of list
results or forgotten entirely, jobs that never finish, and duplicate, out-of-order or no
callbacks. Everything it is asked is recorded in ``requests``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from PIL import Image

from mjrelay.domain.buttons import describe_buttons, grid_buttons, shorten_buttons, upscale_buttons
from mjrelay.domain.custom_id import ButtonKind, parse_custom_id

MODES = ("/mj-fast", "/mj-relax", "/mj-turbo")
KEYCAP = "\N{VARIATION SELECTOR-16}\N{COMBINING ENCLOSING KEYCAP}"


@dataclass
class Faults:
    # Submits (/mj/submit/*)
    submit_http_status: int | None = None
    submit_code: int | None = None
    submit_delay: float = 0.0
    submit_drop_connection: bool = False
    submit_malformed: bool = False
    # list-by-condition (fetch is only affected by omissions: ``forgotten``)
    list_http_status: int | None = None
    list_malformed: bool = False
    list_drop_connection: bool = False
    list_delay: float = 0.0
    omit_from_list: set[str] = field(default_factory=set)  # upstream ids
    omit_all_from_list: bool = False
    forgotten: set[str] = field(default_factory=set)  # unknown to list and fetch
    # Jobs
    never_finish: bool = False
    fail_jobs: bool = False
    # Images (the "CDN")
    image_delay: float = 0.0
    # Callbacks
    callbacks: bool = True
    duplicate_callbacks: bool = False
    out_of_order_callbacks: bool = False


@dataclass
class Recorded:
    method: str
    path: str
    instance: str
    body: Any
    at: float


def _png(size: int = 64, colour: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, "PNG")
    return out.getvalue()


class FakeUpstream:
    def __init__(
        self,
        *,
        secret: str = "upstream-secret",
        auth: str = "mj-api-secret",
        job_seconds: float = 0.3,
        progress_steps: int = 2,
        image_host: str = "localhost",
        image_size: int = 64,
    ) -> None:
        self.secret = secret
        self.auth = auth
        self.job_seconds = job_seconds
        self.progress_steps = progress_steps
        # "localhost" = a CDN-like host other than the API's; "127.0.0.1" = the API host itself.
        self.image_host = image_host
        self.image = _png(image_size)
        self.faults = Faults()
        # ``{id}`` and ``{base}`` are filled in: lets tests check what leaks through a reason.
        self.fail_reason = "Midjourney said no"
        self.tasks: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self.completed_at: dict[str, float] = {}
        self.callbacks_sent = 0
        self.callback_failures = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._extra_servers: list[asyncio.Server] = []
        self._jobs: set[asyncio.Task[None]] = set()
        self._connections: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._http = httpx.AsyncClient(timeout=10, trust_env=False)

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeUpstream:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        if self.image_host.startswith("127.") and self.image_host != "127.0.0.1":
            # Another loopback address as the "CDN": same port, different host.
            self._extra_servers.append(
                await asyncio.start_server(self._serve, self.image_host, self.port)
            )
        return self

    async def stop(self) -> None:
        for job in list(self._jobs):
            job.cancel()
        await asyncio.gather(*self._jobs, return_exceptions=True)
        for extra in self._extra_servers:
            extra.close()
        if self._server is not None:
            self._server.close()
            for writer in list(self._connections):
                writer.transport.abort()
            for handler in list(self._handlers):
                handler.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        await self._http.aclose()

    async def __aenter__(self) -> FakeUpstream:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- queries for tests -------------------------------------------------------------------

    @property
    def running_jobs(self) -> int:
        """Jobs still running here (a finished job has also sent its callbacks)."""
        return len(self._jobs)

    def calls(self, path_part: str) -> list[Recorded]:
        return [r for r in self.requests if path_part in r.path]

    def task_ids(self) -> list[str]:
        return list(self.tasks)

    # ---- HTTP server ---------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _version = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                body = await reader.readexactly(length) if length else b""
                answer = await self._handle(method, target, headers, body)
                if answer is None:  # fault: cut the connection without a word
                    writer.transport.abort()
                    return
                status, content_type, payload = answer
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass  # stopping
        finally:
            self._connections.discard(writer)
            if handler is not None:
                self._handlers.discard(handler)
            with contextlib.suppress(Exception):
                writer.close()

    def _authorized(self, headers: dict[str, str]) -> bool:
        if not self.secret:
            return True
        if self.auth == "bearer":
            return headers.get("authorization") == f"Bearer {self.secret}"
        return headers.get("mj-api-secret") == self.secret

    async def _handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, str, bytes] | None:
        path = target.split("?", 1)[0]
        if path.startswith("/cdn/"):
            if self.faults.image_delay:
                await asyncio.sleep(self.faults.image_delay)
            return 200, "image/png", self.image
        mode = ""
        for prefix in MODES:
            if path.startswith(prefix + "/mj/"):
                mode, path = prefix[4:], path[len(prefix) :]
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.requests.append(
            Recorded(method, path, headers.get("x-relay-instance", ""), body, time.monotonic())
        )
        if not self._authorized(headers):
            return 401, "application/json", b""
        if path.startswith("/mj/submit/"):
            return await self._submit_route(path[len("/mj/submit/") :], body or {}, mode)
        return await self._query_route(method, path, body)

    # ---- submits -------------------------------------------------------------------------------

    async def _submit_route(
        self, what: str, body: dict[str, Any], mode: str
    ) -> tuple[int, str, bytes] | None:
        f = self.faults
        broken = await _faulty(
            f.submit_delay, f.submit_drop_connection, f.submit_http_status, f.submit_malformed
        )
        if broken is not False:
            return broken
        if f.submit_code is not None:
            return self._json(
                {
                    "code": f.submit_code,
                    "description": "refused by fault",
                    "result": None,
                    "properties": {},
                }
            )
        answer = self._submit(what, body, mode)
        return self._json(answer)

    def _new_id(self) -> str:
        while True:
            uid = f"{int(time.time() * 1000)}{secrets.randbelow(1000):03d}"
            if uid not in self.tasks:
                return uid

    def _task(self, action: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
        uid = self._new_id()
        task = {
            "id": uid,
            "action": action,
            "status": "NOT_START",
            "progress": "0%",
            "prompt": body.get("prompt", ""),
            "promptEn": body.get("prompt", ""),
            "description": f"/{action.lower()} {uid}",
            "state": "",
            "submitTime": int(time.time() * 1000),
            "startTime": None,
            "finishTime": None,
            "imageUrl": None,
            "failReason": None,
            "buttons": [],
            "properties": {
                "discordInstanceId": "1118138338562560102",
                "notifyHook": body.get("notifyHook"),
            },
            **extra,
        }
        self.tasks[uid] = task
        return task

    def _submit(self, what: str, body: dict[str, Any], mode: str) -> dict[str, Any]:
        fail: dict[str, Any] = {"code": 4, "result": None, "properties": {}}
        if what == "imagine":
            if not str(body.get("prompt") or "").strip():
                return {**fail, "description": "prompt不能为空"}
            if "banned" in str(body.get("prompt")):
                return {
                    "code": 24,
                    "description": "可能包含敏感词",
                    "result": None,
                    "properties": {"promptEn": body["prompt"], "bannedWord": "banned"},
                }
            task = self._task("IMAGINE", body, mode=mode)
        elif what == "blend":
            if not 2 <= len(body.get("base64Array") or []) <= 5:
                return {**fail, "description": "base64List参数错误"}
            task = self._task("BLEND", body)
        elif what == "describe":
            if not body.get("base64"):
                return {**fail, "description": "base64不能为空"}
            task = self._task("DESCRIBE", body)
        elif what == "shorten":
            task = self._task("SHORTEN", body)
        elif what == "action":
            parent = self.tasks.get(str(body.get("taskId")))
            if parent is None:
                return {
                    "code": 3,
                    "description": "关联任务不存在或已失效",
                    "result": None,
                    "properties": {},
                }
            custom = str(body.get("customId"))
            if parent["status"] != "SUCCESS" or custom not in {
                b["customId"] for b in parent["buttons"]
            }:
                return {**fail, "description": "关联任务状态错误"}
            parsed = parse_custom_id(custom)
            task = self._task(
                parsed.action.value,
                {**body, "prompt": parent["prompt"]},
                customId=custom,
                parentId=parent["id"],
            )
            if parsed.needs_modal:
                task["status"] = "MODAL"
                return {
                    "code": 21,
                    "description": "窗口等待",
                    "result": task["id"],
                    "properties": {},
                }
        elif what == "modal":
            task_or_none = self.tasks.get(str(body.get("taskId")))
            if task_or_none is None or task_or_none["status"] != "MODAL":
                return {"code": 3, "description": "任务不存在", "result": None, "properties": {}}
            task = task_or_none
            task["prompt"] = task["promptEn"] = body.get("prompt") or task["prompt"]
            task["status"] = "NOT_START"
            task["mask"] = bool(body.get("maskBase64"))
        else:
            return {**fail, "description": f"unknown submit {what}"}
        self._launch(task)
        return {
            "code": 1,
            "description": "提交成功",
            "result": task["id"],
            "properties": {"discordInstanceId": "1118138338562560102"},
        }

    def _launch(self, task: dict[str, Any]) -> None:
        job = asyncio.create_task(self._run(task))
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)

    async def _run(self, task: dict[str, Any]) -> None:
        pause = self.job_seconds / (self.progress_steps + 2)
        task["status"], task["startTime"] = "SUBMITTED", int(time.time() * 1000)
        await self._changed(task)
        await asyncio.sleep(pause)
        for step in range(self.progress_steps + 1):
            task["status"] = "IN_PROGRESS"
            task["progress"] = f"{round(100 * step / (self.progress_steps + 1))}%"
            task["imageUrl"] = self._image_url(f"{task['id']}-preview")
            await self._changed(task)
            await asyncio.sleep(pause)
        while self.faults.never_finish:  # noqa: ASYNC110 - a fault flag flipped by tests
            await asyncio.sleep(0.05)
        if self.faults.fail_jobs:
            task.update(
                status="FAILURE",
                progress="",
                failReason=self.fail_reason.format(id=task["id"], base=self.base_url),
                finishTime=int(time.time() * 1000),
            )
        else:
            self._finish(task)
        self.completed_at[task["id"]] = time.monotonic()
        await self._changed(task)

    def _image_url(self, name: str) -> str:
        return f"http://{self.image_host}:{self.port}/cdn/{name}.png"

    def _finish(self, task: dict[str, Any]) -> None:
        job_hash = str(uuid.uuid4())
        action = task["action"]
        custom = task.get("customId")
        kind = parse_custom_id(custom).kind if custom else None
        if action == "DESCRIBE":
            prompts = [f"{n}{KEYCAP} a described picture {n}" for n in range(1, 5)]
            task["prompt"] = task["promptEn"] = "\n\n".join(prompts)
            task["properties"]["finalPrompt"] = task["prompt"]
            buttons = describe_buttons()
        elif action == "SHORTEN":
            task["properties"]["finalPrompt"] = f"## Shortened prompts\n1{KEYCAP} short"
            buttons = shorten_buttons()
        elif kind in (ButtonKind.UPSAMPLE,):
            buttons = upscale_buttons(job_hash)
        else:
            buttons = grid_buttons(job_hash)
            if action == "BLEND":
                task["prompt"] = task["promptEn"] = "blended images --ar 1:1"
        task["buttons"] = [b.model_dump(by_alias=True) for b in buttons]
        task.update(
            status="SUCCESS",
            progress="100%",
            finishTime=int(time.time() * 1000),
            imageUrl=self._image_url(task["id"]),
        )
        if action not in ("DESCRIBE", "SHORTEN") and kind != ButtonKind.UPSAMPLE:
            task["imageUrls"] = [{"url": self._image_url(f"{task['id']}-{i}")} for i in range(4)]

    async def _changed(self, task: dict[str, Any]) -> None:
        hook = task["properties"].get("notifyHook")
        if not hook or not self.faults.callbacks:
            return
        snapshot = json.loads(json.dumps(task))
        previous = task.get("_previous")
        task["_previous"] = snapshot
        copies = 2 if self.faults.duplicate_callbacks else 1
        for _ in range(copies):
            await self._callback(hook, snapshot)
        if self.faults.out_of_order_callbacks and previous is not None:
            await self._callback(hook, previous)

    async def _callback(self, hook: str, payload: dict[str, Any]) -> None:
        payload = {k: v for k, v in payload.items() if not k.startswith("_")}
        try:
            await self._http.post(hook, json=payload)
            self.callbacks_sent += 1
        except httpx.HTTPError:
            self.callback_failures += 1

    # ---- queries -------------------------------------------------------------------------------

    def _public(self, task: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in task.items() if not k.startswith("_")}

    async def _query_route(
        self, method: str, path: str, body: Any
    ) -> tuple[int, str, bytes] | None:
        f = self.faults
        if path == "/mj/task/list-by-condition":
            broken = await _faulty(
                f.list_delay, f.list_drop_connection, f.list_http_status, f.list_malformed
            )
            if broken is not False:
                return broken
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/mj/task/list-by-condition":
            ids = (body or {}).get("ids") or []
            if f.omit_all_from_list:
                return self._json([])
            found = [
                self._public(self.tasks[i])
                for i in ids
                if i in self.tasks and i not in f.omit_from_list and i not in f.forgotten
            ]
            return self._json(found)
        if method == "GET" and len(parts) == 4 and parts[:2] == ["mj", "task"]:
            uid, what = parts[2], parts[3]
            task = self.tasks.get(uid)
            if task is None or uid in f.forgotten:
                return 200, "application/json", b""
            if what == "fetch":
                return self._json(self._public(task))
            if what == "image-seed":
                return self._json({"code": 1, "description": "成功", "result": "1234567"})
        return 404, "application/json", b""

    @staticmethod
    def _json(data: Any) -> tuple[int, str, bytes]:
        return 200, "application/json", json.dumps(data, ensure_ascii=False).encode()


Answer = tuple[int, str, bytes]


async def _faulty(
    delay: float, drop: bool, http_status: int | None, malformed: bool
) -> Answer | Literal[False] | None:
    """The faulty answer these settings call for: None = cut the connection, False = none."""
    if delay:
        await asyncio.sleep(delay)
    if drop:
        return None
    if http_status:
        return http_status, "text/plain", b"upstream exploded"
    if malformed:
        return 200, "application/json", b'{"code": 1, "result": [{'
    return False


async def start_fake(**kwargs: Any) -> FakeUpstream:
    return await FakeUpstream(**kwargs).start()


__all__ = ["FakeUpstream", "Faults", "start_fake"]
