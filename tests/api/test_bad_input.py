"""Bad input of every kind gets code 4 (or 3) naming the field: never a 5xx, never a traceback."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.settings import fast_settings
from tests.support.wire import button, imagine_done, png_data_url, submit

from mjrelay.core.settings import Settings

LIMIT = 200_000


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(tmp_path / "data", max_body_bytes=LIMIT, max_prompt_chars=100)


def assert_clean_error(response: httpx.Response, status: int, code: int, field: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text and 'File "' not in response.text
    envelope = response.json()
    assert set(envelope) == {"code", "description", "result", "properties"}
    assert envelope["code"] == code, envelope
    assert envelope["description"].startswith(f"{field}:"), envelope


TEXT = "data:image/png;base64," + base64.b64encode(b"just some text, not a picture").decode()
GIF_AS_PNG = "data:image/jpeg;base64," + png_data_url().split(",", 1)[1]

SUBMITS: list[tuple[str, Any, str]] = [
    ("/mj/submit/imagine", {}, "prompt"),
    ("/mj/submit/imagine", {"prompt": ""}, "prompt"),
    ("/mj/submit/imagine", {"prompt": 42}, "prompt"),
    ("/mj/submit/imagine", {"prompt": ["a", "b"]}, "prompt"),
    ("/mj/submit/imagine", {"prompt": "x" * 101}, "prompt"),
    ("/mj/submit/imagine", {"prompt": "a cat", "botType": "DALL_E"}, "botType"),
    ("/mj/submit/imagine", {"prompt": "a cat", "base64Array": "abc"}, "base64Array"),
    ("/mj/submit/imagine", {"prompt": "a cat", "base64Array": {"a": 1}}, "base64Array"),
    ("/mj/submit/imagine", {"prompt": "a cat", "base64Array": [png_data_url()] * 6}, "base64Array"),
    (
        "/mj/submit/imagine",
        {"prompt": "a cat", "base64Array": ["%%%not base64%%%"]},
        "base64Array[0]",
    ),
    (
        "/mj/submit/imagine",
        {"prompt": "a cat", "base64Array": [png_data_url(), TEXT]},
        "base64Array[1]",
    ),
    ("/mj/submit/imagine", {"prompt": "a cat", "base64Array": [GIF_AS_PNG]}, "base64Array[0]"),
    ("/mj/submit/imagine", {"prompt": "a cat", "base64Array": [7]}, "base64Array[0]"),
    ("/mj/submit/describe", {"base64": "data:image/png;base64,!!!"}, "base64"),
    ("/mj/submit/describe", {"base64": TEXT}, "base64"),
    ("/mj/submit/describe", {"base64": 12}, "base64"),
    ("/mj/submit/describe", {"link": "file:///etc/passwd"}, "link"),
    ("/mj/submit/describe", {"link": "not a url"}, "link"),
    ("/mj/submit/blend", {"base64Array": [png_data_url(), TEXT]}, "base64Array[1]"),
    ("/mj/submit/shorten", {"prompt": None}, "prompt"),
    ("/mj/submit/action", {}, "taskId"),
    ("/mj/submit/action", {"taskId": 5, "customId": "MJ::JOB::upsample::1::abc"}, "taskId"),
    ("/mj/submit/modal", {"taskId": ["x"]}, "taskId"),
    ("/mj/submit/simple-change", {"content": {"a": 1}}, "content"),
    ("/mj/submit/upload-discord-images", {"base64Array": [TEXT]}, "base64Array[0]"),
]


@pytest.mark.parametrize(("path", "body", "field"), SUBMITS)
async def test_invalid_fields(client: httpx.AsyncClient, path: str, body: Any, field: str) -> None:
    response = await client.post(path, json=body)
    assert_clean_error(response, 200, 4, field)


async def test_action_bad_custom_ids(client: httpx.AsyncClient) -> None:
    grid = await imagine_done(client, "a brown bear")
    other = await imagine_done(client, "another bear")
    foreign_button = button(other, label="U1")
    cases = [
        (None, "customId"),
        ("", "customId"),
        (17, "customId"),
        ("garbage", "customId"),
        ("MJ::JOB::upsample::9::" + "a" * 8, "customId"),
        ("MJ::JOB::explode::1::abc", "customId"),
        ("MJ::" * 400, "customId"),
        ("MJ::JOB::upsample::1::deadbeef-0000", "customId"),  # well-formed, not this task's
        (foreign_button, "customId"),  # a real button, of another task
        ("MJ::Job::PicReader::1", "customId"),  # a describe button on a grid
    ]
    for custom_id, field in cases:
        response = await client.post(
            "/mj/submit/action", json={"taskId": grid["id"], "customId": custom_id}
        )
        assert_clean_error(response, 200, 4, field)
    not_ours = (
        await client.post(
            "/mj/submit/action", json={"taskId": grid["id"], "customId": foreign_button}
        )
    ).json()
    assert grid["id"] in not_ours["description"]


async def test_action_on_a_task_that_has_not_succeeded(client: httpx.AsyncClient) -> None:
    grid = await imagine_done(client, "a snowy peak")
    up = await client.post(
        "/mj/submit/action", json={"taskId": grid["id"], "customId": button(grid, label="U1")}
    )
    upscaled_id = up.json()["result"]
    # The upscale has just been submitted: not SUCCESS yet.
    response = await client.post(
        "/mj/submit/action",
        json={"taskId": upscaled_id, "customId": "MJ::JOB::low_variation::1::abc::SOLO"},
    )
    assert_clean_error(response, 200, 4, "taskId")
    assert "not SUCCESS" in response.json()["description"]
    # A task waiting in MODAL is not SUCCESS either.
    modal = await client.post(
        "/mj/submit/action",
        json={"taskId": grid["id"], "customId": button(grid, label="V2"), "enableRemix": True},
    )
    modal_id = modal.json()["result"]
    response = await client.post(
        "/mj/submit/action", json={"taskId": modal_id, "customId": button(grid, label="U1")}
    )
    assert_clean_error(response, 200, 4, "taskId")
    assert "MODAL" in response.json()["description"]


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"prompt": "a cat",}', b"\xff\xfe not utf-8", b'{"prompt": "unterminated'],
)
async def test_malformed_json_is_400(client: httpx.AsyncClient, raw: bytes) -> None:
    response = await client.post(
        "/mj/submit/imagine", content=raw, headers={"Content-Type": "application/json"}
    )
    assert_clean_error(response, 400, 4, "body")
    assert "JSON" in response.json()["description"]


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"a cat"', b"42", b"null", b"true"])
async def test_non_object_body(client: httpx.AsyncClient, raw: bytes) -> None:
    for path in ("/mj/submit/imagine", "/mj/submit/action", "/mj/task/list-by-condition"):
        response = await client.post(
            path, content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code in (200, 400), (path, raw, response.text)
        envelope = response.json()
        assert envelope["code"] == 4, (path, raw, envelope)
        assert "Traceback" not in response.text


async def test_missing_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/mj/submit/imagine")
    assert response.status_code in (200, 400)
    assert response.json()["code"] == 4


async def test_oversized_body_with_content_length(client: httpx.AsyncClient) -> None:
    body = json.dumps({"prompt": "a cat", "base64Array": ["A" * LIMIT]}).encode()
    response = await client.post(
        "/mj/submit/imagine", content=body, headers={"Content-Type": "application/json"}
    )
    assert_clean_error(response, 413, 4, "body")
    assert str(LIMIT) in response.json()["description"]


async def test_oversized_chunked_body_without_content_length(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"prompt": "a cat", "base64Array": ["'
        for _ in range(LIMIT // 10_000 + 2):
            yield b"A" * 10_000
        yield b'"]}'

    response = await client.post(
        "/mj/submit/imagine", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_clean_error(response, 413, 4, "body")


async def test_a_body_just_under_the_limit_is_read(client: httpx.AsyncClient) -> None:
    padding = "x" * (LIMIT - 100)
    # In a field the request ignores: ``state`` is capped at 255 characters (issue 11).
    body = json.dumps({"prompt": "a cat", "padding": padding}).encode()
    assert len(body) < LIMIT
    answer = await submit(client, "/mj/submit/imagine", json.loads(body))
    assert answer["code"] == 1


async def test_unknown_paths_and_methods_are_json(client: httpx.AsyncClient) -> None:
    missing = await client.get("/mj/nothing-here")
    assert missing.status_code == 404 and missing.json()["code"] == 3
    wrong_method = await client.get("/mj/submit/imagine")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == 4


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        ("/mj/submit/imagine", b'{"prompt": "a \\ud800 cat"}', "prompt"),
        ("/mj/submit/imagine", b'{"prompt": "a cat", "state": "\\udfff"}', "state"),
        ("/mj/submit/imagine", b'{"prompt": "a cat", "base64Array": ["\\ud800"]}', "base64Array"),
        ("/mj/submit/action", b'{"taskId": "\\ud800", "customId": "x"}', "taskId"),
        ("/mj/submit/modal", b'{"taskId": "1", "prompt": "\\ud83d"}', "prompt"),
        ("/mj/submit/shorten", b'{"prompt": "\\ud800"}', "prompt"),
        ("/mj/task/list-by-condition", b'{"ids": ["\\ud800"]}', "ids"),
    ],
)
async def test_lone_surrogates_are_refused(
    client: httpx.AsyncClient, path: str, raw: bytes, field: str
) -> None:
    """JSON can escape a lone UTF-16 surrogate, which no UTF-8 response or store can hold."""
    response = await client.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert_clean_error(response, 400, 4, field)
    assert "Unicode" in response.json()["description"]


async def test_paired_surrogates_are_fine(client: httpx.AsyncClient) -> None:
    raw = b'{"prompt": "a \\ud83e\\udd8a fox"}'
    response = await client.post(
        "/mj/submit/imagine", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.json()["code"] == 1
    task = (await client.get(f"/mj/task/{response.json()['result']}/fetch")).json()
    assert task["prompt"] == "a \N{FOX FACE} fox"


async def test_deeply_nested_json_is_a_400(client: httpx.AsyncClient) -> None:
    deep = b'{"prompt": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    response = await client.post(
        "/mj/submit/imagine", content=deep, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == 4 and "Traceback" not in response.text


async def test_state_and_notify_hook_are_capped_on_every_submit(client: httpx.AsyncClient) -> None:
    """The peers' caps: ``state`` at most 255 characters, ``notifyHook`` at most 2,000."""
    at_cap = await submit(client, "/mj/submit/imagine", {"prompt": "a cat", "state": "s" * 255})
    assert at_cap["code"] == 1, at_cap
    grid = await imagine_done(client, "a dog")
    long_hook = "http://example.com/" + "h" * 2000
    bodies = {
        "/mj/submit/imagine": {"prompt": "a cat"},
        "/mj/submit/shorten": {"prompt": "a cat"},
        "/mj/submit/action": {"taskId": grid["id"], "customId": button(grid, label="U1")},
    }
    for path, body in bodies.items():
        state = await submit(client, path, {**body, "state": "s" * 256})
        assert (state["code"], state["description"][:6]) == (4, "state:"), (path, state)
        hook = await submit(client, path, {**body, "notifyHook": long_hook})
        assert (hook["code"], hook["description"][:11]) == (4, "notifyHook:"), (path, hook)
