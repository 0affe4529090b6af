"""The UplinkCollection item as DynamoDB bills it (moto server): collected through `collect` with realistic
receptions of both bridges, the claimed item stays under 1 KB (one write unit per write on it) with up to
three receptions, and the claim hands back every reception as the gateways sent it."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from functions.network.dedup import collect, collection_key
from functions.network.models import UplinkCollection
from functions.network.receptions import Reception
from tests.support.receptions import basics_station, chirpstack_bridge, gateway_ids, semtech_udp

KB = 1024


def dynamodb_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it (Developer Guide, "Item sizes and formats"): each attribute's
    name in UTF-8 plus its value: strings in UTF-8, binary as bytes, a number 1 byte per two significant
    digits plus 1, booleans and null 1, a map or list 3 plus its elements (1 per list element)."""

    def value(typed: dict[str, Any]) -> int:
        (kind, data), *_ = typed.items()
        if kind == "S":
            return len(data.encode())
        if kind == "N":
            digits = format(abs(Decimal(data)), "f").replace(".", "").strip("0") or "0"
            return math.ceil(len(digits) / 2) + 1
        if kind == "B":
            return len(data)
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + value(v) for k, v in data.items())
        if kind == "L":
            return 3 + sum(1 + value(v) for v in data)
        raise AssertionError(f"no size rule for {kind}")

    return sum(len(name.encode()) + value(typed) for name, typed in item.items())


def _collected(
    source: Callable[[str, int], Reception], count: int
) -> tuple[dict[str, Any], tuple[Reception, ...]]:
    receptions = [source(gateway_id, index) for index, gateway_id in enumerate(gateway_ids(count))]
    first, copies = receptions[0], receptions[1:]

    def window(_seconds: float) -> None:  # the other gateways' copies arrive while the creator waits
        for copy in copies:
            assert collect(copy, window_s=0.2, sleep=lambda _s: None).status == "duplicate"

    outcome = collect(first, window_s=0.2, sleep=window)
    assert outcome.status == "process"
    key = UplinkCollection._serialize_keys(collection_key(first))[0]
    item = UplinkCollection._get_connection().get_item(key, consistent_read=True)["Item"]
    return item, outcome.receptions


# write units per write on the item, at most: Basics Station's 16-byte context puts five receptions at 1 KB
CASES = [(semtech_udp, 1, 1), (semtech_udp, 3, 1), (semtech_udp, 5, 1),
         (basics_station, 1, 1), (basics_station, 3, 1), (basics_station, 5, 2)]  # fmt: skip


@pytest.mark.parametrize(
    ("source", "count", "write_units"), CASES, ids=lambda c: getattr(c, "__name__", str(c))
)
def test_the_item_stays_small(
    dynamodb: str, source: Callable[[str, int], Reception], count: int, write_units: int
) -> None:
    item, receptions = _collected(source, count)
    size = dynamodb_size(item)
    assert math.ceil(size / KB) <= write_units, size
    # what the values in the old form (the whole reception as JSON) would weigh: a copy's write cost 2-4
    old = {name: {"S": json.dumps(r.to_dict())} for r in receptions for name in [f"rx:{r.key}"]}
    old_size = dynamodb_size({k: v for k, v in item.items() if not k.startswith("rx:")} | old)
    assert size < old_size / 2.5, (size, old_size)
    expected = {r.key: r for r in (source(g, i) for i, g in enumerate(gateway_ids(count)))}
    assert len(receptions) == count
    for reception in receptions:  # every field the events' rxInfo and txInfo carry
        sent = expected[reception.key]
        assert reception == sent
        assert reception.rx_info == sent.rx_info and reception.tx_info == sent.tx_info


def test_third_party_fields_survive_the_item(dynamodb: str) -> None:
    """Fine timestamp, location, metadata and nanosecond times of ChirpStack's own gateway bridge."""
    _, receptions = _collected(chirpstack_bridge, 3)
    expected = {r.key: r for r in (chirpstack_bridge(g, i) for i, g in enumerate(gateway_ids(3)))}
    for reception in receptions:
        assert reception.rx_info == expected[reception.key].rx_info
        assert reception.tx_info == expected[reception.key].tx_info
