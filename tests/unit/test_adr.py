"""The ADR algorithm, worked by hand from its definition (Semtech's recommendation / ChirpStack default):
margin = max SNR - required SNR(DR) - installation margin; one step per 3 dB (truncated)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.lorawan.adr import (
    ADRInput,
    ADRResult,
    UplinkRecord,
    adr,
    nb_trans_for,
    packet_loss_percent,
    required_snr_by_data_rate,
)
from functions.lorawan.regions import get_region

EU868_SNR = required_snr_by_data_rate({0: 12, 1: 11, 2: 10, 3: 9, 4: 8, 5: 7})


def history(snr: float, count: int = 20, power: int = 0, start: int = 0, gaps: int = 0) -> list[UplinkRecord]:
    """`count` uplinks at `snr`, every `gaps`-th frame counter skipped."""
    records, f_cnt = [], start
    for i in range(count):
        records.append(UplinkRecord(f_cnt=f_cnt, max_snr=snr, tx_power_index=power))
        f_cnt += 2 if gaps and i % gaps == gaps - 1 else 1
    return records


def state(records: list[UplinkRecord], dr: int = 0, power: int = 0, nb_trans: int = 1, **kw: int) -> ADRInput:
    return ADRInput(
        history=records, data_rate=dr, tx_power_index=power, nb_trans=nb_trans, required_snr=EU868_SNR,
        max_data_rate=kw.get("max_dr", 5), max_tx_power_index=kw.get("max_power", 7),
        min_data_rate=kw.get("min_dr", 0),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("snr", "dr", "power", "expected"),
    [
        # SF12 needs -20 dB; SNR -20 leaves -10 dB after the margin: 3 negative steps, power already at max.
        (-20.0, 0, 0, ADRResult(0, 0, 1)),
        # SNR -7: margin = -7 + 20 - 10 = 3 dB -> one step: DR0 -> DR1.
        (-7.0, 0, 0, ADRResult(1, 0, 1)),
        # SNR -5.1: margin 4.9 dB -> still one step (truncated).
        (-5.1, 0, 0, ADRResult(1, 0, 1)),
        # SNR 5: margin 15 dB -> five steps: DR0 -> DR5.
        (5.0, 0, 0, ADRResult(5, 0, 1)),
        # SNR 10 at DR0: 20 dB -> six steps: five DR steps, then one power step.
        (10.0, 0, 0, ADRResult(5, 1, 1)),
        # SNR 20 at DR5 (needs -7.5): margin 17.5 -> five power steps, DR already at the maximum.
        (20.0, 5, 0, ADRResult(5, 5, 1)),
        # Power never goes past the maximum index.
        (40.0, 5, 5, ADRResult(5, 7, 1)),
        # Weak link at DR5 with reduced power: -9 dB margin at power 3 -> three steps back up to full power.
        (-16.5, 5, 3, ADRResult(5, 0, 1)),
        # ADR never lowers the data rate, even with a negative margin at full power.
        (-20.0, 5, 0, ADRResult(5, 0, 1)),
    ],
)
def test_steps(snr: float, dr: int, power: int, expected: ADRResult) -> None:
    assert adr(state(history(snr, power=power), dr=dr, power=power)) == expected


def test_power_is_raised_only_after_a_full_history_at_the_current_power() -> None:
    mixed = history(-16.5, count=19, power=3) + history(-16.5, count=1, power=2, start=19)
    assert adr(state(mixed, dr=5, power=3)) == ADRResult(5, 3, 1)
    assert adr(state(history(-16.5, count=10, power=3), dr=5, power=3)) == ADRResult(5, 3, 1)


def test_the_profile_maximum_data_rate_caps_the_result() -> None:
    assert adr(state(history(5.0), max_dr=3)) == ADRResult(3, 2, 1)
    assert adr(state(history(5.0), dr=5, max_dr=3)).data_rate == 3


@pytest.mark.parametrize(
    ("gaps", "loss"),
    [(0, 0.0), (10, 100 * 1 / 21), (4, 100 * 4 / 24), (2, 100 * 9 / 29), (1, 100 * 19 / 39)],
)
def test_packet_loss_over_the_history(gaps: int, loss: float) -> None:
    assert packet_loss_percent(history(0.0, gaps=gaps)) == pytest.approx(loss)


def test_no_packet_loss_figure_before_twenty_uplinks() -> None:
    assert packet_loss_percent(history(0.0, count=19, gaps=1)) == 0.0


@pytest.mark.parametrize(
    ("loss", "current", "expected"),
    [
        (0, 1, 1),
        (0, 3, 2),
        (4.9, 2, 1),
        (7, 1, 1),
        (7, 2, 2),
        (7, 3, 3),
        (20, 1, 2),
        (20, 2, 3),
        (50, 1, 3),
        (50, 3, 3),
    ],
)
def test_nb_trans_table(loss: float, current: int, expected: int) -> None:
    assert nb_trans_for(loss, current) == expected


def test_nb_trans_rises_with_loss_in_the_result() -> None:
    assert adr(state(history(-20.0, gaps=4))).nb_trans == 2  # 16.7 % lost
    assert adr(state(history(-20.0, gaps=2))).nb_trans == 3  # 31 % lost


def test_a_strong_link_converges_and_then_stays() -> None:
    """A device 8 dB above the floor at full power; each power index costs 2 dB (EU868). ADR walks it to DR5
    and then trims power until less than one 3 dB step of margin is left: DR5, index 2 (margin 1.5 dB)."""
    dr, power, decisions = 0, 0, 0
    for _ in range(10):
        snr = 8.0 - 2 * power
        decided = adr(state(history(snr, power=power), dr=dr, power=power))
        if (decided.data_rate, decided.tx_power_index) == (dr, power):
            break
        dr, power, decisions = decided.data_rate, decided.tx_power_index, decisions + 1
    assert (dr, power) == (5, 2)
    assert decisions == 2  # DR0 -> DR5 with one power step, then one more power step


def test_required_snr_from_a_region_table() -> None:
    region = get_region("EU868")
    factors = {
        index: dr.modulation.spreading_factor
        for index, dr in region.data_rates.items()
        if hasattr(dr.modulation, "spreading_factor")
    }
    table = required_snr_by_data_rate(factors)
    assert table[0] == -20.0 and table[5] == -7.5


snrs = st.floats(min_value=-30.0, max_value=30.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(low=snrs, high=snrs, dr=st.integers(0, 5), power=st.integers(0, 7))
def test_a_better_link_never_gets_a_slower_or_louder_setting(
    low: float, high: float, dr: int, power: int
) -> None:
    """Monotonic in SNR: (DR, TX power index) never goes down in lexicographic order as SNR goes up."""
    low, high = min(low, high), max(low, high)
    weak = adr(state(history(low, power=power), dr=dr, power=power))
    strong = adr(state(history(high, power=power), dr=dr, power=power))
    assert (weak.data_rate, weak.tx_power_index) <= (strong.data_rate, strong.tx_power_index)


@settings(max_examples=200, deadline=None)
@given(
    snr=snrs, dr=st.integers(0, 5), power=st.integers(0, 7), nb_trans=st.integers(1, 3),
    max_dr=st.integers(0, 5), max_power=st.integers(0, 7), count=st.integers(0, 20), gaps=st.integers(0, 5),
)  # fmt: skip
def test_never_exceeds_the_limits(
    snr: float, dr: int, power: int, nb_trans: int, max_dr: int, max_power: int, count: int, gaps: int
) -> None:
    """ADR lowers the DR only down to a profile maximum that moved below it (as ChirpStack does), never goes
    past the profile's DR or the region's power index, and keeps NbTrans in 1..3."""
    power = min(power, max_power)
    decided = adr(
        state(history(snr, count=count, power=power, gaps=gaps), dr=dr, power=power, nb_trans=nb_trans,
              max_dr=max_dr, max_power=max_power)
    )  # fmt: skip
    assert decided.data_rate >= min(dr, max_dr)
    assert decided.data_rate <= max_dr
    assert 0 <= decided.tx_power_index <= max_power
    assert 1 <= decided.nb_trans <= 3
