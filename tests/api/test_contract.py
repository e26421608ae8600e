"""The API contract: what the OpenAPI document declares is what the server answers.

Regression tests for what fuzzing the document found (statuses it did not declare, a 422 it
declared and never answered), and for JSON bodies sent the way ``curl -d`` sends them.
(Out-of-range numbers and NUL characters: ``test_unstorable_input.py``.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from tests.support.live import LiveRelay
from tests.support.settings import fast_settings

from mjrelay.api.deps import BaseURLs
from mjrelay.core.settings import Settings

TOKEN = "contract-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(tmp_path / "data", admin_token=SecretStr(TOKEN))


def assert_envelope(response: httpx.Response, status: int, code: int, field: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    envelope = response.json()
    assert set(envelope) == {"code", "description", "result", "properties"}
    assert envelope["code"] == code, envelope
    assert envelope["description"].startswith(field), envelope


# ---- JSON bodies whatever their Content-Type ------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",  # what `curl -d` sends
        "text/plain",
        "text/plain; charset=utf-8",
        None,
        "application/json; charset=utf-8",
        "application/vnd.api+json",
    ],
)
async def test_json_bodies_are_read_whatever_their_label(
    live: LiveRelay, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    body = json.dumps({"prompt": "a curl-made cat", "state": "from curl"}).encode()
    async with live.client() as user:
        answer = await user.post("/mj/submit/imagine", content=body, headers=headers)
        assert answer.status_code == 200 and answer.json()["code"] == 1, answer.text
        task_id = answer.json()["result"]
        listed = await user.post(
            "/mj/task/list-by-condition",
            content=json.dumps({"ids": [task_id]}).encode(),
            headers=headers,
        )
        assert [task["state"] for task in listed.json()] == ["from curl"]
    async with live.client(TOKEN) as admin:
        created = await admin.post(
            "/admin/tenants", content=b'{"name": "curl tenant"}', headers=headers
        )
        assert created.json()["result"]["name"] == "curl tenant"


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("application/x-www-form-urlencoded", b"prompt=a+cat"),
        ("text/plain", b"a cat"),
        ("multipart/form-data; boundary=x", b"--x\r\n\r\nprompt\r\n--x--\r\n"),
        ("application/json", b"prompt=a cat"),
    ],
)
async def test_a_body_that_is_not_json_is_still_400(
    live: LiveRelay, content_type: str, raw: bytes
) -> None:
    async with live.client() as user:
        answer = await user.post(
            "/mj/submit/imagine", content=raw, headers={"Content-Type": content_type}
        )
        assert_envelope(answer, 400, 4, "body: malformed JSON")


# ---- the document ---------------------------------------------------------------------------


async def document(live: LiveRelay) -> dict[str, Any]:
    async with live.client() as http:
        served: dict[str, Any] = (await http.get("/openapi.json")).json()
        return served


async def test_errors_are_declared_with_the_envelope_and_never_422(live: LiveRelay) -> None:
    served = await document(live)
    envelope_ref = {"$ref": "#/components/schemas/Envelope"}
    declared: dict[str, list[str]] = {}
    for path, item in served["paths"].items():
        for method, operation in item.items():
            statuses = sorted(operation["responses"])
            declared[f"{method.upper()} {path}"] = statuses
            assert "422" not in statuses
            for status in statuses:
                if status != "200":
                    schema = operation["responses"][status]["content"]["application/json"]
                    assert schema["schema"] == envelope_ref, (path, method, status)
    assert "HTTPValidationError" not in served["components"]["schemas"]
    assert declared["POST /mj/submit/imagine"] == ["200", "400", "401", "413", "429"]
    assert declared["GET /mj/task/{task_id}/fetch"] == ["200", "401", "404", "429"]
    assert declared["GET /mj/task/list"] == ["200", "400", "401", "429"]
    assert declared["GET /admin/keys/{key_id}"] == ["200", "400", "401", "404"]
    assert declared["PUT /admin/prices"] == ["200", "400", "401", "404", "413"]
    assert declared["GET /admin/channels"] == ["200", "401", "404"]
    assert declared["GET /metrics"] == ["200", "401", "404"]
    assert declared["GET /"] == ["200"]


async def test_the_fetch_fast_path_answers_what_the_document_declares(live: LiveRelay) -> None:
    declared = (await document(live))["paths"]["/mj/task/{task_id}/fetch"]["get"]["responses"]
    async with live.client() as user, live.client("not-a-key") as stranger:
        submitted = await user.post("/mj/submit/imagine", json={"prompt": "a declared cat"})
        answers = [
            await user.get(f"/mj/task/{submitted.json()['result']}/fetch"),
            await user.get("/mj/task/1234567890123456/fetch"),
            await stranger.get("/mj/task/1234567890123456/fetch"),
        ]
    assert [a.status_code for a in answers] == [200, 404, 401]
    for answer in answers:
        assert str(answer.status_code) in declared


def test_base_urls_accept_the_server_as_any_pair() -> None:
    """ASGI lets ``server`` be any two-item iterable; a list once broke the memo with a 500."""
    urls = BaseURLs("")
    for server in (["testserver", 80], ("testserver", 80)):
        scope = {
            "type": "http",
            "scheme": "http",
            "server": server,
            "path": "/",
            "root_path": "",
            "headers": [(b"host", b"testserver")],
        }
        assert urls.of(scope) == "http://testserver"
