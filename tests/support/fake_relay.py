"""A fake third-party ``/mj`` relay (midjourney-proxy style) on a real socket, for SDK tests.

It has no stream endpoint, wants ``mj-api-secret``, and can be told to answer 503 a few times,
as relays behind a load balancer do; tasks advance one step per fetch. Like midjourney-proxy, it
answers a fetch of an unknown task id with HTTP 200 and an empty body, and ``task_fields`` lets a
test add or replace fields of the task JSON (``null`` values, extra fields).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PROGRESS = ["0%", "25%", "60%", "100%"]
PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


@dataclass
class FakeRelay:
    key: str = "proxy-secret"
    unavailable: int = 0  # answer 503 this many times first
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    fetches: int = 0
    base_url: str = ""
    task_fields: dict[str, Any] = field(default_factory=dict)

    def task(self) -> dict[str, Any]:
        step = min(self.fetches, len(PROGRESS) - 1)
        done = step == len(PROGRESS) - 1
        return {
            "id": "1700000000000001",
            "action": "IMAGINE",
            "status": "SUCCESS" if done else "IN_PROGRESS",
            "progress": PROGRESS[step],
            "imageUrl": f"{self.base_url}/attachments/grid.png" if done else "",
            "buttons": [],
            "prompt": "a fox",
            **self.task_fields,
        }


@contextmanager
def fake_relay(**options: Any) -> Iterator[FakeRelay]:
    state = FakeRelay(**options)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            return

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, value: Any) -> None:
            self._answer(status, json.dumps(value).encode(), "application/json")

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            state.requests.append((method, self.path, dict(self.headers.items())))
            if self.path.startswith("/attachments/"):
                self._answer(200, PNG_1x1, "image/png")
                return
            if state.unavailable > 0:
                state.unavailable -= 1
                self._json(503, {"error": "busy"})
                return
            if self.headers.get("mj-api-secret") != state.key:
                self._json(401, {"code": 4, "description": "bad secret"})
                return
            if method == "POST" and self.path == "/mj/submit/imagine":
                self._json(
                    200, {"code": 1, "description": "Submit success", "result": "1700000000000001"}
                )
            elif method == "GET" and self.path == "/mj/task/1700000000000001/fetch":
                task = state.task()
                state.fetches += 1
                self._json(200, task)
            elif method == "GET" and self.path.endswith("/fetch"):
                self._answer(200, b"", "application/json")
            else:
                self._answer(404, b"<html>Not Found</html>", "text/html")

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
