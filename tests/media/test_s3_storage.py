"""Relay-hosted images in an S3-compatible bucket (a real moto S3 server on 127.0.0.1).

Clients must see no difference from the local backend: same URLs, same bytes, same headers,
same 404 envelope; nothing lands in the data dir and the S3 secret never reaches the logs.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.fake_upstream import FakeUpstream
from tests.support.live import running_relay, wait_for_status
from tests.support.s3_server import SECRET_ACCESS_KEY, S3Server, s3_server
from tests.support.settings import fast_settings
from tests.support.upstream_env import relay_for, upstream_channel
from tests.support.wire import png_bytes

from mjrelay.core.settings.media import MediaSettings
from mjrelay.media.backends import S3Backend
from mjrelay.media.store import MediaStore


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


def key_of(url: str) -> str:
    return url.rsplit("/mj/image/", 1)[1]


async def test_sandbox_jobs_store_in_the_bucket_and_serve_the_same_urls(
    tmp_path: Path, s3: S3Server, capfd: pytest.CaptureFixture[str]
) -> None:
    bucket = s3.new_bucket()
    reference = png_bytes(40, 30, (10, 200, 30))
    settings = fast_settings(
        tmp_path / "d", media=s3.media_settings(bucket), log_level="DEBUG"
    )
    async with running_relay(settings) as live, live.client() as client:
        # A reference image goes in through the bucket and comes back out for the renderer.
        answer = (
            await client.post(
                "/mj/submit/imagine",
                json={
                    "prompt": "a lighthouse",
                    "base64Array": [
                        "data:image/png;base64," + base64.b64encode(reference).decode()
                    ],
                },
            )
        ).json()
        assert answer["code"] == 1, answer
        grid = await wait_for_status(client, answer["result"], {"SUCCESS", "FAILURE"})
        assert grid["status"] == "SUCCESS", grid
        upscale = (
            await client.post(
                "/mj/submit/action",
                json={"taskId": grid["id"], "customId": grid["buttons"][0]["customId"]},
            )
        ).json()
        assert upscale["code"] == 1, upscale
        u1 = await wait_for_status(client, upscale["result"], {"SUCCESS", "FAILURE"})
        assert u1["status"] == "SUCCESS", u1

        stored = s3.objects(bucket)
        assert all(name.startswith("relay/") for name in stored)
        assert reference in stored.values()  # the client's reference image
        async with httpx.AsyncClient() as anonymous:  # images need no key, as with local
            for url in (grid["imageUrl"], *grid["imageUrls"], u1["imageUrl"]):
                assert url.startswith(f"{live.base_url}/mj/image/")
                assert "relay/" + key_of(url) in stored
                response = await anonymous.get(url)
                assert response.status_code == 200
                assert response.content == stored["relay/" + key_of(url)]
                assert response.headers["content-type"] == "image/png"
                assert response.headers["cache-control"] == (
                    "public, max-age=31536000, immutable"
                )
                assert int(response.headers["content-length"]) == len(response.content)
            for path in ("/mj/image/AAAAAAAAAAAAAAAAAAAAAA.png", "/mj/image/..%2Fmjrelay.db"):
                missing = await anonymous.get(live.base_url + path)
                assert missing.status_code == 404
                assert missing.json()["code"] == 3
        assert not (tmp_path / "d" / "images").exists() or not any(
            (tmp_path / "d" / "images").iterdir()
        )
    logs = capfd.readouterr()
    assert "media.s3_ready" in logs.out + logs.err  # DEBUG logging was on and captured
    assert SECRET_ACCESS_KEY not in logs.out + logs.err


async def test_upstream_images_are_mirrored_into_the_bucket(tmp_path: Path, s3: S3Server) -> None:
    bucket = s3.new_bucket()
    async with (
        FakeUpstream(image_host="localhost") as fake,
        relay_for(
            tmp_path / "d", [upstream_channel(fake)], media=s3.media_settings(bucket, prefix="")
        ) as live,
        live.client() as client,
    ):
        answer = (await client.post("/mj/submit/imagine", json={"prompt": "a gull"})).json()
        task = await wait_for_status(client, answer["result"], {"SUCCESS"})
        for _ in range(200):
            record = await live.relay.lifecycle.store.get(task["id"])
            assert record is not None
            if record.engine_state.get("mirror") in ("done", "failed"):
                break
            await asyncio.sleep(0.02)
        assert record.engine_state["mirror"] == "done"
        task = (await client.get(f"/mj/task/{task['id']}/fetch")).json()
        stored = s3.objects(bucket)
        urls = (task["imageUrl"], *task["imageUrls"])
        assert len(urls) == 5
        for url in urls:
            assert url.startswith(live.base_url + "/mj/image/")
            assert stored[key_of(url)] == fake.image
            assert (await client.get(url)).content == fake.image


async def test_store_interface_against_the_bucket(s3: S3Server) -> None:
    bucket = s3.new_bucket()
    media = MediaStore(
        Path("/nonexistent-never-used"),
        backend=S3Backend(MediaSettings.model_validate(s3.media_settings(bucket, prefix="p/"))),
    )
    media.ensure_root()
    key = await media.save(b"\x89PNG fake bytes", "png", suffix="job/../hash")
    assert MediaStore.is_valid_key(key) and key.endswith("_jobhash.png")
    assert await media.read(key) == b"\x89PNG fake bytes"
    assert await media.exists(key)
    assert not await media.exists("B" * 22 + ".png")
    assert await media.open("../etc/passwd") is None
    with pytest.raises(FileNotFoundError):
        await media.read("C" * 22 + ".png")
    assert set(s3.objects(bucket)) == {"p/" + key}


def test_a_missing_bucket_is_reported_at_start(s3: S3Server) -> None:
    settings = MediaSettings.model_validate(s3.media_settings("no-such-bucket-here"))
    media = MediaStore(Path("/unused"), backend=S3Backend(settings))
    with pytest.raises(RuntimeError, match=r"no-such-bucket-here.*(404|Not Found)"):
        media.ensure_root()


def test_s3_needs_a_bucket() -> None:
    with pytest.raises(ValueError, match=r"media\.s3_bucket"):
        S3Backend(MediaSettings(backend="s3"))

