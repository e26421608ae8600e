"""Regenerate docs/gallery.png: a sandbox relay, a few images, the dashboard's gallery.

    ./dev.sh python scripts/gallery_screenshot.py

Needs Debian's chromium at /usr/bin/chromium (apt-get install chromium fonts-noto-color-emoji).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from playwright.async_api import async_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import fast_settings  # noqa: E402
from tests.support.browser import ARGS, CHROMIUM  # noqa: E402
from tests.support.live import running_relay  # noqa: E402

from mjrelay.client import AsyncClient  # noqa: E402
from mjrelay.core.settings import SandboxSettings  # noqa: E402

PROMPTS = [
    "a lighthouse at dusk, volumetric light",
    "koi pond seen from above, ink wash",
    "retro-futurist city at night, neon rain",
    "alpine lake at sunrise, mist",
    "a fox in a snowy birch forest",
    "desert dunes under a violet sky",
]


async def main(target: Path) -> None:
    settings = fast_settings(
        Path(tempfile.mkdtemp()), sandbox=SandboxSettings(job_seconds=0.3, progress_steps=2)
    )
    async with running_relay(settings) as live:
        # A key with a balance, so the header shows the balance badge as a paying user sees it.
        key, _info = await live.relay.ops.admin.create_key(
            "gallery", actor="docs", balance=Decimal("25")
        )
        await shoot(live.base_url, key, target)
    print(f"wrote {target}")


async def shoot(base_url: str, key: str, target: Path) -> None:
    async with AsyncClient(base_url, key) as mj:
        grids = [await (await mj.imagine(prompt)).wait() for prompt in PROMPTS]
        for grid, button in zip(grids[:3], ("U1", "U2", "U4"), strict=True):
            await (await mj.action(grid, button)).wait()
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            await context.add_init_script(f"localStorage.setItem('mjrelay.apiKey', {key!r})")
            page = await context.new_page()
            await page.goto(f"{base_url}/ui#/gallery")
            await page.wait_for_selector(".balance:not([hidden])")
            await page.wait_for_selector(".gallery .tile img")
            await page.wait_for_function(
                "() => [...document.querySelectorAll('.gallery img')].every(i => i.naturalWidth)"
            )
            await page.screenshot(path=target)
            await browser.close()


if __name__ == "__main__":
    asyncio.run(main(ROOT / "docs" / "gallery.png"))
