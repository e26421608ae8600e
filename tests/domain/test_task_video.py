"""Video fields and the new actions in the task JSON."""

from __future__ import annotations

import json

from mjrelay.domain.record import TaskRecord
from mjrelay.domain.task import Task, TaskAction, TaskStatus, VideoUrl
from mjrelay.domain.updates import TaskUpdate, apply_update


def test_image_task_leaves_the_video_fields_out() -> None:
    wire = json.loads(Task(id="t1", action=TaskAction.IMAGINE).to_json())
    assert not {"videoUrl", "videoUrls", "videoDuration", "frameCount"} & set(wire)
    assert Task.model_validate(wire).video_url is None


def test_video_task_serializes_wire_names() -> None:
    task = Task(
        id="t2",
        action=TaskAction.VIDEO,
        image_url="https://relay/first-frame.png",
        video_url="https://relay/0_0.mp4",
        video_urls=[VideoUrl(url="https://relay/0_0.mp4", thumbnail="https://relay/0_0.webp")],
        video_duration=5.0,
        frame_count=120,
    )
    wire = json.loads(task.to_json())
    assert wire["action"] == "VIDEO"
    assert wire["imageUrl"] == "https://relay/first-frame.png"
    assert wire["videoUrl"] == "https://relay/0_0.mp4"
    assert wire["videoUrls"] == [
        {"url": "https://relay/0_0.mp4", "thumbnail": "https://relay/0_0.webp"}
    ]
    assert (wire["videoDuration"], wire["frameCount"]) == (5.0, 120)
    assert Task.model_validate(wire) == task


def test_edits_is_accepted_as_edit_and_edit_is_emitted() -> None:
    assert TaskAction("EDITS") is TaskAction.EDIT
    task = Task.model_validate({"id": "t3", "action": "EDITS"})
    assert json.loads(task.to_json())["action"] == "EDIT"
    names = {a.value for a in TaskAction}
    assert {"VIDEO", "VIDEO_EXTEND", "EDIT", "RETEXTURE", "SWAP_FACE"} <= names


def test_update_sets_video_fields_once() -> None:
    record = TaskRecord(
        Task(id="t4", action=TaskAction.VIDEO), tenant_id=1, engine="sandbox", job={}
    )
    urls = [VideoUrl(url="u0", thumbnail="th0"), VideoUrl(url="u1", thumbnail="th1")]
    update = TaskUpdate(
        "t4",
        TaskStatus.SUCCESS,
        video_url="u0",
        video_urls=urls,
        video_duration=5.0,
        frame_count=120,
    )
    assert apply_update(record, update, now_ms=1)
    assert record.task.video_urls == urls
    assert (record.task.video_url, record.task.video_duration, record.task.frame_count) == (
        "u0",
        5.0,
        120,
    )
    assert not apply_update(record, update, now_ms=2)  # a repeat changes nothing
