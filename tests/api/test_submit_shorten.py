"""``POST /mj/submit/shorten``, then imagining one of the shortened prompts."""

from __future__ import annotations

import httpx
from tests.support.wire import finished, image_size, submit, submit_ok

PROMPT = (
    "a very beautiful and extremely detailed painting of an old red lighthouse at dusk --ar 3:2"
)


async def test_shorten_then_imagine_a_shortened_prompt(client: httpx.AsyncClient) -> None:
    shortened = await finished(
        client, await submit_ok(client, "/mj/submit/shorten", {"prompt": PROMPT})
    )
    assert shortened["action"] == "SHORTEN"
    assert shortened["prompt"] == PROMPT
    assert shortened["description"] == f"/shorten {PROMPT}"
    final = shortened["properties"]["finalPrompt"]
    assert "## Shortened prompts" in final
    lines = [line for line in final.split("## Shortened prompts\n", 1)[1].split("\n\n") if line]
    assert len(lines) == 5
    assert [b["customId"] for b in shortened["buttons"]] == [
        f"MJ::Job::PromptAnalyzer::{i}" for i in range(1, 6)
    ]
    assert all("lighthouse" in line and line.endswith(" --ar 3:2") for line in lines)
    assert all(len(line) < len(PROMPT) + 8 for line in lines)

    envelope = await submit(
        client,
        "/mj/submit/action",
        {"taskId": shortened["id"], "customId": "MJ::Job::PromptAnalyzer::3"},
    )
    assert envelope["code"] == 21
    pending = (await client.get(f"/mj/task/{envelope['result']}/fetch")).json()
    assert pending["status"] == "MODAL"
    third = lines[2].split(" ", 1)[1]  # without its keycap
    assert pending["prompt"] == third
    assert (await submit(client, "/mj/submit/modal", {"taskId": pending["id"]}))["code"] == 1
    imagined = await finished(client, pending["id"])
    assert imagined["action"] == "IMAGINE"
    assert imagined["prompt"] == third
    # Shortened prompts keep the parameters: the grid is 3:2.
    assert third.endswith("--ar 3:2")
    assert await image_size(client, imagined["imageUrl"]) == (1024, 684)


async def test_shorten_needs_a_prompt(client: httpx.AsyncClient) -> None:
    for body, reason in (
        ({}, "required"),
        ({"prompt": " "}, "required"),
        ({"prompt": 7}, "string"),
    ):
        answer = await submit(client, "/mj/submit/shorten", body)
        assert answer["code"] == 4
        assert answer["description"].startswith("prompt:") and reason in answer["description"]
