"""A small closed-loop HTTP/1.1 load generator (run as its own process by ``bench/fetch.py``).

Each of N keep-alive connections sends one request, waits for the whole response, records the
latency and sends the next: no pipelining, like real polling clients. It is an asyncio
``Protocol`` on uvloop that only finds the end of the headers and reads ``content-length`` per
response, so it costs far less CPU per request than the servers it measures.

Input (a JSON file named on the command line): ``port``, ``connections``, ``warmup`` and
``duration`` (seconds), ``server_pid`` (to report its CPU share) and ``requests_file``: raw
request bytes, NUL-separated, handed out round-robin over all connections. Output on stdout: one
JSON object with the counts, req/s, latency percentiles and CPU shares.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, cast

_HEADER_END = b"\r\n\r\n"
_LENGTH = b"\r\ncontent-length:"


class _Shared:
    """State shared by all connections of one run."""

    def __init__(self, requests: list[bytes], measure_from: float, stop_at: float) -> None:
        self.requests = requests
        self.next_index = 0
        self.measure_from = measure_from
        self.stop_at = stop_at
        self.latencies_ns: list[int] = []
        self.statuses: dict[int, int] = {}
        self.measured_from_ns = 0
        self.measured_to_ns = 0

    def next_request(self) -> bytes:
        index = self.next_index
        self.next_index = index + 1 if index + 1 < len(self.requests) else 0
        return self.requests[index]


class _Client(asyncio.Protocol):
    def __init__(self, shared: _Shared, done: asyncio.Future[None]) -> None:
        self.shared = shared
        self.done = done
        self.buffer = b""
        self.sent_ns = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have the same API.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:  # no Nagle delay on small requests
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.sent_ns = time.perf_counter_ns()
        self.transport.write(self.shared.next_request())

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        while True:
            head_end = buffer.find(_HEADER_END)
            if head_end < 0:
                break
            at = buffer.find(_LENGTH, 0, head_end)
            if at < 0:
                at = buffer.lower().find(_LENGTH, 0, head_end)
            if at < 0:
                self._fail("response without content-length")
                return
            line_end = buffer.find(b"\r\n", at + len(_LENGTH))
            if line_end < 0 or line_end > head_end:
                line_end = head_end
            length = int(buffer[at + len(_LENGTH) : line_end])
            total = head_end + 4 + length
            if len(buffer) < total:
                break
            status = int(buffer[9:12])
            buffer = buffer[total:]
            self._completed(status)
        self.buffer = buffer

    def _completed(self, status: int) -> None:
        now = time.perf_counter_ns()
        shared = self.shared
        if self.sent_ns >= shared.measure_from:
            shared.latencies_ns.append(now - self.sent_ns)
            shared.statuses[status] = shared.statuses.get(status, 0) + 1
            shared.measured_to_ns = now
        if now >= shared.stop_at:
            if not self.done.done():
                self.done.set_result(None)
            return
        self._send()

    def _fail(self, reason: str) -> None:
        if not self.done.done():
            self.done.set_exception(RuntimeError(reason))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(RuntimeError(f"connection lost: {exc}"))


def _percentile(sorted_values: list[int], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return sorted_values[index] / 1e6


async def run(config: dict[str, Any], requests: list[bytes]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    start = time.perf_counter_ns()
    measure_from = start + int(config["warmup"] * 1e9)
    stop_at = measure_from + int(config["duration"] * 1e9)
    shared = _Shared(requests, measure_from, stop_at)
    transports: list[asyncio.BaseTransport] = []
    waiting: list[asyncio.Future[None]] = []
    for _ in range(config["connections"]):
        done: asyncio.Future[None] = loop.create_future()
        transport, _protocol = await loop.create_connection(
            lambda done=done: _Client(shared, done), "127.0.0.1", config["port"]
        )
        transports.append(transport)
        waiting.append(done)
    # CPU used by the server and by this generator while measuring: a server well below 100%
    # of a core means something else (this generator, other processes) limited the run.
    cpu: dict[str, float] = {}

    def sample(label: str) -> None:
        cpu[f"server_{label}"] = _process_cpu(config.get("server_pid"))
        cpu[f"self_{label}"] = time.process_time()
        cpu[f"wall_{label}"] = time.perf_counter()

    to_seconds = 1e-9
    loop.call_later((measure_from - time.perf_counter_ns()) * to_seconds, sample, "start")
    loop.call_later((stop_at - time.perf_counter_ns()) * to_seconds, sample, "end")
    try:
        await asyncio.wait_for(asyncio.gather(*waiting), config["warmup"] + config["duration"] + 30)
    finally:
        for transport in transports:
            transport.close()
    if "wall_end" not in cpu:
        sample("end")
    wall = cpu["wall_end"] - cpu["wall_start"]
    latencies = sorted(shared.latencies_ns)
    elapsed = max(1, min(shared.measured_to_ns, stop_at) - measure_from) / 1e9
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50_ms": _percentile(latencies, 0.50),
        "p99_ms": _percentile(latencies, 0.99),
        "statuses": {str(k): v for k, v in sorted(shared.statuses.items())},
        "server_cpu": (cpu["server_end"] - cpu["server_start"]) / wall,
        "loadgen_cpu": (cpu["self_end"] - cpu["self_start"]) / wall,
    }


def _process_cpu(pid: int | None) -> float:
    """User+system CPU seconds of a process (Linux /proc; 0 where unavailable)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    requests = [r for r in Path(config["requests_file"]).read_bytes().split(b"\0") if r]
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency of uvicorn[standard]
        runner = asyncio.run
    print(json.dumps(runner(run(config, requests))))


if __name__ == "__main__":
    main()
