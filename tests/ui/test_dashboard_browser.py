"""The dashboard in a real headless Chromium (Debian's package), driven by Playwright.

A newcomer's path: sign in, drop a reference image, imagine, watch progress reach 100%, press
U1, see the upscaled image; then a modal action, the gallery and a phone-sized screen.
Screenshots go to test-output/ui/.
"""

from __future__ import annotations

import asyncio
import base64
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from tests.support.browser import CHROMIUM, OUTPUT
from tests.support.live import LiveRelay
from tests.support.paced import paced_relay

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; .ci/run does)",
)


def _png(color: tuple[int, int, int]) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveRelay]:
    async with paced_relay(tmp_path / "data", job_seconds=2.0, steps=4) as relay:
        yield relay


async def _follow_progress(page: Any, task_id: str, within: float = 20) -> list[int]:
    """Values the task's progress bar in the list shows, until it reads 100%."""
    bar = page.locator(f'.task-row[data-task-id="{task_id}"] [role=progressbar]')
    seen: list[int] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await bar.count():
            value = int(await bar.get_attribute("aria-valuenow") or 0)
            if not seen or seen[-1] != value:
                seen.append(value)
                if 0 < value < 100 and not (OUTPUT / "progress.png").exists():
                    await page.screenshot(path=OUTPUT / "progress.png")
            if value == 100:
                return seen
        await asyncio.sleep(0.03)
    raise AssertionError(f"progress stuck: {seen}")


async def _current_task_id(page: Any, other_than: str | None = None) -> str:
    view = page.locator(".task-view")
    for _ in range(200):
        task_id = await view.get_attribute("data-task-id") if await view.count() else None
        if task_id and task_id != other_than:
            return str(task_id)
        await asyncio.sleep(0.05)
    raise AssertionError("the dashboard did not open the new task")


async def _image_loaded(page: Any, task_id: str) -> int:
    """Wait for the task's image to be decoded; returns its natural width."""
    selector = f'.task-view[data-task-id="{task_id}"][data-status="SUCCESS"] img.task-image'
    await page.wait_for_selector(selector, timeout=20_000)
    await page.wait_for_function(
        "s => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth }",
        arg=selector,
        timeout=10_000,
    )
    return int(await page.eval_on_selector(selector, "i => i.naturalWidth"))


async def test_newcomer_makes_and_upscales_an_image(live: LiveRelay, browser: Any) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for old in OUTPUT.glob("*.png"):
        old.unlink()
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    await page.goto(f"{live.base_url}/ui")
    await page.fill("input[name=key]", "mjr_wrong-key")
    await page.click("button:has-text('Sign in')")
    await page.wait_for_selector("text=That key was not accepted.")
    problems.clear()  # the refused sign-in logs its 401 in the console, as browsers do
    await page.screenshot(path=OUTPUT / "signin.png")
    await page.fill("input[name=key]", live.key)
    await page.click("button:has-text('Sign in')")
    await page.wait_for_selector("form.composer")
    assert await page.evaluate("localStorage.getItem('mjrelay.apiKey')") == live.key
    await page.wait_for_selector(".live.on")

    # A reference image dropped on the drop zone, as a user drags a file from the desktop.
    transfer = await page.evaluate_handle(
        """b64 => { const dt = new DataTransfer();
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            dt.items.add(new File([bytes], 'ref.png', {type: 'image/png'})); return dt; }""",
        _png((200, 80, 40)),
    )
    await page.dispatch_event(".dropzone", "drop", {"dataTransfer": transfer})
    await page.wait_for_selector(".ref img")
    await page.fill("textarea[name=prompt]", "a lighthouse at dusk --ar 1:1")
    await page.click("button.imagine")

    grid_id = await _current_task_id(page)
    progress = await _follow_progress(page, grid_id)
    assert progress[-1] == 100
    assert any(0 < value < 100 for value in progress), progress  # it moved, live
    assert progress == sorted(progress)
    assert await _image_loaded(page, grid_id) == 1024
    await page.screenshot(path=OUTPUT / "grid.png")
    async with live.client() as api:
        grid = (await api.get(f"/mj/task/{grid_id}/fetch")).json()
    assert grid["action"] == "IMAGINE" and "/mj/image/" in grid["prompt"]  # reference went along
    raw = await page.locator("details.raw pre").text_content()
    assert f'"id": "{grid_id}"' in (raw or "")

    await page.click('.buttons button:has-text("U1")')
    upscale_id = await _current_task_id(page, other_than=grid_id)
    assert await _image_loaded(page, upscale_id) == 1024
    await page.screenshot(path=OUTPUT / "upscaled.png")
    async with live.client() as api:
        upscaled = (await api.get(f"/mj/task/{upscale_id}/fetch")).json()
    assert upscaled["action"] == "UPSCALE" and upscaled["description"].endswith("U1")

    # A modal button: Custom Zoom asks for the prompt, then follows the new task.
    await page.click('.buttons button:has-text("Custom Zoom")')
    dialog = page.locator("dialog.modal textarea")
    await dialog.wait_for()
    assert "--zoom 1.5" in await dialog.input_value()
    await page.click("dialog.modal button[type=submit]")
    zoom_id = await _current_task_id(page, other_than=upscale_id)
    await _image_loaded(page, zoom_id)
    async with live.client() as api:
        zoomed = (await api.get(f"/mj/task/{zoom_id}/fetch")).json()
    assert zoomed["action"] == "CUSTOM_ZOOM" and "--zoom 1.5" in zoomed["prompt"]

    # Vary (Region): drag a rectangle over the image; the mask is built in the browser.
    await page.goto(f"{live.base_url}/ui#/task/{upscale_id}")
    await _image_loaded(page, upscale_id)
    await page.click('.buttons button:has-text("Vary (Region)")')
    stage = page.locator("dialog.modal .region-image")
    await stage.wait_for()
    await page.wait_for_function(
        "() => document.querySelector('dialog.modal .region-image').naturalWidth"
    )
    box = await stage.bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.6, steps=5)
    await page.mouse.up()
    await page.fill("dialog.modal textarea", "a lighthouse with a red roof")
    await page.screenshot(path=OUTPUT / "vary-region.png")
    await page.click("dialog.modal button[type=submit]")
    region_id = await _current_task_id(page, other_than=upscale_id)
    await _image_loaded(page, region_id)
    async with live.client() as api:
        region = (await api.get(f"/mj/task/{region_id}/fetch")).json()
        mask_bytes = (await api.get(region["properties"]["maskUrl"])).content
    assert region["action"] == "INPAINT" and region["prompt"] == "a lighthouse with a red roof"
    with Image.open(io.BytesIO(mask_bytes)) as mask:
        assert mask.size == (1024, 1024)  # the image's own size
        gray = mask.convert("L")
        white = gray.point(lambda v: 255 if v > 128 else 0).histogram()[255] / (1024 * 1024)
        assert gray.getpixel((512, 400)) == 255 and gray.getpixel((100, 100)) == 0
    assert 0.15 < white < 0.20  # the dragged half-width by 35%-height rectangle

    await page.click("a.tab:has-text('Gallery')")
    await page.wait_for_selector(".gallery .tile img")
    tiles = await page.locator(".gallery .tile").count()
    assert tiles == 4
    await page.wait_for_function(
        "() => [...document.querySelectorAll('.gallery img')].every(i => i.naturalWidth)"
    )
    await page.screenshot(path=OUTPUT / "gallery.png")

    # A phone: the key is remembered, nothing overflows sideways, the task view fits.
    phone = await browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    await phone.add_init_script(f"localStorage.setItem('mjrelay.apiKey', {live.key!r})")
    mobile = await phone.new_page()
    await mobile.goto(f"{live.base_url}/ui#/task/{upscale_id}")
    await mobile.wait_for_selector(f'.task-view[data-task-id="{upscale_id}"] img.task-image')
    assert await mobile.evaluate("document.documentElement.scrollWidth") <= 390
    await mobile.screenshot(path=OUTPUT / "phone-task.png")
    await mobile.click("button.back")
    await mobile.wait_for_selector("form.composer")
    assert await mobile.evaluate("document.documentElement.scrollWidth") <= 390
    await mobile.screenshot(path=OUTPUT / "phone-home.png", full_page=True)
    await phone.close()

    await page.click("button.signout")
    await page.wait_for_selector("input[name=key]")
    assert await page.evaluate("localStorage.getItem('mjrelay.apiKey')") is None
    assert problems == []
    await context.close()
