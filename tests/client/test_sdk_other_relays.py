"""The SDK against a relay of another make: no stream endpoint, mj-api-secret, flaky 503s."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.support.fake_relay import fake_relay

from mjrelay.client import Client, RelayAPIError, RetryPolicy, TaskStatus

FAST_RETRY = RetryPolicy(retries=3, backoff=0.01, max_backoff=0.05)


def test_wait_polls_when_the_relay_has_no_stream(tmp_path: Path) -> None:
    with fake_relay(unavailable=2) as relay:
        with Client(relay.base_url, relay.key, auth="mj-api-secret", retry=FAST_RETRY) as mj:
            progress: list[str] = []
            task = mj.imagine("a fox").wait(
                poll_interval=0.01, on_progress=lambda t: progress.append(t.progress)
            )
            files = mj.download(task, tmp_path)
            assert mj.supports_stream is False
        paths = [path for _method, path, _headers in relay.requests]
    assert task.status == TaskStatus.SUCCESS
    assert progress == ["0%", "25%", "60%", "100%"]
    assert paths[:3] == ["/mj/submit/imagine"] * 3  # two 503s retried, then accepted
    assert "/mj/task/1700000000000001/stream" in paths
    assert files == [tmp_path / "1700000000000001.png"]
    assert files[0].read_bytes().startswith(b"\x89PNG")


def test_the_key_is_not_sent_to_image_hosts_of_another_origin(tmp_path: Path) -> None:
    with fake_relay() as image_host, fake_relay() as relay:
        relay.fetches = 3  # finished
        with Client(relay.base_url, relay.key, auth="mj-api-secret") as mj:
            task = mj.fetch("1700000000000001").model_copy(
                update={"image_url": f"{image_host.base_url}/attachments/grid.png"}
            )
            mj.download(task, tmp_path)
    [(_method, _path, headers)] = image_host.requests
    assert "mj-api-secret" not in {name.lower() for name in headers}


def test_retries_give_up_after_the_policy(tmp_path: Path) -> None:
    with (
        fake_relay(unavailable=10) as relay,
        Client(relay.base_url, relay.key, auth="mj-api-secret", retry=FAST_RETRY) as mj,
        pytest.raises(RelayAPIError, match="HTTP 503"),
    ):
        mj.fetch("1700000000000001")
    assert len(relay.requests) == 4  # the first try and three retries


def test_connection_refused_is_retried_then_raised() -> None:
    with fake_relay() as relay:
        dead = relay.base_url
    with Client(dead, "k", retry=FAST_RETRY) as mj, pytest.raises(httpx.ConnectError):
        mj.fetch("1")


def test_a_midjourney_proxy_task_with_nulls_and_unknown_fields() -> None:
    fields = {"failReason": None, "state": None, "action": "VIDEO_EXTEND", "videoUrl": "v.mp4"}
    with fake_relay(task_fields=fields) as relay:
        relay.fetches = 3  # finished
        with Client(relay.base_url, relay.key, auth="mj-api-secret") as mj:
            task = mj.fetch("1700000000000001")
    assert task.status == TaskStatus.SUCCESS and task.action == "VIDEO_EXTEND"
    assert task.fail_reason == "" and task.state == ""
    assert task.model_extra == {"videoUrl": "v.mp4"}


def test_an_unknown_task_on_midjourney_proxy_is_a_clear_error() -> None:
    # midjourney-proxy answers HTTP 200 with an empty body for a task id it does not know.
    with (
        fake_relay() as relay,
        Client(relay.base_url, relay.key, auth="mj-api-secret") as mj,
        pytest.raises(RelayAPIError, match="task not found") as missing,
    ):
        mj.fetch("1699999999999999")
    assert missing.value.code == 3 and missing.value.status == 200
