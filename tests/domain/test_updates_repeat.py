"""A repeated report is a no-op: nothing to save, so several instances never save it twice."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mjrelay.domain.record import TaskRecord
from mjrelay.domain.task import Task, TaskAction, TaskStatus
from mjrelay.domain.updates import TaskUpdate, apply_update


def _record() -> TaskRecord:
    return TaskRecord(
        task=Task(id="1700000000000001", action=TaskAction.IMAGINE, submit_time=1),
        tenant_id=1,
        engine="up",
        job={},
    )


@given(
    status=st.sampled_from(list(TaskStatus)),
    progress=st.one_of(st.none(), st.integers(0, 100).map(lambda n: f"{n}%")),
    state=st.dictionaries(st.sampled_from(["upstream_id", "mirror"]), st.text(max_size=3)),
    properties=st.dictionaries(st.just("finalPrompt"), st.text(max_size=3)),
)
def test_applying_the_same_update_twice_changes_nothing_the_second_time(
    status: TaskStatus, progress: str | None, state: dict[str, str], properties: dict[str, str]
) -> None:
    record = _record()
    update = TaskUpdate(
        record.id,
        status,
        progress=progress,
        image_url="http://cdn/x.png",
        engine_state=state,
        properties=properties,
    )
    apply_update(record, update, 10)
    before = (record.task.model_dump(), dict(record.engine_state))
    assert apply_update(record, update, 20) is False
    assert (record.task.model_dump(), record.engine_state) == before


def test_new_extras_on_an_unchanged_status_still_apply() -> None:
    record = _record()
    apply_update(record, TaskUpdate(record.id, TaskStatus.IN_PROGRESS, progress="50%"), 1)
    assert apply_update(
        record, TaskUpdate(record.id, TaskStatus.IN_PROGRESS, progress="50%", image_url="u"), 2
    )
    assert record.task.image_url == "u"
    assert apply_update(
        record, TaskUpdate(record.id, TaskStatus.IN_PROGRESS, engine_state={"upstream_id": "9"}), 3
    )
    assert record.engine_state == {"upstream_id": "9"}


def _finished_with_mirror() -> TaskRecord:
    """A task whose first SUCCESS report came with the upstream's URL and whose mirror finished."""
    record = _record()
    first = TaskUpdate(
        record.id,
        TaskStatus.SUCCESS,
        image_url="http://cdn/x.png",
        engine_state={"mirror": "pending"},
        only_if_unfinished=True,
    )
    assert apply_update(record, first, 10)
    mirrored = TaskUpdate(
        record.id,
        TaskStatus.SUCCESS,
        image_url="http://relay/mj/image/a.png",
        engine_state={"mirror": "done"},
        requires_state={"mirror": "pending"},
    )
    assert apply_update(record, mirrored, 11)
    return record


def test_a_late_first_report_of_the_end_cannot_undo_what_came_after_it() -> None:
    # A second instance polling the same upstream job reports the same SUCCESS later: it must
    # not put the upstream's URL (and a pending mirror) back over the finished mirror.
    record = _finished_with_mirror()
    late = TaskUpdate(
        record.id,
        TaskStatus.SUCCESS,
        image_url="http://cdn/x.png",
        engine_state={"mirror": "pending"},
        only_if_unfinished=True,
    )
    assert not apply_update(record, late, 12)
    assert record.task.image_url == "http://relay/mj/image/a.png"
    assert record.engine_state == {"mirror": "done"}


def test_a_second_mirror_result_is_ignored_once_the_first_one_landed() -> None:
    record = _finished_with_mirror()
    other_copy = TaskUpdate(
        record.id,
        TaskStatus.SUCCESS,
        image_url="http://relay/mj/image/b.png",
        engine_state={"mirror": "done"},
        requires_state={"mirror": "pending"},
    )
    assert not apply_update(record, other_copy, 12)
    assert record.task.image_url == "http://relay/mj/image/a.png"


def test_a_first_report_still_applies_to_an_unfinished_task() -> None:
    record = _record()
    update = TaskUpdate(record.id, TaskStatus.SUCCESS, only_if_unfinished=True)
    assert apply_update(record, update, 10)
    assert record.task.status == TaskStatus.SUCCESS
