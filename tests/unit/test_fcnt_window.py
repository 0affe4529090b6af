"""The anti-replay window of uplink frame counters (RFC 4303 §3.4.3's sliding window applied to FCntUp):
every counter is accepted at most once, in any order, within 64 of the newest."""

from __future__ import annotations

import random

import pytest

from functions.lorawan.errors import FrameCounterReplay
from functions.lorawan.fcnt import ALL_SEEN, REPLAY_WINDOW, accept_f_cnt


def test_new_counters_move_the_window_and_gaps_stay_acceptable_once() -> None:
    next_expected, seen, late = accept_f_cnt(10, 10, ALL_SEEN)
    assert (next_expected, late) == (11, False)
    next_expected, seen, late = accept_f_cnt(13, next_expected, seen)  # 11 and 12 not heard yet
    assert (next_expected, late) == (14, False)
    next_expected, seen, late = accept_f_cnt(12, next_expected, seen)
    assert (next_expected, late) == (14, True)
    for replayed in (12, 13, 10, 9):
        with pytest.raises(FrameCounterReplay):
            accept_f_cnt(replayed, next_expected, seen)
    next_expected, seen, late = accept_f_cnt(11, next_expected, seen)
    assert late and next_expected == 14


def test_a_session_without_a_window_accepts_nothing_below_its_next_counter() -> None:
    with pytest.raises(FrameCounterReplay):
        accept_f_cnt(99, 100, None)
    assert accept_f_cnt(100, 100, None)[:1] == (101,)


def test_nothing_older_than_the_window() -> None:
    newest = REPLAY_WINDOW + 5  # the window holds it and the 63 below: 6..69
    next_expected, seen, _ = accept_f_cnt(newest, 0, 0)
    with pytest.raises(FrameCounterReplay):
        accept_f_cnt(newest - REPLAY_WINDOW, next_expected, seen)
    assert accept_f_cnt(newest - REPLAY_WINDOW + 1, next_expected, seen)[2] is True


@pytest.mark.parametrize("seed", range(20))
def test_any_order_accepts_each_counter_exactly_once(seed: int) -> None:
    rng = random.Random(seed)
    counters = list(range(200))
    arrivals = counters + rng.sample(counters, 50)  # every frame, then replays of some
    # reorder locally: frames overtake each other by fewer than the window
    arrivals[:200] = sorted(counters, key=lambda c: c + rng.uniform(0, REPLAY_WINDOW - 1))
    next_expected, seen, accepted = 0, ALL_SEEN, []
    for counter in arrivals:
        try:
            next_expected, seen, _ = accept_f_cnt(counter, next_expected, seen)
        except FrameCounterReplay:
            continue
        accepted.append(counter)
    assert sorted(accepted) == counters
