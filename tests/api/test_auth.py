"""Authentication (both headers), key revocation, tenant isolation and a legacy client."""

from __future__ import annotations

import httpx
import pytest
from tests.support.live import LiveRelay
from tests.support.wire import button, finished, imagine_done, submit, submit_ok


def assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/json")
    envelope = response.json()
    assert set(envelope) == {"code", "description", "result", "properties"}
    assert envelope["code"] == 4
    assert "API key" in envelope["description"]


async def test_both_headers_work(live: LiveRelay) -> None:
    async with live.client(header="bearer") as bearer:
        task_id = await submit_ok(bearer, "/mj/submit/imagine", {"prompt": "a bearer cat"})
    async with live.client(header="mj-api-secret") as secret:
        task = await finished(secret, task_id)
    assert task["prompt"] == "a bearer cat"
    async with httpx.AsyncClient(base_url=live.base_url) as raw:
        lower = await raw.get(
            f"/mj/task/{task_id}/fetch", headers={"authorization": f"bearer {live.key}"}
        )
        assert lower.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer wrong-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"mj-api-secret": "wrong-key"},
        {"mj-api-secret": "x" * 5000},
    ],
)
async def test_missing_or_wrong_key_is_401(live: LiveRelay, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=live.base_url, headers=headers) as client:
        assert_401(await client.post("/mj/submit/imagine", json={"prompt": "x"}))
        assert_401(await client.get("/mj/task/1234567890123456/fetch"))
        assert_401(await client.get("/mj/task/list"))
        assert_401(await client.post("/mj/task/list-by-condition", json={"ids": []}))
        assert_401(await client.get("/mj-fast/mj/task/list"))


async def test_revoked_key_is_401(live: LiveRelay) -> None:
    key = await live.new_key("short-lived")
    async with live.client(key) as client:
        assert (await client.get("/mj/task/list")).status_code == 200
        prefix = next(i.prefix for i in await live.relay.keys.list() if i.name == "short-lived")
        assert await live.relay.keys.revoke(prefix) == 1
        assert_401(await client.get("/mj/task/list"))
    # Other keys are unaffected.
    async with live.client() as client:
        assert (await client.get("/mj/task/list")).status_code == 200


async def test_tenant_isolation(live: LiveRelay) -> None:
    async with live.client() as alice:
        grid = await imagine_done(alice, "alice's castle")
        running = await submit_ok(alice, "/mj/submit/imagine", {"prompt": "alice's tower"})
    bob_key = await live.new_key("bob")
    async with live.client(bob_key) as bob:
        bob_task = await submit_ok(bob, "/mj/submit/imagine", {"prompt": "bob's hut"})
        unknown = await bob.get("/mj/task/1234567890123456/fetch")
        for task_id in (grid["id"], running):
            fetch = await bob.get(f"/mj/task/{task_id}/fetch")
            assert fetch.status_code == 404
            # Exactly what an unknown id gets, id aside: nothing leaks.
            assert fetch.json()["description"].replace(task_id, "ID") == unknown.json()[
                "description"
            ].replace("1234567890123456", "ID")
            seed = await bob.get(f"/mj/task/{task_id}/image-seed")
            assert seed.status_code == 404 and seed.json()["code"] == 3
            cancel = await bob.post(f"/mj/task/{task_id}/cancel")
            assert cancel.status_code == 404 and cancel.json()["code"] == 3
        action = await submit(
            bob, "/mj/submit/action", {"taskId": grid["id"], "customId": button(grid, label="U1")}
        )
        assert action["code"] == 3
        simple = await submit(bob, "/mj/submit/simple-change", {"content": f"{grid['id']} U1"})
        assert simple["code"] == 3
        by_ids = await bob.post(
            "/mj/task/list-by-condition", json={"ids": [grid["id"], running, bob_task]}
        )
        assert [t["id"] for t in by_ids.json()] == [bob_task]
        assert [t["id"] for t in (await bob.get("/mj/task/list")).json()] == [bob_task]
    async with live.client() as alice:
        # Bob's attempts changed nothing: Alice's running task was not cancelled.
        assert (await finished(alice, running))["status"] == "SUCCESS"
        assert [t["id"] for t in (await alice.get("/mj/task/list")).json()] == [
            running,
            grid["id"],
        ]
        assert (await alice.get(f"/mj/task/{bob_task}/fetch")).status_code == 404


async def test_two_keys_of_one_tenant_share_tasks(live: LiveRelay) -> None:
    first, _ = await live.relay.keys.create("ci-1", tenant="team")
    second, _ = await live.relay.keys.create("ci-2", tenant="team")
    async with live.client(first) as one:
        task_id = await submit_ok(one, "/mj/submit/imagine", {"prompt": "a team boat"})
    async with live.client(second, header="mj-api-secret") as two:
        assert (await finished(two, task_id))["prompt"] == "a team boat"


async def test_legacy_client_with_mj_api_secret(live: LiveRelay) -> None:
    """A midjourney-proxy era client: only ``mj-api-secret``, ``change`` and ``task/list``."""
    async with httpx.AsyncClient(
        base_url=live.base_url, headers={"mj-api-secret": live.key}
    ) as legacy:
        imagine = (await legacy.post("/mj/submit/imagine", json={"prompt": "an old clock"})).json()
        assert imagine["code"] == 1
        grid = await finished(legacy, imagine["result"])
        change = (
            await legacy.post(
                "/mj/submit/change",
                json={"taskId": grid["id"], "action": "UPSCALE", "index": 3},
            )
        ).json()
        assert change["code"] == 1
        upscaled = await finished(legacy, change["result"])
        assert upscaled["action"] == "UPSCALE"
        assert upscaled["customId"] == button(grid, label="U3")
        listing = await legacy.get("/mj/task/list")
        assert listing.status_code == 200
        assert listing.headers["content-type"] == "application/json"
        tasks = listing.json()
        assert isinstance(tasks, list)  # a plain JSON array, no envelope
        assert [t["id"] for t in tasks] == [upscaled["id"], grid["id"]]
        assert all(t["status"] == "SUCCESS" for t in tasks)
