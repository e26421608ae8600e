"""``/mj/account/ledger``: a key reads its own balance movements, never another key's."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from tests.support.live import LiveRelay, wait_for_status


async def test_a_key_reads_only_its_own_ledger(live: LiveRelay) -> None:
    admin = live.relay.admin
    mine, mine_info = await admin.create_key("mine", actor="test", balance=Decimal("1"))
    other, _ = await admin.create_key("other", actor="test", tenant="elsewhere", balance=Decimal(5))
    async with live.client(mine) as client, live.client(other) as stranger:
        task = (await client.post("/mj/submit/imagine", json={"prompt": "a"})).json()
        assert task["code"] == 1
        await wait_for_status(client, task["result"], {"SUCCESS"})
        for _ in range(100):  # the settle entry is written just after the task finishes
            entries = (await client.get("/mj/account/ledger")).json()["result"]
            if any(e["kind"] == "settle" for e in entries):
                break
            await asyncio.sleep(0.02)
        await admin.top_up(mine_info.id, Decimal("0.5"), actor="test", note="gift")
        entries = (await client.get("/mj/account/ledger")).json()["result"]
        assert [e["kind"] for e in entries] == ["topup", "settle", "reserve", "topup"]
        assert {e["keyId"] for e in entries} == {mine_info.id}
        assert entries[0]["balanceAfter"] == "1.4000" and entries[0]["note"] == "gift"
        assert entries[2]["taskId"] == task["result"] and entries[2]["action"] == "IMAGINE"

        older = (
            await client.get("/mj/account/ledger", params={"limit": 2, "before": entries[1]["id"]})
        ).json()["result"]
        assert [e["id"] for e in older] == [entries[2]["id"], entries[3]["id"]]

        theirs = (await stranger.get("/mj/account/ledger")).json()["result"]
        assert [e["kind"] for e in theirs] == ["topup"]
        assert theirs[0]["balanceAfter"] == "5.0000"

        too_many = await client.get("/mj/account/ledger", params={"limit": 501})
        assert too_many.status_code == 400 and "limit" in too_many.json()["description"]
    async with live.client("mjr_not-a-key") as nobody:
        assert (await nobody.get("/mj/account/ledger")).status_code == 401
