"""Task state machine: statuses only move forward, progress only goes up."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mjrelay.domain.states import (
    InvalidTransition,
    can_transition,
    check_transition,
    is_progress_forward,
    progress_percent,
    rank,
)
from mjrelay.domain.task import TaskStatus as S

FINAL = [S.SUCCESS, S.FAILURE, S.CANCEL]


def test_ranks() -> None:
    assert [rank(s) for s in (S.NOT_START, S.MODAL, S.SUBMITTED, S.IN_PROGRESS)] == [0, 1, 2, 3]
    assert {rank(s) for s in FINAL} == {4}
    assert {rank(s) for s in S}  # every status has a rank (no KeyError)


ALLOWED = {
    (S.NOT_START, S.MODAL),
    (S.NOT_START, S.SUBMITTED),
    (S.NOT_START, S.IN_PROGRESS),
    (S.MODAL, S.SUBMITTED),
    (S.MODAL, S.IN_PROGRESS),
    (S.SUBMITTED, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.IN_PROGRESS),
    *((src, dst) for src in (S.NOT_START, S.MODAL, S.SUBMITTED, S.IN_PROGRESS) for dst in FINAL),
}


@pytest.mark.parametrize("src", list(S))
@pytest.mark.parametrize("dst", list(S))
def test_transition_table(src: S, dst: S) -> None:
    expected = (src, dst) in ALLOWED
    assert can_transition(src, dst) is expected
    if expected:
        check_transition(src, dst)
    else:
        with pytest.raises(InvalidTransition) as info:
            check_transition(src, dst)
        assert src.value in str(info.value)
        assert dst.value in str(info.value)


@given(st.lists(st.sampled_from(list(S)), max_size=30))
def test_applied_transitions_never_go_back(attempts: list[S]) -> None:
    current = S.NOT_START
    for dst in attempts:
        before = current
        if can_transition(current, dst):
            current = dst
        assert rank(current) >= rank(before)
        if before.is_final:
            assert current is before


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0%", 0),
        ("31%", 31),
        ("100%", 100),
        ("007%", 7),
        ("", None),
        ("31", None),
        ("101%", None),
        ("1000%", None),
        ("-1%", None),
        (" 31%", None),
        ("31%\n", None),
        ("Stopped", None),
        ("٣١%", None),
        ("3.5%", None),
    ],
)
def test_progress_percent(text: str, value: int | None) -> None:
    assert progress_percent(text) == value


@given(st.integers(0, 100))
def test_progress_percent_reads_every_valid_value(n: int) -> None:
    assert progress_percent(f"{n}%") == n


@given(st.text(max_size=8))
def test_progress_percent_is_total(text: str) -> None:
    value = progress_percent(text)
    assert value is None or 0 <= value <= 100


@pytest.mark.parametrize(
    ("old", "new", "ok"),
    [
        ("0%", "31%", True),
        ("31%", "31%", True),
        ("31%", "30%", False),
        ("100%", "0%", False),
        ("", "0%", True),
        ("junk", "5%", True),
        ("31%", "", False),
        ("31%", "junk", False),
        ("31%", "101%", False),
    ],
)
def test_is_progress_forward_table(old: str, new: str, ok: bool) -> None:
    assert is_progress_forward(old, new) is ok


@given(st.lists(st.integers(0, 100), min_size=1, max_size=30))
def test_progress_applied_via_check_never_goes_down(updates: list[int]) -> None:
    current = "0%"
    seen = [0]
    for n in updates:
        if is_progress_forward(current, f"{n}%"):
            current = f"{n}%"
        value = progress_percent(current)
        assert value is not None
        assert value >= seen[-1]
        seen.append(value)
    assert seen[-1] == max([0, *updates])
