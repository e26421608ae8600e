"""``POST /mj/submit/action`` for every button Midjourney shows under a grid and an upscale."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.settings import fast_settings
from tests.support.wire import button, image_size, imagine_done, press

from mjrelay.core.settings import SandboxSettings, Settings

GRID = (1024, 1024)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Enough slots that pressing every button at once never queues (queueing has its own tests).
    return fast_settings(
        tmp_path / "data",
        sandbox=SandboxSettings(job_seconds=0.05, progress_steps=1, core_size=16, queue_size=16),
    )


def labels(task: dict[str, Any]) -> list[str]:
    return [b["label"] or b["emoji"] for b in task["buttons"]]


GRID_LABELS = ["U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"]
UPSCALE_LABELS = [
    "Upscale (Subtle)",
    "Upscale (Creative)",
    "Vary (Subtle)",
    "Vary (Strong)",
    "Vary (Region)",
    "Zoom Out 2x",
    "Zoom Out 1.5x",
    "Custom Zoom",
    "⬅️",
    "➡️",
    "⬆️",
    "⬇️",
    "Animate (High motion)",
    "Animate (Low motion)",
]


async def test_every_grid_button(client: httpx.AsyncClient) -> None:
    grid = await imagine_done(client, "a green meadow")
    assert labels(grid) == GRID_LABELS
    job_hash = grid["buttons"][0]["customId"].rsplit("::", 1)[1]
    assert grid["imageUrl"].endswith(f"_{job_hash}.png")

    expected = {
        **{f"U{i}": ("UPSCALE", (1024, 1024), UPSCALE_LABELS) for i in range(1, 5)},
        **{f"V{i}": ("VARIATION", GRID, GRID_LABELS) for i in range(1, 5)},
        "🔄": ("REROLL", GRID, GRID_LABELS),
    }
    presses = {
        label: press(
            client,
            grid,
            next(b["customId"] for b in grid["buttons"] if (b["label"] or b["emoji"]) == label),
        )
        for label in expected
    }
    results = dict(zip(presses, await asyncio.gather(*presses.values()), strict=True))
    seen_images = {grid["imageUrl"]}
    for label, (action, size, buttons) in expected.items():
        task = results[label]
        assert task["action"] == action, label
        assert task["description"] == f"/up {grid['id']} {label}"
        assert task["prompt"] == "a green meadow"
        assert labels(task) == buttons, label
        assert await image_size(client, task["imageUrl"]) == size, label
        assert task["imageUrl"] not in seen_images
        seen_images.add(task["imageUrl"])
        # Its buttons carry the new job's hash, not the parent's.
        assert job_hash not in task["buttons"][0]["customId"]
        if action == "UPSCALE":
            assert task["imageUrls"] == []
        else:
            assert len(task["imageUrls"]) == 4
    assert results["U1"]["customId"] == grid["buttons"][0]["customId"]


async def test_every_upscale_button(client: httpx.AsyncClient) -> None:
    grid = await imagine_done(client, "a lonely tree")
    upscaled = await press(client, grid, button(grid, label="U3"))
    assert labels(upscaled) == UPSCALE_LABELS
    cases = {
        "Upscale (Subtle)": ("UPSCALE", (2048, 2048)),
        "Upscale (Creative)": ("UPSCALE", (2048, 2048)),
        "Vary (Subtle)": ("LOW_VARIATION", (2048, 2048)),
        "Vary (Strong)": ("HIGH_VARIATION", (2048, 2048)),
        "Zoom Out 2x": ("ZOOM", (2048, 2048)),
        "Zoom Out 1.5x": ("ZOOM", (2048, 2048)),
        "⬅️": ("PAN", (3072, 2048)),
        "➡️": ("PAN", (3072, 2048)),
        "⬆️": ("PAN", (2048, 3072)),
        "⬇️": ("PAN", (2048, 3072)),
    }

    def custom_id(label: str) -> str:
        return next(
            b["customId"] for b in upscaled["buttons"] if (b["label"] or b["emoji"]) == label
        )

    results = await asyncio.gather(*(press(client, upscaled, custom_id(label)) for label in cases))
    for (label, (action, size)), task in zip(cases.items(), results, strict=True):
        assert task["action"] == action, label
        assert task["customId"] == custom_id(label)
        assert await image_size(client, task["imageUrl"]) == size, label
        expected_buttons = UPSCALE_LABELS if action == "UPSCALE" else GRID_LABELS
        assert labels(task) == expected_buttons, label
    # A grid made from an upscale can be upscaled again: the chain goes on.
    zoomed = results[list(cases).index("Zoom Out 2x")]
    again = await press(client, zoomed, button(zoomed, label="U1"))
    assert again["action"] == "UPSCALE"
