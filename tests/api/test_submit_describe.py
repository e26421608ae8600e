"""``POST /mj/submit/describe``: from base64 and from a link, then a PicReader button."""

from __future__ import annotations

from pathlib import Path

import httpx
from tests.support.image_server import serving_image
from tests.support.live import LiveRelay, running_relay
from tests.support.wire import (
    finished,
    image_size,
    png_bytes,
    png_data_url,
    submit,
    submit_ok,
)

from mjrelay.core.netguard import GuardedTransport, URLPolicy
from mjrelay.core.settings import Settings


async def test_describe_then_imagine_one_of_its_prompts(client: httpx.AsyncClient) -> None:
    task_id = await submit_ok(
        client, "/mj/submit/describe", {"base64": png_data_url(120, 80, (30, 90, 200))}
    )
    described = await finished(client, task_id)
    assert described["action"] == "DESCRIBE"
    prompts = described["prompt"].split("\n\n")
    assert len(prompts) == 4 and all(p.strip() for p in prompts)
    assert described["properties"]["finalPrompt"] == described["prompt"]
    assert described["promptEn"] == described["prompt"]
    assert [b["label"] for b in described["buttons"]] == ["1", "2", "3", "4"]
    assert [b["customId"] for b in described["buttons"]] == [
        f"MJ::Job::PicReader::{i}" for i in range(1, 5)
    ]
    # The described picture is the task's image.
    assert await image_size(client, described["imageUrl"]) == (120, 80)

    envelope = await submit(
        client,
        "/mj/submit/action",
        {"taskId": described["id"], "customId": "MJ::Job::PicReader::2"},
    )
    assert envelope["code"] == 21
    pending = (await client.get(f"/mj/task/{envelope['result']}/fetch")).json()
    assert pending["status"] == "MODAL"
    assert pending["action"] == "IMAGINE"
    second = prompts[1].split(" ", 1)[1]  # without its "2️⃣" keycap
    assert pending["prompt"] == second

    assert (await submit(client, "/mj/submit/modal", {"taskId": pending["id"]}))["code"] == 1
    imagined = await finished(client, pending["id"])
    assert imagined["action"] == "IMAGINE"
    assert imagined["prompt"] == second
    # Describe read the 3:2 picture's shape into the prompt, so the grid is 3:2 too.
    assert second.endswith("--ar 3:2")
    assert await image_size(client, imagined["imageUrl"]) == (1024, 684)


async def test_describe_requires_an_image(client: httpx.AsyncClient) -> None:
    empty = await submit(client, "/mj/submit/describe", {})
    assert empty["code"] == 4 and empty["description"].startswith("base64")
    text = await submit(client, "/mj/submit/describe", {"base64": "data:image/png;base64,aGVsbG8="})
    assert text["code"] == 4 and text["description"].startswith("base64")
    link = await submit(client, "/mj/submit/describe", {"link": 42})
    assert link["code"] == 4 and link["description"].startswith("link")


async def test_describe_link_to_a_private_address_is_refused(live: LiveRelay) -> None:
    with serving_image(png_bytes(50, 50)) as url:
        async with live.client() as client:
            answer = await submit(client, "/mj/submit/describe", {"link": url})
    assert answer["code"] == 4
    assert answer["description"].startswith("link:")
    assert answer["result"] is None


async def test_describe_link_served_when_the_operator_allows_the_host(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        create_initial_key=False,
        auth_cache_seconds=0,
        sandbox={"job_seconds": 0.05, "progress_steps": 1},  # type: ignore[arg-type]
    )
    transport = GuardedTransport(URLPolicy(allow_hosts=frozenset({"127.0.0.1"})))
    picture = png_bytes(70, 40, (240, 200, 10))
    with serving_image(picture) as url:
        async with (
            running_relay(settings, fetch_transport=transport) as live,
            live.client() as client,
        ):
            described = await finished(
                client, await submit_ok(client, "/mj/submit/describe", {"link": url})
            )
            assert len(described["prompt"].split("\n\n")) == 4
            async with httpx.AsyncClient() as anonymous:
                hosted = await anonymous.get(described["imageUrl"])
            assert hosted.content == picture  # the relay stored what the link served
            # A link that does not answer 200 is a code-4 naming the field, not a crash.
            missing = await submit(
                client, "/mj/submit/describe", {"link": url.replace("picture", "nothing")}
            )
            assert missing["code"] == 4
            assert missing["description"].startswith("link:") and "404" in missing["description"]
            # Allowlisting 127.0.0.1 does not open other private addresses.
            other = await submit(client, "/mj/submit/describe", {"link": "http://10.1.2.3/x.png"})
            assert other["code"] == 4 and other["description"].startswith("link:")
