"""Restart persistence with a real ``mjrelay serve`` process killed with SIGKILL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server_process import ServerProcess, cli, free_port, relay_env


def create_key(env: dict[str, str]) -> str:
    created = cli(env, "keys", "create", "--name", "restart")
    assert created.returncode == 0, created.stderr
    lines = created.stdout.strip().splitlines()
    key = lines[-1]
    assert key == key.strip() and " " not in key and len(key) >= 32
    listed = cli(env, "keys", "list")
    assert listed.returncode == 0
    assert "restart" in listed.stdout and key not in listed.stdout
    return key


def wait_for(client: httpx.Client, task_id: str, statuses: set[str], within: float = 30) -> bytes:
    deadline = time.monotonic() + within
    while True:
        response = client.get(f"/mj/task/{task_id}/fetch")
        assert response.status_code == 200, response.text
        if response.json()["status"] in statuses:
            return response.content
        assert time.monotonic() < deadline, response.text
        time.sleep(0.05)


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    job_seconds = getattr(request, "param", "0.2")
    env = relay_env(
        tmp_path / "data",
        MJRELAY_SANDBOX__JOB_SECONDS=job_seconds,
        MJRELAY_SANDBOX__PROGRESS_STEPS="2",
    )
    process = ServerProcess(env, free_port(), tmp_path / "serve.log")
    try:
        yield process
    finally:
        process.stop()


def test_a_finished_task_survives_sigkill_byte_for_byte(server: ServerProcess) -> None:
    key = create_key(server.env)
    server.start()
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        task_id = client.post("/mj/submit/imagine", json={"prompt": "a durable fox"}).json()[
            "result"
        ]
        before = wait_for(client, task_id, {"SUCCESS", "FAILURE"})
        image = client.get(httpx.Response(200, content=before).json()["imageUrl"]).content
    server.kill()
    server.start()
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        after = client.get(f"/mj/task/{task_id}/fetch")
        assert after.status_code == 200
        assert after.content == before
        assert after.json()["status"] == "SUCCESS"
        assert client.get(after.json()["imageUrl"]).content == image
        listed = client.get("/mj/task/list").json()
        assert [t["id"] for t in listed] == [task_id]


@pytest.mark.parametrize("server", ["3"], indirect=True)
def test_a_job_killed_midway_is_resumed_after_restart(server: ServerProcess) -> None:
    key = create_key(server.env)
    server.start()
    headers = {"mj-api-secret": key}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        task_id = client.post("/mj/submit/imagine", json={"prompt": "an unlucky fox"}).json()[
            "result"
        ]
        wait_for(client, task_id, {"IN_PROGRESS"})
        queued = client.post("/mj/submit/shorten", json={"prompt": "a very big red fox"}).json()
        assert queued["code"] == 1
    server.kill()
    server.start()
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        for resumed_id in (task_id, queued["result"]):
            task = httpx.Response(
                200, content=wait_for(client, resumed_id, {"SUCCESS", "FAILURE"})
            ).json()
            assert task["status"] == "SUCCESS", task
            assert task["progress"] == "100%" and task["failReason"] == ""
        # The resumed grid is a real picture, served by the restarted process.
        grid = client.get(f"/mj/task/{task_id}/fetch").json()
        assert client.get(grid["imageUrl"]).status_code == 200
        assert len(grid["buttons"]) == 9
