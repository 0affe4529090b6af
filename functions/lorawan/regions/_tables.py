"""Small builders for the tables most RP002-1.0.4 regions share."""

from __future__ import annotations

from .base import DataRate, fsk, lora

EU_LORA_FSK: tuple[DataRate, ...] = (
    lora(0, 12, 125),
    lora(1, 11, 125),
    lora(2, 10, 125),
    lora(3, 9, 125),
    lora(4, 8, 125),
    lora(5, 7, 125),
    lora(6, 7, 250),
    fsk(7),
)
"""DR0-7 of the EU-like plans: SF12..SF7 at 125 kHz, SF7 at 250 kHz, FSK 50 kbit/s."""

EU_MAX_MAC_PAYLOAD: dict[int, int] = {0: 59, 1: 59, 2: 59, 3: 123, 4: 250, 5: 250, 6: 250, 7: 250}
"""M per DR0-7 where no dwell-time limit applies (RP002-1.0.4 §2.4.6 and peers)."""


def rx1_table(uplink_drs: range, offsets: int = 6, floor: int = 0) -> dict[int, tuple[int, ...]]:
    """RX1 DR = max(floor, uplink DR - RX1DROffset) for offsets 0..offsets-1."""
    return {dr: tuple(max(floor, dr - off) for off in range(offsets)) for dr in uplink_drs}


def by_index(rates: tuple[DataRate, ...]) -> dict[int, DataRate]:
    return {dr.index: dr for dr in rates}
