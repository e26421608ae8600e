"""The two servers ``bench/fetch.py`` compares, each run as its own uvicorn process.

``python bench/servers.py relay FD DATA_DIR`` serves mjrelay over the data dir;
``python bench/servers.py bare FD BODY_FILE`` serves a bare ASGI app that answers every request
with the bytes of BODY_FILE and the same headers as mjrelay's fetch. Both listen on the
already-bound socket FD (the parent picked a free 127.0.0.1 port and passed the socket), with
identical uvicorn settings: uvloop, httptools, no access log, no server header.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn

UVICORN_SETTINGS: dict[str, Any] = {
    "loop": "uvloop",
    "http": "httptools",
    "lifespan": "on",
    "log_level": "warning",
    "access_log": False,
    "server_header": False,
}


def bare_app(body: bytes) -> Any:
    """The ceiling: an ASGI app that does nothing but send prebuilt JSON bytes."""
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ],
    }
    message = {"type": "http.response.body", "body": body}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await send(start)
        await send(message)

    return app


def relay_app(data_dir: Path) -> Any:
    from mjrelay.api.app import create_app
    from mjrelay.core.settings import Settings
    from mjrelay.wiring import Relay

    settings = Settings(data_dir=data_dir, log_level="WARNING", create_initial_key=False)
    return create_app(Relay.build(settings))


def main() -> None:
    kind, fd, argument = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    if kind == "bare":
        app = bare_app(argument.read_bytes())
    else:
        from mjrelay.core.logging import configure_logging

        configure_logging("WARNING")
        app = relay_app(argument)
    # socket(fileno=) detects the address family; uvicorn's own ``fd=`` assumes AF_UNIX, which
    # would make uvloop treat the TCP socket as a Unix one (no TCP_NODELAY).
    sock = socket.socket(fileno=fd)
    uvicorn.Server(uvicorn.Config(app, **UVICORN_SETTINGS)).run(sockets=[sock])


if __name__ == "__main__":
    main()
