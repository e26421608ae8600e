"""``POST /mj/submit/blend``: 2 to 5 images in each of the three shapes."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from tests.support.wire import finished, image_size, png_data_url, submit, submit_ok

SIZES = {"PORTRAIT": (684, 1024), "SQUARE": (1024, 1024), "LANDSCAPE": (1024, 684)}
COLORS = [(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0), (0, 250, 250)]


@pytest.mark.parametrize("dimensions", sorted(SIZES))
async def test_blend_two_to_five_images(client: httpx.AsyncClient, dimensions: str) -> None:
    async def blend(count: int) -> dict[str, object]:
        images = [png_data_url(40 + 10 * i, 60, COLORS[i]) for i in range(count)]
        body = {"base64Array": images, "dimensions": dimensions}
        return await finished(client, await submit_ok(client, "/mj/submit/blend", body))

    # Two at a time: the default sandbox runs three jobs at once and queues the rest (code 22).
    for counts in ((2, 3), (4, 5)):
        for count, task in zip(counts, await asyncio.gather(*map(blend, counts)), strict=True):
            assert task["action"] == "BLEND"
            assert task["description"] == f"/blend {count} images {dimensions}"
            assert isinstance(task["imageUrl"], str)
            assert await image_size(client, task["imageUrl"]) == SIZES[dimensions]
            assert len(task["imageUrls"]) == 4  # type: ignore[arg-type]
            assert [b["label"] or b["emoji"] for b in task["buttons"]][:5] == [  # type: ignore[union-attr,index]
                "U1", "U2", "U3", "U4", "🔄",
            ]  # fmt: skip


async def test_blend_defaults_to_square(client: httpx.AsyncClient) -> None:
    body = {"base64Array": [png_data_url(), png_data_url(10, 10)]}
    task = await finished(client, await submit_ok(client, "/mj/submit/blend", body))
    assert await image_size(client, task["imageUrl"]) == SIZES["SQUARE"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"base64Array": [png_data_url()]}, "base64Array"),
        ({"base64Array": [png_data_url()] * 6}, "base64Array"),
        ({}, "base64Array"),
        ({"base64Array": "abc"}, "base64Array"),
        ({"base64Array": [png_data_url(), "zzz"]}, "base64Array[1]"),
        ({"base64Array": [png_data_url(), png_data_url()], "dimensions": "WIDE"}, "dimensions"),
        ({"base64Array": [png_data_url(), png_data_url()], "dimensions": 3}, "dimensions"),
    ],
)
async def test_blend_bad_input(client: httpx.AsyncClient, body: object, field: str) -> None:
    answer = await submit(client, "/mj/submit/blend", body)
    assert answer["code"] == 4
    assert answer["description"].startswith(f"{field}:"), answer
