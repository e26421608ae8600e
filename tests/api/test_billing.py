"""Charges over real HTTP, on SQLite and PostgreSQL: exact under concurrency, refunds once."""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from tests.support.live import LiveRelay, running_relay, wait_for_status
from tests.support.operator import BACKENDS, StallingEngine, balance_of, database_url, ledger_rows
from tests.support.settings import fast_settings
from tests.support.waiting import until_async
from tests.support.wire import png_bytes

from mjrelay.core.settings import SandboxSettings
from mjrelay.domain.task import TaskStatus
from mjrelay.domain.updates import TaskUpdate


@pytest.fixture(params=BACKENDS)
async def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with database_url(request.param, tmp_path) as url:
        yield url


async def _paying_key(live: LiveRelay, balance: str) -> tuple[str, int]:
    key, info = await live.relay.admin.create_key(
        "payer", actor="test", balance=Decimal(balance)
    )
    return key, info.id


async def test_200_parallel_imagines_against_one_unit(backend_url: str, tmp_path: Path) -> None:
    settings = fast_settings(
        tmp_path / "data",
        database_url=backend_url,
        sandbox=SandboxSettings(job_seconds=0.05, progress_steps=1, core_size=3, queue_size=1000),
    )
    async with running_relay(settings) as live:
        key, key_id = await _paying_key(live, "1.0")
        async with live.client(key) as client:
            answers = await asyncio.gather(
                *(
                    client.post("/mj/submit/imagine", json={"prompt": f"a fox number {n}"})
                    for n in range(200)
                )
            )
            bodies = [answer.json() for answer in answers]
            codes = Counter(body["code"] for body in bodies)
            accepted = [body["result"] for body in bodies if body["code"] in (1, 22)]
            assert len(accepted) == 10, codes
            assert codes[4] == 190
            refused = [body for body in bodies if body["code"] == 4]
            assert all(body["description"].startswith("insufficient balance") for body in refused)
            assert await balance_of(live.relay.db, key_id) == Decimal(0)
            for task_id in accepted:
                await wait_for_status(client, task_id, {"SUCCESS"}, within=60)
        rows = await ledger_rows(live.relay.db, key_id)
        assert all((row.balance_after_units or 0) >= 0 for row in rows)
        kinds = Counter(row.kind for row in rows)
        # Settlement follows the final status through a listener: wait for the last one.
        for _ in range(200):
            if kinds["settle"] == 10:
                break
            await asyncio.sleep(0.02)
            kinds = Counter(row.kind for row in await ledger_rows(live.relay.db, key_id))
        assert kinds == {"topup": 1, "reserve": 10, "settle": 10}
        assert await balance_of(live.relay.db, key_id) == Decimal(0)


async def test_engine_refusals_are_refunded(backend_url: str, tmp_path: Path) -> None:
    settings = fast_settings(
        tmp_path / "data",
        database_url=backend_url,
        sandbox=SandboxSettings(job_seconds=5, progress_steps=1, core_size=1, queue_size=0),
    )
    async with running_relay(settings) as live:
        key, key_id = await _paying_key(live, "1.0")
        async with live.client(key) as client:
            banned = (await client.post("/mj/submit/imagine", json={"prompt": "nsfw cat"})).json()
            assert banned["code"] == 24
            assert await balance_of(live.relay.db, key_id) == Decimal("1.0")
            running = (await client.post("/mj/submit/imagine", json={"prompt": "a cat"})).json()
            assert running["code"] == 1
            full = (await client.post("/mj/submit/imagine", json={"prompt": "a dog"})).json()
            assert full["code"] == 23
            assert await balance_of(live.relay.db, key_id) == Decimal("0.9")
            cancelled = await client.post(f"/mj/task/{running['result']}/cancel")
            assert cancelled.json()["code"] == 1
            await wait_for_status(client, running["result"], {"CANCEL"})
            for _ in range(100):
                if await balance_of(live.relay.db, key_id) == Decimal("1.0"):
                    break
                await asyncio.sleep(0.02)
            assert await balance_of(live.relay.db, key_id) == Decimal("1.0")
        kinds = Counter(row.kind for row in await ledger_rows(live.relay.db, key_id))
        assert kinds == {"topup": 1, "reserve": 3, "refund": 3}


async def test_duplicate_and_concurrent_failures_refund_once(
    backend_url: str, tmp_path: Path
) -> None:
    settings = fast_settings(tmp_path / "data", database_url=backend_url)
    engine = StallingEngine()
    async with running_relay(settings, engines=[engine]) as live:
        key, key_id = await _paying_key(live, "1.0")
        engine.release.set()  # accept jobs at once; they never progress
        async with live.client(key) as client:
            task_id = (await client.post("/mj/submit/imagine", json={"prompt": "x"})).json()[
                "result"
            ]
        assert await balance_of(live.relay.db, key_id) == Decimal("0.9")
        relay = live.relay
        failure = TaskUpdate(task_id, TaskStatus.FAILURE, fail_reason="upstream failed")
        timeout = TaskUpdate(task_id, TaskStatus.FAILURE, fail_reason="timed out")
        cancel = TaskUpdate(task_id, TaskStatus.CANCEL, fail_reason="cancelled")
        await asyncio.gather(
            *(relay.lifecycle.apply(u) for u in [failure, timeout, cancel] * 10),
            *(relay.ops.ledger.close(task_id, success=False) for _ in range(10)),
        )
        record = await relay.lifecycle.store.get(task_id)
        assert record is not None and record.task.status.is_final
        await asyncio.gather(*(relay.ops.on_task(record) for _ in range(10)))
        await relay.ops.reconcile()
        assert await balance_of(relay.db, key_id) == Decimal("1.0")
        kinds = Counter(row.kind for row in await ledger_rows(relay.db, key_id))
        assert kinds == {"topup": 1, "reserve": 1, "refund": 1}


async def test_remix_is_charged_the_modal_price_at_the_modal(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path / "data")
    async with running_relay(settings) as live:
        key, key_id = await _paying_key(live, "1.0")
        async with live.client(key) as client:
            grid = (await client.post("/mj/submit/imagine", json={"prompt": "a hill"})).json()
            task = await wait_for_status(client, grid["result"], {"SUCCESS"})
            v1 = next(b for b in task["buttons"] if b["label"] == "V1")
            waiting = (
                await client.post(
                    "/mj/submit/action",
                    json={"taskId": task["id"], "customId": v1["customId"], "enableRemix": True},
                )
            ).json()
            assert waiting["code"] == 21
            assert await balance_of(live.relay.db, key_id) == Decimal("0.9")
            modal = (
                await client.post(
                    "/mj/submit/modal",
                    json={"taskId": waiting["result"], "prompt": "a hill at night"},
                )
            ).json()
            assert modal["code"] == 1
            assert await balance_of(live.relay.db, key_id) == Decimal("0.8")
            await wait_for_status(client, waiting["result"], {"SUCCESS"})


async def test_account_shows_the_balance(live: LiveRelay, client: httpx.AsyncClient) -> None:
    unlimited = (await client.get("/mj/account")).json()
    assert unlimited["result"]["balance"] is None
    key, _key_id = await _paying_key(live, "2.5")
    async with live.client(key) as paying:
        assert (await paying.get("/mj/account")).json()["result"]["balance"] == "2.5000"


def _png_data_url() -> str:
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


async def test_uploads_are_charged_at_once(live: LiveRelay) -> None:
    key, key_id = await _paying_key(live, "0.08")
    async with live.client(key) as client:
        body = {"base64Array": [_png_data_url()]}
        first = (await client.post("/mj/submit/upload-discord-images", json=body)).json()
        assert first["code"] == 1 and len(first["result"]) == 1
        assert await balance_of(live.relay.db, key_id) == Decimal("0.03")
        second = (await client.post("/mj/submit/upload-discord-images", json=body)).json()
        assert second["code"] == 4 and second["description"].startswith("insufficient balance")
    usage = await live.relay.admin.usage()
    assert [(u["keyId"], u["tasks"], u["charged"]) for u in usage if u["keyId"] == key_id] == [
        (key_id, 0, "0.0500")
    ]


async def test_a_video_job_is_reserved_settled_and_refunded_like_every_action(
    tmp_path: Path,
) -> None:
    settings = fast_settings(
        tmp_path / "data",
        sandbox=SandboxSettings(job_seconds=3, progress_steps=1, core_size=2, queue_size=2),
    )
    start = "data:image/png;base64," + base64.b64encode(png_bytes(64, 64)).decode()
    async with running_relay(settings) as live:
        key, key_id = await _paying_key(live, "2.0")
        async with live.client(key) as client:
            bad = await client.post("/mj/submit/video", json={"image": start, "motion": "x"})
            assert bad.json()["code"] == 4
            assert await balance_of(live.relay.db, key_id) == Decimal("2.0")  # nothing reserved
            body = {"image": start, "batchSize": 1}
            kept = (await client.post("/mj/submit/video", json=body)).json()
            cancelled = (await client.post("/mj/submit/video", json=body)).json()
            assert (kept["code"], cancelled["code"]) == (1, 1)
            assert await balance_of(live.relay.db, key_id) == Decimal("0.4")  # 2 x VIDEO 0.8
            await client.post(f"/mj/task/{cancelled['result']}/cancel")
            await wait_for_status(client, kept["result"], {"SUCCESS"}, within=60)

            async def refunded() -> bool:
                return await balance_of(live.relay.db, key_id) == Decimal("1.2")

            await until_async(refunded)
        kinds = Counter(row.kind for row in await ledger_rows(live.relay.db, key_id))
        assert kinds["reserve"] == 2 and kinds["refund"] == 1
