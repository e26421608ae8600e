"""The dashboard's operator integration in headless Chromium: the balance badge and Account view
of a paying key, and the Admin tab (token in sessionStorage) managing keys through /admin.

Screenshots go to test-output/ui/operator/.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from tests.support.browser import CHROMIUM, OUTPUT
from tests.support.live import LiveRelay, wait_for_status
from tests.support.paced import paced_relay

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; .ci/run does)",
)

TOKEN = "operator-token-for-browser-tests"
SHOTS = OUTPUT / "operator"


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveRelay]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with paced_relay(
        tmp_path / "data", job_seconds=1.0, steps=2, admin_token=SecretStr(TOKEN)
    ) as relay:
        yield relay


async def _signed_in(browser: Any, key: str, *, width: int = 1280, height: int = 860) -> Any:
    context = await browser.new_context(viewport={"width": width, "height": height})
    await context.add_init_script(f"localStorage.setItem('mjrelay.apiKey', {key!r})")
    return context


def _watch_console(page: Any) -> list[str]:
    """Page errors and console errors, except the network lines browsers log for 4xx answers
    (a refused token, the missing channels endpoint), which are expected here."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text
            else None
        ),
    )
    return problems


async def _badge(page: Any, balance: str) -> str:
    """Waits until the header badge carries ``balance``; returns the text it shows."""
    await page.wait_for_selector(
        f'.balance[data-balance="{balance}"]:not([hidden])', timeout=15_000
    )
    return str(await page.text_content(".balance")).strip()


async def test_balance_badge_follows_charges_and_account_view(
    live: LiveRelay, browser: Any
) -> None:
    admin = live.relay.admin
    key, info = await admin.create_key("payer", actor="test", balance=Decimal("1"))
    context = await _signed_in(browser, key)
    page = await context.new_page()
    problems = _watch_console(page)
    await page.goto(f"{live.base_url}/ui")
    assert await _badge(page, "1.0000") == "1.00"

    await page.fill("textarea[name=prompt]", "a lighthouse at dusk")
    await page.click("button.imagine")
    assert await _badge(page, "0.9000") == "0.90"  # the imagine's price is reserved at submit
    await page.screenshot(path=SHOTS / "balance-after-imagine.png")
    task_id = await page.get_attribute(".task-view", "data-task-id")
    assert task_id

    # Money that arrives while the task runs shows once the task finishes, without a reload.
    await admin.top_up(info.id, Decimal("2"), actor="test", note="invoice 7")
    await page.wait_for_selector(f'.task-row[data-task-id="{task_id}"][data-status="SUCCESS"]')
    assert await _badge(page, "2.9000") == "2.90"

    await page.click(".balance")  # the badge leads to the Account view
    await page.wait_for_selector('table.ledger tr[data-kind="settle"]')
    facts = await page.locator(".fact-value").all_text_contents()
    assert facts[0] == "2.90"
    kinds = await page.eval_on_selector_all(
        "table.ledger tbody tr", "rs => rs.map(r => r.dataset.kind)"
    )
    assert kinds == ["settle", "topup", "reserve", "topup"]
    reserve = page.locator('table.ledger tr[data-kind="reserve"]')
    assert "-0.10" in str(await reserve.text_content())
    assert task_id in str(await reserve.text_content())
    assert "invoice 7" in str(await page.text_content('table.ledger tr[data-kind="topup"]'))
    await page.screenshot(path=SHOTS / "account.png")
    await reserve.locator("a").click()  # a ledger line opens its task
    await page.wait_for_selector(f'.task-view[data-task-id="{task_id}"]')
    await context.close()

    # The relay's own unlimited key: the badge says so.
    unlimited = await _signed_in(browser, live.key)
    other = await unlimited.new_page()
    await other.goto(f"{live.base_url}/ui")
    assert await _badge(other, "unlimited") == "∞ unlimited"
    await unlimited.close()
    assert problems == []


async def test_operator_manages_keys_in_the_admin_tab(live: LiveRelay, browser: Any) -> None:
    context = await _signed_in(browser, live.key)
    page = await context.new_page()
    problems = _watch_console(page)
    await page.goto(f"{live.base_url}/ui#/admin")

    await page.fill("input[name=adminToken]", "not-the-token")
    await page.click("button:has-text('Open admin')")
    await page.wait_for_selector("text=That admin token was not accepted.")
    assert await page.evaluate("sessionStorage.getItem('mjrelay.adminToken')") is None
    assert await page.locator("table.keys").count() == 0
    await page.screenshot(path=SHOTS / "admin-refused.png")

    await page.fill("input[name=adminToken]", TOKEN)
    await page.click("button:has-text('Open admin')")
    await page.wait_for_selector("table.keys tr[data-key-id]")
    assert await page.evaluate("sessionStorage.getItem('mjrelay.adminToken')") == TOKEN
    assert TOKEN not in json.dumps(await page.evaluate("Object.values(localStorage)"))
    assert "test" in str(await page.text_content("table.keys"))
    # The relay's real /admin/channels: its one sandbox channel, healthy.
    await page.wait_for_selector("table.channels tr[data-channel=sandbox]")
    cells = await page.locator("table.channels tr[data-channel=sandbox] td").all_text_contents()
    assert cells[:4] == ["sandbox", "sandbox", "yes", "no"]
    assert cells[4] == "closed"

    # Create a key: shown once, and it works against the relay.
    await page.fill("input[name=keyName]", "shop")
    await page.fill("input[name=keyTenant]", "acme")
    await page.fill("input[name=keyBalance]", "2")
    await page.click("button:has-text('Create key')")
    new_key = str(await (await page.wait_for_selector(".shown-once code.new-key")).text_content())
    assert new_key.startswith("mjr_")
    async with live.client(new_key) as shop:
        account = (await shop.get("/mj/account")).json()["result"]
        assert account["balance"] == "2.0000"
        key_id = account["keyId"]
        row = page.locator(f'table.keys tr[data-key-id="{key_id}"]')
        await row.wait_for()
        assert await row.locator(".key-balance").text_content() == "2.00"
        assert "acme" in str(await row.text_content())
        await page.screenshot(path=SHOTS / "admin-key-created.png")

        # Usage: one task on the new key shows in the usage report after a refresh.
        task = (await shop.post("/mj/submit/imagine", json={"prompt": "a"})).json()
        await wait_for_status(shop, task["result"], {"SUCCESS"})
        for _ in range(100):  # the charge settles just after the task succeeds
            usage_now = await live.relay.admin.usage()
            if any(u["keyId"] == key_id and u["held"] == "0.0000" for u in usage_now):
                break
            await asyncio.sleep(0.02)

        # Top up.
        await row.locator("input[name=topupAmount]").fill("1.5")
        await row.locator("button.topup").click()
        await page.wait_for_function(
            "id => document.querySelector(`table.keys tr[data-key-id='${id}'] .key-balance`)"
            "?.textContent === '3.40'",
            arg=key_id,
        )
        assert (await shop.get("/mj/account")).json()["result"]["balance"] == "3.4000"
        usage = page.locator(f'table.usage tr[data-key-id="{key_id}"]')
        await usage.wait_for()
        assert (await usage.locator("td").all_text_contents())[1:3] == ["1", "0.10"]

        # A bad amount is refused with the relay's own words.
        await row.locator("input[name=topupAmount]").fill("-3")
        await row.locator("button.topup").click()
        await page.wait_for_selector(".toast.error:has-text('amount:')")

        # Revoke takes two clicks; then the key no longer signs in.
        await row.locator("button.revoke").click()
        assert await row.get_attribute("data-status") == "active"
        await row.locator("button.revoke:has-text('Confirm revoke')").click()
        await page.wait_for_selector(
            f'table.keys tr[data-key-id="{key_id}"][data-status="revoked"]'
        )
        assert (await shop.get("/mj/account")).status_code == 401

    actions = await page.eval_on_selector_all(
        "table.audit tbody tr", "rs => rs.map(r => r.dataset.action)"
    )
    assert actions[:3] == ["key.revoke", "balance.topup", "key.create"]
    assert new_key not in str(await page.text_content("table.audit"))
    await page.screenshot(path=SHOTS / "admin.png", full_page=True)

    # The same panel on a phone: nothing overflows sideways.
    phone = await browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    await phone.add_init_script(
        f"localStorage.setItem('mjrelay.apiKey', {live.key!r});"
        f"sessionStorage.setItem('mjrelay.adminToken', {TOKEN!r})"
    )
    mobile = await phone.new_page()
    await mobile.goto(f"{live.base_url}/ui#/admin")
    await mobile.wait_for_selector(f'table.keys tr[data-key-id="{key_id}"]')
    assert await mobile.evaluate("document.documentElement.scrollWidth") <= 390
    await mobile.screenshot(path=SHOTS / "phone-admin.png", full_page=True)
    await mobile.goto(f"{live.base_url}/ui#/account")
    await mobile.wait_for_selector(".fact-value")
    assert await mobile.evaluate("document.documentElement.scrollWidth") <= 390
    await mobile.screenshot(path=SHOTS / "phone-account.png")
    await phone.close()

    await page.click("button.admin-signout")
    await page.wait_for_selector("input[name=adminToken]")
    assert await page.evaluate("sessionStorage.getItem('mjrelay.adminToken')") is None
    # Signing out of the dashboard forgets the admin token as well.
    await page.fill("input[name=adminToken]", TOKEN)
    await page.click("button:has-text('Open admin')")
    await page.wait_for_selector("table.keys")
    await page.click("button.signout")
    await page.wait_for_selector("input[name=key]")
    assert await page.evaluate("sessionStorage.getItem('mjrelay.adminToken')") is None
    assert problems == []
    await context.close()


async def test_channels_list_renders_when_the_relay_has_one(live: LiveRelay, browser: Any) -> None:
    """Other shapes of ``/admin/channels`` (e.g. a remote relay's): the table still renders."""
    channels = [
        {
            "name": "main",
            "engine": "sandbox",
            "enabled": True,
            "paused": False,
            "health": "closed",
            "inFlight": 2,
            "lastError": None,
        },
        {
            "name": "backup",
            "engine": "remote",
            "enabled": True,
            "paused": True,
            "breaker": "open",
            "inFlight": 0,
            "lastError": "upstream 502",
        },
    ]

    async def answer(route: Any) -> None:
        assert route.request.headers["authorization"] == f"Bearer {TOKEN}"
        await route.fulfill(json={"code": 1, "description": "Success", "result": channels})

    context = await _signed_in(browser, live.key)
    await context.add_init_script(f"sessionStorage.setItem('mjrelay.adminToken', {TOKEN!r})")
    page = await context.new_page()
    await page.route("**/admin/channels", answer)
    await page.goto(f"{live.base_url}/ui#/admin")
    rows = page.locator("table.channels tbody tr")
    await rows.first.wait_for()
    cells = [await row.locator("td").all_text_contents() for row in await rows.all()]
    assert cells == [
        ["main", "sandbox", "yes", "no", "closed", "2", ""],
        ["backup", "remote", "yes", "yes", "open", "0", "upstream 502"],
    ]
    await context.close()
