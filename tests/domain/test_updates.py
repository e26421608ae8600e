"""apply_update: whatever order reports arrive in, a task never moves backwards."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mjrelay.domain.record import TaskRecord
from mjrelay.domain.states import progress_percent, rank
from mjrelay.domain.task import Task, TaskAction, TaskStatus
from mjrelay.domain.updates import TaskUpdate, apply_update


def _record() -> TaskRecord:
    return TaskRecord(
        task=Task(id="1700000000000001", action=TaskAction.IMAGINE, submit_time=1),
        tenant_id=1,
        engine="sandbox",
        job={},
        deadline_ms=10_000,
    )


updates = st.builds(
    TaskUpdate,
    task_id=st.just("1700000000000001"),
    status=st.sampled_from(list(TaskStatus)),
    progress=st.one_of(st.none(), st.integers(0, 100).map(lambda n: f"{n}%")),
    image_url=st.one_of(st.none(), st.just("http://x/preview.png")),
    fail_reason=st.one_of(st.none(), st.just("boom")),
)


@given(st.lists(updates, max_size=30))
def test_status_rank_and_progress_never_go_back(sequence: list[TaskUpdate]) -> None:
    record = _record()
    now = 100
    for update in sequence:
        before_status = record.task.status
        before_progress = progress_percent(record.task.progress)
        was_final = before_status.is_final
        applied = apply_update(record, update, now)
        now += 1
        after = record.task.status
        assert rank(after) >= rank(before_status)
        if was_final:
            assert after == before_status
        if after == before_status == TaskStatus.IN_PROGRESS and before_progress is not None:
            current = progress_percent(record.task.progress)
            assert current is not None and current >= before_progress
        if applied and after.is_final:
            assert record.task.finish_time is not None
            assert record.deadline_ms is None
        if after == TaskStatus.SUCCESS:
            assert record.task.progress == "100%"
        if after == TaskStatus.FAILURE:
            assert record.task.progress == ""


def test_duplicate_success_is_a_no_op() -> None:
    record = _record()
    success = TaskUpdate("1700000000000001", TaskStatus.SUCCESS, image_url="http://x/a.png")
    assert apply_update(record, success, 5)
    finished = record.task.finish_time
    assert not apply_update(record, success, 9)
    assert record.task.finish_time == finished
    late_failure = TaskUpdate("1700000000000001", TaskStatus.FAILURE, fail_reason="late")
    assert not apply_update(record, late_failure, 10)
    assert record.task.status == TaskStatus.SUCCESS and record.task.fail_reason == ""


def test_start_time_and_reason_are_stamped() -> None:
    record = _record()
    assert apply_update(record, TaskUpdate("1700000000000001", TaskStatus.SUBMITTED), 7)
    assert record.task.start_time == 7 and record.task.progress == "0%"
    update = TaskUpdate("1700000000000001", TaskStatus.IN_PROGRESS, progress="40%")
    assert apply_update(record, update, 8)
    stale = TaskUpdate("1700000000000001", TaskStatus.IN_PROGRESS, progress="20%")
    assert not apply_update(record, stale, 9)
    assert record.task.progress == "40%"
    assert apply_update(
        record, TaskUpdate("1700000000000001", TaskStatus.FAILURE, fail_reason="x"), 9
    )
    assert record.task.fail_reason == "x" and record.task.start_time == 7
