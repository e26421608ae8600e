"""The plain-ASGI fetch path (``api.fast_fetch``) answers exactly like FastAPI's fetch route.

A fetch that carries a ``Content-Length`` header is handed on to FastAPI (so the body limit
still applies), which gives every case here a twin request that takes the FastAPI route over
the same real server: both must agree on status, headers and bytes.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from tests.support.live import LiveRelay
from tests.support.wire import finished, submit_ok

ROUTE = {"Content-Length": "0"}  # makes the fast path pass the request on to FastAPI


def _same(fast: httpx.Response, routed: httpx.Response) -> None:
    assert fast.status_code == routed.status_code
    assert fast.content == routed.content
    for header in ("content-type", "content-length", "www-authenticate"):
        assert fast.headers.get(header) == routed.headers.get(header), header


async def _both(client: httpx.AsyncClient, path: str, **headers: str) -> httpx.Response:
    fast = await client.get(path, headers=headers)
    routed = await client.get(path, headers={**headers, **ROUTE})
    _same(fast, routed)
    return fast


async def test_own_task_with_base_url_from_the_host_header(live: LiveRelay) -> None:
    async with live.client() as client:
        task_id = await submit_ok(client, "/mj/submit/imagine", {"prompt": "a fast fox"})
        await finished(client, task_id)
        task = (await _both(client, f"/mj/task/{task_id}/fetch")).json()
        assert task["id"] == task_id and task["status"] == "SUCCESS"
        assert task["imageUrl"].startswith(f"{live.base_url}/mj/image/")
        # The base URL follows the Host the client used, on both paths.
        other = await _both(client, f"/mj/task/{task_id}/fetch", Host="relay.example:8443")
        assert other.json()["imageUrl"].startswith("http://relay.example:8443/mj/image/")
        # Mode-prefixed fetches go through FastAPI and serve the same bytes.
        prefixed = await client.get(f"/mj-fast/mj/task/{task_id}/fetch")
        _same((await client.get(f"/mj/task/{task_id}/fetch")), prefixed)


async def test_errors_use_the_same_envelopes(live: LiveRelay) -> None:
    async with live.client() as alice:
        task_id = await submit_ok(alice, "/mj/submit/imagine", {"prompt": "alice's owl"})
        await finished(alice, task_id)
    bob_key = await live.new_key("bob")
    async with live.client(bob_key) as bob:
        foreign = await _both(bob, f"/mj/task/{task_id}/fetch")
        unknown = await _both(bob, "/mj/task/1234567890123456/fetch")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["code"] == 3
    async with httpx.AsyncClient(base_url=live.base_url) as anonymous:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"mj-api-secret": "x" * 300}):
            response = await _both(anonymous, f"/mj/task/{task_id}/fetch", **headers)
            assert response.status_code == 401
            assert response.json()["code"] == 4


@pytest.mark.parametrize("header", ["bearer", "mj-api-secret"])
async def test_either_key_header(live: LiveRelay, header: str) -> None:
    async with live.client(header=header) as client:
        task_id = await submit_ok(client, "/mj/submit/imagine", {"prompt": "a keyed heron"})
        await finished(client, task_id)
        assert (await _both(client, f"/mj/task/{task_id}/fetch")).status_code == 200


async def test_body_limit_still_applies_to_fetch(live: LiveRelay) -> None:
    # httpx will not declare a body it does not send, so this client speaks HTTP/1.1 itself.
    url = httpx.URL(live.base_url)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        writer.write(
            b"GET /mj/task/1234567890123456/fetch HTTP/1.1\r\nHost: relay\r\n"
            + f"Authorization: Bearer {live.key}\r\nContent-Length: {10**12}\r\n\r\n".encode()
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        body = await asyncio.wait_for(reader.readexactly(length), 10)
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body)["code"] == 4
