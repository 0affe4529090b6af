"""The standard ADR algorithm as a pure function (Semtech's "LoRaWAN ADR" recommendation, as ChirpStack's
default algorithm implements it: chirpstack/src/adr/default.rs).

From the best SNR over the last 20 uplinks: margin = max SNR - SNR required by the current data rate -
installation margin; every 3 dB of margin is one step. Positive steps raise the data rate first (up to the
highest LoRa data rate allowed), then lower the TX power (a higher power index). Negative steps raise the
power back, but only once all 20 uplinks of the history were sent at the current power, so one bad
reading does not undo a good decision. ADR never lowers the data rate: the device does that itself
through ADRACKReq back-off (1.0.4 §4.3.1.1). NbTrans follows the packet loss over the history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

HISTORY_LENGTH = 20
DEFAULT_INSTALLATION_MARGIN_DB = 10.0
STEP_DB = 3.0
# Demodulation floor per spreading factor (Semtech SX127x datasheets, as ChirpStack's config.rs).
REQUIRED_SNR_BY_SF: Mapping[int, float] = {
    6: -5.0,
    7: -7.5,
    8: -10.0,
    9: -12.5,
    10: -15.0,
    11: -17.5,
    12: -20.0,
}
# Rows: packet loss <5 %, <10 %, <30 %, >=30 %; columns: current NbTrans 1, 2, 3.
_NB_TRANS_TABLE = ((1, 1, 2), (1, 2, 3), (2, 3, 3), (3, 3, 3))


@dataclass(frozen=True, slots=True)
class UplinkRecord:
    """What the network server remembers of one uplink for ADR."""

    f_cnt: int
    max_snr: float
    tx_power_index: int
    gateway_count: int = 1


@dataclass(frozen=True, slots=True)
class ADRInput:
    """`required_snr` maps each data rate the device may use to its demodulation floor in dB
    (build it with `required_snr_by_data_rate` from the region's data-rate table)."""

    history: Sequence[UplinkRecord]
    data_rate: int
    tx_power_index: int
    nb_trans: int
    required_snr: Mapping[int, float]
    max_data_rate: int
    max_tx_power_index: int
    min_data_rate: int = 0
    installation_margin: float = DEFAULT_INSTALLATION_MARGIN_DB


@dataclass(frozen=True, slots=True)
class ADRResult:
    data_rate: int
    tx_power_index: int
    nb_trans: int

    def differs_from(self, state: ADRInput) -> bool:
        """Whether a LinkADRReq is worth sending."""
        return (self.data_rate, self.tx_power_index, self.nb_trans) != (
            state.data_rate,
            state.tx_power_index,
            state.nb_trans,
        )


def required_snr_by_data_rate(spreading_factors: Mapping[int, int]) -> dict[int, float]:
    """{data rate: required SNR} from {data rate: spreading factor} for the region's LoRa data rates."""
    return {dr: REQUIRED_SNR_BY_SF[sf] for dr, sf in spreading_factors.items() if sf in REQUIRED_SNR_BY_SF}


def packet_loss_percent(history: Sequence[UplinkRecord]) -> float:
    """Frames missing between the counters of a full history, as a share of those sent (0 before 20)."""
    if len(history) < HISTORY_LENGTH:
        return 0.0
    lost = sum(max(0, b.f_cnt - a.f_cnt - 1) for a, b in pairwise(history))
    return 100.0 * lost / (lost + len(history))


def nb_trans_for(loss_percent: float, nb_trans: int) -> int:
    row = 0 if loss_percent < 5 else 1 if loss_percent < 10 else 2 if loss_percent < 30 else 3
    column = min(max(nb_trans, 1), 3) - 1
    return _NB_TRANS_TABLE[row][column]


def adr(state: ADRInput) -> ADRResult:
    """New data rate, TX power index and NbTrans for the device (its current values if nothing to do)."""
    nb_trans = nb_trans_for(packet_loss_percent(state.history), state.nb_trans)
    if state.data_rate > state.max_data_rate:  # e.g. the profile lowered its maximum since the last uplink
        return ADRResult(state.max_data_rate, state.tx_power_index, nb_trans)
    if not state.history or state.data_rate not in state.required_snr:
        return ADRResult(state.data_rate, state.tx_power_index, nb_trans)
    max_snr = max(record.max_snr for record in state.history)
    margin = max_snr - state.required_snr[state.data_rate] - state.installation_margin
    steps = int(margin / STEP_DB)  # truncation toward zero, as the reference does
    data_rate, tx_power_index = state.data_rate, state.tx_power_index
    max_data_rate = max(dr for dr in state.required_snr if dr <= state.max_data_rate)
    while steps > 0 and data_rate < max_data_rate:
        data_rate += 1
        steps -= 1
    while steps > 0 and tx_power_index < state.max_tx_power_index:
        tx_power_index += 1
        steps -= 1
    full_history_at_this_power = len(state.history) >= HISTORY_LENGTH and all(
        record.tx_power_index == state.tx_power_index for record in state.history[-HISTORY_LENGTH:]
    )
    while steps < 0 and tx_power_index > 0 and full_history_at_this_power:
        tx_power_index -= 1
        steps += 1
    data_rate = max(data_rate, state.min_data_rate)
    return ADRResult(data_rate, tx_power_index, nb_trans)
