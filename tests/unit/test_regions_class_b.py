"""Class B ping offset vectors (tests/vectors/class_b_ping_offset.json) and slot helpers."""

import json
from pathlib import Path
from typing import Any

import pytest

from functions.lorawan.class_b import ping_offset, ping_period, ping_slot_starts
from functions.lorawan.errors import InvalidPingPeriod
from functions.lorawan.types import DevAddr

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "class_b_ping_offset.json").read_text()
)["vectors"]


@pytest.mark.parametrize("vector", [pytest.param(v, id=v["id"]) for v in VECTORS])
def test_ping_offset_vector(vector: dict[str, Any]) -> None:
    dev_addr = DevAddr.parse(vector["devaddr"])
    assert (
        ping_offset(vector["beacon_time"], dev_addr, vector["ping_period"]) == vector["expected_ping_offset"]
    )


def test_ping_offset_changes_with_beacon_time_and_stays_in_range() -> None:
    dev_addr = DevAddr.parse("26011bda")
    offsets = {ping_offset(t * 128, dev_addr, 4096) for t in range(50)}
    assert len(offsets) > 40
    assert all(0 <= o < 4096 for o in offsets)


def test_ping_period_and_slots() -> None:
    assert [ping_period(p) for p in range(8)] == [32, 64, 128, 256, 512, 1024, 2048, 4096]
    starts = ping_slot_starts(0, DevAddr.parse("00000000"), 0)  # period 32, offset 6
    assert len(starts) == 128
    assert starts[0] == pytest.approx(2.12 + 6 * 0.030)
    assert starts[1] - starts[0] == pytest.approx(32 * 0.030)
    assert starts[-1] < 128 - 3.0  # the last slot starts 3.03 s before the next beacon at the latest
    assert len(ping_slot_starts(0, DevAddr.parse("00000000"), 7)) == 1
    with pytest.raises(InvalidPingPeriod):
        ping_period(8)
    with pytest.raises(InvalidPingPeriod):
        ping_offset(0, DevAddr.parse("00000000"), 100)
