"""The admin API: its own token, keys and balances, prices, search, usage, audit, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from tests.support.live import LiveRelay, running_relay, wait_for_status
from tests.support.settings import fast_settings

TOKEN = "admin-secret-token-for-tests"


@pytest.fixture
async def admin_live(tmp_path: Path) -> AsyncIterator[LiveRelay]:
    settings = fast_settings(tmp_path / "data", admin_token=SecretStr(TOKEN))
    async with running_relay(settings) as live:
        yield live


def admin_client(live: LiveRelay, token: str = TOKEN) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=live.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


async def test_admin_is_off_without_a_token(live: LiveRelay) -> None:
    async with admin_client(live) as admin:
        answer = await admin.get("/admin/keys")
        assert answer.status_code == 404
        assert answer.json()["code"] == 3
        assert (await admin.get("/metrics")).status_code == 404


async def test_wrong_or_api_token_is_refused(admin_live: LiveRelay) -> None:
    for token in ("nope", admin_live.key, TOKEN + "x"):
        async with admin_client(admin_live, token) as admin:
            answer = await admin.get("/admin/keys")
            assert answer.status_code == 401, token
    async with admin_client(admin_live) as admin, admin_live.client() as tenant:
        assert (await tenant.get("/admin/keys")).status_code == 401
        assert (await admin.get("/mj/task/list")).status_code == 401  # and the other way


async def test_key_lifecycle_balances_and_audit(admin_live: LiveRelay) -> None:
    async with admin_client(admin_live) as admin:
        created = (
            await admin.post(
                "/admin/keys",
                json={"name": "shop", "tenant": "acme", "balance": "0.15", "maxInFlight": 5},
            )
        ).json()
        assert created["code"] == 1
        key_info = created["result"]
        assert key_info["balance"] == "0.1500" and key_info["maxInFlight"] == 5
        key = key_info["key"]
        key_id = key_info["id"]
        listed = (await admin.get("/admin/keys")).json()["result"]
        assert all("key" not in k and "keyHash" not in k for k in listed)
        assert key_id in [k["id"] for k in listed]

        async with admin_live.client(key) as tenant:
            one = (await tenant.post("/mj/submit/imagine", json={"prompt": "a"})).json()
            assert one["code"] == 1
            two = (await tenant.post("/mj/submit/imagine", json={"prompt": "b"})).json()
            assert two["code"] == 4 and "insufficient balance" in two["description"]

            topped = (
                await admin.post(f"/admin/keys/{key_id}/topup", json={"amount": 1, "note": "paid"})
            ).json()
            assert topped["result"]["balance"] == "1.0500"
            bad = (await admin.post(f"/admin/keys/{key_id}/topup", json={"amount": "-1"})).json()
            assert bad["code"] == 4 and bad["description"].startswith("amount:")

            prices = (
                await admin.put(
                    "/admin/prices",
                    json={"prices": {"IMAGINE": "0.25"}, "modeMultipliers": {"relax": "0.5"}},
                )
            ).json()["result"]
            assert prices["prices"]["IMAGINE"] == "0.2500"
            assert prices["modeMultipliers"]["relax"] == "0.5000"
            relaxed = await tenant.post("/mj-relax/mj/submit/imagine", json={"prompt": "c"})
            assert relaxed.json()["code"] == 1
            account = (await tenant.get("/mj/account")).json()["result"]
            assert account["balance"] == "0.9250"  # 1.05 - 0.25 x 0.5
            await wait_for_status(tenant, one["result"], {"SUCCESS"})
            await wait_for_status(tenant, relaxed.json()["result"], {"SUCCESS"})

        unknown = (await admin.put("/admin/prices", json={"prices": {"FLY": 1}})).json()
        assert unknown["code"] == 4

        found = (await admin.get("/admin/tasks", params={"tenantId": key_info["tenantId"]})).json()[
            "result"
        ]
        assert [t["task"]["prompt"] for t in found] == ["c", "a"]
        assert found[0]["task"]["mode"] == "relax"

        for _ in range(100):
            usage = (await admin.get("/admin/usage")).json()["result"]
            mine = next(u for u in usage if u["keyId"] == key_id)
            if mine["held"] == "0.0000":
                break
            await asyncio.sleep(0.02)
        assert mine == {
            "keyId": key_id,
            "tenantId": key_info["tenantId"],
            "tasks": 2,
            "charged": "0.2250",
            "refunded": "0.0000",
            "held": "0.0000",
        }
        ledger = (await admin.get(f"/admin/keys/{key_id}/ledger")).json()["result"]
        assert sorted(e["kind"] for e in ledger) == [
            "reserve",
            "reserve",
            "settle",
            "settle",
            "topup",
            "topup",
        ]
        assert ledger[-1]["note"] == "opening balance"

        assert (await admin.post(f"/admin/keys/{key_id}/revoke")).json()["code"] == 1
        async with admin_live.client(key) as tenant:
            assert (await tenant.get("/mj/task/list")).status_code == 401

        audit = (await admin.get("/admin/audit")).json()["result"]
        assert [e["action"] for e in audit] == [
            "key.revoke",
            "prices.set",
            "balance.topup",
            "key.create",
        ]
        assert all(e["actor"] == "admin-api" for e in audit)
        assert key not in str(audit)

        tenants = (await admin.get("/admin/tenants")).json()["result"]
        assert {"acme", "test"} <= {t["name"] for t in tenants}


async def test_metrics(admin_live: LiveRelay) -> None:
    async with admin_live.client() as tenant:
        task_id = (await tenant.post("/mj/submit/imagine", json={"prompt": "m"})).json()["result"]
        await wait_for_status(tenant, task_id, {"SUCCESS"})
    async with httpx.AsyncClient(base_url=admin_live.base_url) as anonymous:
        assert (await anonymous.get("/metrics")).status_code == 401
    async with admin_client(admin_live) as admin:
        for _ in range(100):
            text = (await admin.get("/metrics")).text
            if 'mjrelay_ledger_amount{kind="settle"} 0.1' in text:
                break
            await asyncio.sleep(0.02)
    assert 'mjrelay_tasks_created_total{action="IMAGINE",engine="sandbox"} 1.0' in text
    assert (
        'mjrelay_tasks_finished_total{action="IMAGINE",engine="sandbox",status="SUCCESS"} 1.0'
        in text
    )
    assert 'mjrelay_ledger_amount{kind="settle"} 0.1' in text
    assert "mjrelay_engine_seconds_bucket" in text


async def test_public_metrics_and_cors(tmp_path: Path) -> None:
    settings = fast_settings(
        tmp_path / "data", metrics_public=True, cors_origins="https://app.example"
    )
    async with running_relay(settings) as live, httpx.AsyncClient(base_url=live.base_url) as http:
        assert (await http.get("/metrics")).status_code == 200
        allowed = await http.options(
            "/mj/task/list",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        other = await http.get("/", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
