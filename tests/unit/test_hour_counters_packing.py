"""The hour's counters packed in the session (functions/network/hour_counters.py): what the pipeline
counts reads back exactly, short codes for its usual names, any other name spelt out."""

from __future__ import annotations

import pytest

from functions.lorawan.types import EUI64
from functions.network.frame_recording import device_counters
from functions.network.hour_counters import pack, unpack
from functions.network.receptions import Reception
from functions.shared.interface import HourCounters

HOUR = 1_796_083_200


def reception(snr: float, rssi: int, frequency: int = 868_100_000, dr: int = 5) -> Reception:
    return Reception(b"", str(EUI64.from_int(1)), "eu868", 1, frequency, dr, rssi, snr, "", 0)


def test_what_an_uplink_counts_reads_back_exactly() -> None:
    hour = HourCounters(HOUR, 0xFFFFFFFF)
    hour.add(device_counters((reception(7.25, -60), reception(9.5, -101, 868_300_000)), downlink=True))
    hour.add(device_counters((reception(-12.4, -120, 433_175_000, 0),)))
    assert hour.counters == {"up": 2, "dr_5": 1, "dr_0": 1, "f_868300000": 1, "f_433175000": 1, "rssi": -221,
                             "snr": -2.9, "down": 1}  # fmt: skip
    assert unpack(pack(hour)) == hour


@pytest.mark.parametrize(
    "counters",
    [
        {},
        {"up": 100_000, "rssi": -12_000_000, "snr": -0.25},
        {"join": 1, "err_mic_failure": 2, "tx_rx1": 1, "f_923200000": 3, "f_2400000000": 1, "dr_15": 1},
    ],
)
def test_any_counter_round_trips(counters: dict[str, float]) -> None:
    hour = HourCounters(HOUR, 7, dict(counters))
    assert unpack(pack(hour)) == hour


def test_the_usual_names_are_a_few_bytes() -> None:
    assert len(pack(HourCounters(HOUR, 1))) == 9  # format, hour, token
    assert len(pack(HourCounters(HOUR, 1, {"up": 6}))) == 9 + 2
    assert len(pack(HourCounters(HOUR, 1, {"f_868100000": 1}))) == 9 + 4  # 100 kHz steps
    assert len(pack(HourCounters(HOUR, 1, {"snr": 7.5}))) == 9 + 3  # hundredths: 750


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        unpack(b"\x02" + pack(HourCounters(HOUR, 1))[1:])
