"""Input the database cannot hold or compare is bad input: 400 with the envelope, never a 500.

Found by fuzzing the OpenAPI document (``test_openapi_fuzz.py``): numbers beyond the id and
timestamp columns (SQLite cannot bind integers beyond 64 bits, PostgreSQL's ids are 32-bit) and
NUL characters (PostgreSQL text cannot hold them) reached a query and failed there. Run on both
databases, since they refuse different input.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from tests.support.databases import POSTGRES_ADMIN_URL, fresh_postgres_database
from tests.support.live import LiveRelay, running_relay
from tests.support.settings import fast_settings

from mjrelay.core.settings import Settings

TOKEN = "unstorable-admin-token"
TOO_BIG = "11374913046835238912"  # beyond 64 bits: SQLite could not even bind it


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    if request.param == "sqlite":
        yield fast_settings(tmp_path / "data", admin_token=SecretStr(TOKEN))
        return
    async with fresh_postgres_database() as url:
        yield fast_settings(tmp_path / "data", admin_token=SecretStr(TOKEN), database_url=url)


async def drop_database(url: str) -> None:
    """Drops the relay's database under it (its open connections are terminated)."""
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            name = url.rpartition("/")[2]
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def assert_refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 400, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    envelope = response.json()
    assert set(envelope) == {"code", "description", "result", "properties"}
    assert envelope["code"] == 4, envelope
    assert envelope["description"].startswith(field), envelope


# ---- numbers beyond the database's columns: 400, never a 500 ------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/admin/keys?tenantId={TOO_BIG}", "query.tenantId"),
        ("/admin/keys?tenantId=2147483648", "query.tenantId"),  # PostgreSQL int4 + 1
        (f"/admin/keys/{TOO_BIG}", "path.key_id"),
        ("/admin/keys/2147483648", "path.key_id"),
        ("/admin/keys/-1", "path.key_id"),
        (f"/admin/keys/{TOO_BIG}/ledger", "path.key_id"),
        (f"/admin/keys/1/ledger?before={TOO_BIG}", "query.before"),
        (f"/admin/usage?since={TOO_BIG}", "query.since"),
        (f"/admin/usage?until={TOO_BIG}", "query.until"),
        (f"/admin/tasks?since={TOO_BIG}", "query.since"),
        (f"/admin/tasks?tenantId={TOO_BIG}", "query.tenantId"),
        (f"/admin/audit?before={TOO_BIG}", "query.before"),
    ],
)
async def test_out_of_range_numbers_in_admin_urls(live: LiveRelay, path: str, field: str) -> None:
    async with live.client(TOKEN) as admin:
        assert_refused(await admin.get(path), field)


async def test_largest_ids_in_range_are_just_not_found(live: LiveRelay) -> None:
    async with live.client(TOKEN) as admin:
        missing = await admin.get("/admin/keys/2147483647")
        assert missing.status_code == 404 and missing.json()["code"] == 3
        listed = await admin.get("/admin/keys?tenantId=2147483647")
        assert listed.status_code == 200 and listed.json()["result"] == []


async def test_out_of_range_numbers_in_admin_bodies(live: LiveRelay) -> None:
    async with live.client(TOKEN) as admin:
        for body, field in [
            ({"name": "k", "maxInFlight": 2**31}, "maxInFlight"),
            ({"name": "k", "ratePerSecond": 1e308}, "ratePerSecond"),
        ]:
            assert_refused(await admin.post("/admin/keys", json=body), field)
        # A rate this large used to be stored, then broke every request of the key with a 500.
        limits = await admin.put(f"/admin/keys/{1}/limits", json={"ratePerSecond": 1e308})
        assert_refused(limits, "ratePerSecond")
    async with live.client() as user:
        assert (await user.get("/mj/account")).json()["code"] == 1


async def test_out_of_range_cursor_of_the_tenant_ledger(live: LiveRelay) -> None:
    async with live.client() as user:
        answer = await user.get(f"/mj/account/ledger?before={TOO_BIG}")
        assert_refused(answer, "query.before")


# ---- NUL characters (PostgreSQL text cannot hold them): 400, never a 500 ------------------


@pytest.mark.parametrize(
    "path",
    [
        "/mj/task/%00/fetch",  # the fetch fast path hands it on to the same check
        "/mj-fast/mj/task/%00/fetch",
        "/mj/task/%00/image-seed",
        "/mj/task/%00/callbacks",
        "/mj/task/list?before=%00",
        "/mj/image/%00",
    ],
)
async def test_nul_in_a_user_url(live: LiveRelay, path: str) -> None:
    async with live.client() as user:
        assert_refused(await user.get(path), "url: must not contain NUL")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/tasks?engine=%00"),
        ("GET", "/admin/tasks?before=a%00b"),
        ("POST", "/admin/channels/%00/disable"),
        ("POST", "/mj/task/%00/cancel"),
    ],
)
async def test_nul_in_other_urls(live: LiveRelay, method: str, path: str) -> None:
    async with live.client(TOKEN) as admin:
        answer = await admin.request(method, path)
        assert_refused(answer, "url: must not contain NUL")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/admin/prices", {"modeMultipliers": {"fast\x00": 1}}, "modeMultipliers"),
        ("/admin/prices", {"prices": {"IMAGINE\x00": 1}}, "prices"),
        ("/admin/tenants", {"name": "t\x00"}, "name"),
        ("/admin/keys", {"name": "k\x00"}, "name"),
        ("/admin/keys", {"name": "k", "tenant": "\x00"}, "tenant"),
    ],
)
async def test_nul_in_admin_bodies(live: LiveRelay, path: str, body: Any, field: str) -> None:
    method = "PUT" if path == "/admin/prices" else "POST"
    async with live.client(TOKEN) as admin:
        answer = await admin.request(method, path, json=body)
        assert_refused(answer, field)
        assert "NUL" in answer.json()["description"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/mj/submit/imagine", {"prompt": "a\x00cat"}, "prompt"),
        ("/mj/submit/imagine", {"prompt": "a cat", "state": "\x00"}, "state"),
        ("/mj/submit/action", {"taskId": "\x00", "customId": "MJ::JOB::upsample::1::a"}, "taskId"),
        ("/mj/submit/simple-change", {"content": "\x00 U1"}, "content"),
        ("/mj/submit/describe", {"link": "http://\x00x"}, "link"),
        ("/mj/task/list-by-condition", {"ids": ["\x00"]}, "ids"),
    ],
)
async def test_nul_in_user_bodies(live: LiveRelay, path: str, body: Any, field: str) -> None:
    async with live.client() as user:
        answer = await user.post(path, json=body)
        assert_refused(answer, field)
        assert "NUL" in answer.json()["description"]


# ---- health: a database that is gone is a declared 503, not a 500 ---------------------------


@pytest.mark.postgres
async def test_health_is_503_when_the_database_is_gone(tmp_path: Path) -> None:
    async with fresh_postgres_database() as url:
        settings = fast_settings(tmp_path / "data", database_url=url)
        async with running_relay(settings) as live, live.client() as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            await drop_database(url)
            answer = await http.get("/healthz")
            assert answer.status_code == 503, answer.text
            assert answer.json()["code"] == 9
            assert answer.json()["description"] == "database: unavailable"
            declared = (await http.get("/openapi.json")).json()["paths"]["/healthz"]["get"]
            assert "503" in declared["responses"]
