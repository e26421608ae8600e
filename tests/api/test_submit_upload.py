"""``POST /mj/submit/upload-discord-images``: hosted URLs for the client's images."""

from __future__ import annotations

import base64

import httpx
from tests.support.live import LiveRelay
from tests.support.wire import png_bytes, submit


async def test_upload_returns_absolute_urls_that_serve_the_images(live: LiveRelay) -> None:
    images = [png_bytes(30, 20, (1, 2, 3)), png_bytes(8, 8, (200, 100, 0))]
    body = {
        "base64Array": ["data:image/png;base64," + base64.b64encode(i).decode() for i in images]
    }
    async with live.client() as client:
        answer = await submit(client, "/mj/submit/upload-discord-images", body)
    assert answer["code"] == 1
    urls = answer["result"]
    assert isinstance(urls, list) and len(urls) == 2
    async with httpx.AsyncClient() as anonymous:  # images need no key
        for url, original in zip(urls, images, strict=True):
            assert url.startswith(f"{live.base_url}/mj/image/")
            response = await anonymous.get(url)
            assert response.status_code == 200
            assert response.headers["content-type"] == "image/png"
            assert response.content == original
    assert urls[0] != urls[1]


async def test_upload_uses_the_public_url_when_configured(tmp_path: object) -> None:
    from pathlib import Path

    from tests.support.live import running_relay
    from tests.support.settings import fast_settings

    assert isinstance(tmp_path, Path)
    settings = fast_settings(tmp_path / "data", public_url="https://relay.example.com/")
    async with running_relay(settings) as live, live.client() as client:
        answer = await submit(
            client,
            "/mj/submit/upload-discord-images",
            {"base64Array": ["data:image/png;base64," + base64.b64encode(png_bytes()).decode()]},
        )
        assert answer["result"][0].startswith("https://relay.example.com/mj/image/")
        # And the image is still served here under its key.
        key = answer["result"][0].rsplit("/", 1)[1]
        assert (await client.get(f"/mj/image/{key}")).content == png_bytes()


async def test_upload_bad_input(client: httpx.AsyncClient) -> None:
    for body, field in (
        ({}, "base64Array"),
        ({"base64Array": []}, "base64Array"),
        ({"base64Array": "x"}, "base64Array"),
        ({"base64Array": ["data:text/plain;base64,aGk="]}, "base64Array[0]"),
    ):
        answer = await submit(client, "/mj/submit/upload-discord-images", body)
        assert answer["code"] == 4, body
        assert answer["description"].startswith(f"{field}:"), answer
    # Unknown image keys are 404s with the JSON envelope, and path tricks are refused.
    for path in ("/mj/image/AAAAAAAAAAAAAAAAAAAAAA.png", "/mj/image/..%2Fmjrelay.db"):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.json()["code"] == 3
