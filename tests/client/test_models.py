"""The SDK's own wire models read what every kind of ``/mj`` relay sends."""

from __future__ import annotations

import json
from typing import Any

from tests.support.settings import SEED_EXAMPLE

from mjrelay.client import Task, TaskAction, TaskStatus
from mjrelay.client.models import Envelope

# A finished task as open-source midjourney-proxy serializes it (Jackson writes unset fields as
# null; there are no buttons, botType or customId; properties carry its internal keys).
MIDJOURNEY_PROXY_TASK: dict[str, Any] = {
    "id": "14001929738841620",
    "action": "IMAGINE",
    "status": "SUCCESS",
    "prompt": "猫猫",
    "promptEn": "Cat",
    "description": "/imagine 猫猫",
    "state": None,
    "submitTime": 1689231405854,
    "startTime": 1689231442755,
    "finishTime": 1689231544312,
    "progress": "100%",
    "imageUrl": "https://cdn.discordapp.com/attachments/1/2/grid.png",
    "failReason": None,
    "properties": {"finalPrompt": "Cat", "flags": 0, "messageHash": "abc"},
}


def test_the_contracts_seed_example_round_trips_unchanged() -> None:
    seed = json.loads(SEED_EXAMPLE.read_text())
    task = Task.model_validate(seed)
    assert task.status == TaskStatus.SUCCESS and task.action == TaskAction.IMAGINE
    assert [b.label or b.emoji for b in task.buttons][:5] == ["U1", "U2", "U3", "U4", "🔄"]
    dumped = task.model_dump(mode="json", exclude_unset=True)
    assert dumped == seed


def test_midjourney_proxy_nulls_read_as_empty_values() -> None:
    task = Task.model_validate(MIDJOURNEY_PROXY_TASK)
    assert task.state == "" and task.fail_reason == ""
    assert task.buttons == [] and task.bot_type == ""
    assert task.properties["messageHash"] == "abc"
    assert task.status.is_final


def test_a_task_not_started_yet_has_null_progress_and_times() -> None:
    task = Task.model_validate(
        {"id": "1", "action": "BLEND", "status": "NOT_START", "progress": None, "prompt": None,
         "submitTime": None, "buttons": None, "properties": None}
    )  # fmt: skip
    assert task.progress == "0%" and task.prompt == "" and task.submit_time is None
    assert task.buttons == [] and task.properties == {}
    assert not task.status.is_final


def test_actions_and_statuses_the_sdk_does_not_list_are_kept() -> None:
    task = Task.model_validate(
        {"id": "2", "action": "ANIMATE_LOOP", "status": "PAUSED", "progress": "40%"}
    )
    assert task.action.value == "ANIMATE_LOOP" and task.action == "ANIMATE_LOOP"
    assert isinstance(task.action, TaskAction)
    assert task.status == "PAUSED" and not task.status.is_final
    assert task.model_dump(mode="json")["status"] == "PAUSED"
    assert Task.model_validate({"id": "3", "action": "VIDEO"}).action is TaskAction.VIDEO
    lowercase = Task.model_validate({"id": "5", "action": "imagine", "status": "success"})
    assert lowercase.action is TaskAction.IMAGINE and lowercase.status is TaskStatus.SUCCESS


def test_numeric_ids_and_panel_objects_are_read_as_strings() -> None:
    task = Task.model_validate(
        {
            "id": 1730621826053455,
            "action": "IMAGINE",
            "imageUrls": [{"url": "https://cdn/a.png"}, "https://cdn/b.png"],
        }
    )
    assert task.id == "1730621826053455"
    assert task.image_urls == ["https://cdn/a.png", "https://cdn/b.png"]


def test_unknown_fields_survive_a_round_trip() -> None:
    video = {"url": "https://cdn/v.mp4", "thumbnail": "https://cdn/v.webp"}
    task = Task.model_validate(
        {"id": "4", "action": "VIDEO", "videoUrl": video["url"], "videoUrls": [video]}
    )
    assert task.model_extra == {"videoUrl": video["url"], "videoUrls": [video]}
    assert task.model_dump(mode="json")["videoUrls"] == [video]


def test_an_envelope_with_null_description_and_properties() -> None:
    envelope = Envelope.model_validate(
        {"code": 1, "description": None, "result": "1689231405853400", "properties": None}
    )
    assert envelope.description == "" and envelope.properties == {}
    assert envelope.result == "1689231405853400"
