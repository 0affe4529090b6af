"""The compact form of a reception in the UplinkCollection item decodes to the same `Reception`, and every
field of its rxInfo / txInfo survives, checked against ChirpStack's own protobuf definitions (strict
parsing of gw.UplinkRxInfo / gw.UplinkTxInfo and of the `up` event's rxInfo)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from chirpstack_api import gw
from google.protobuf import json_format

from functions.network.reception_codec import pack, unpack
from functions.network.receptions import Reception
from tests.support.chirpstack import check_integration_event
from tests.support.receptions import basics_station, chirpstack_bridge, semtech_udp

SOURCES: list[Callable[[str, int], Reception]] = [semtech_udp, basics_station, chirpstack_bridge]


def _decoded(reception: Reception) -> Reception:
    return unpack(
        reception.key, pack(reception), phy_payload=reception.phy_payload, topic_prefix=reception.topic_prefix
    )


def _strict(
    message: type[gw.UplinkRxInfo] | type[gw.UplinkTxInfo], value: dict[str, object]
) -> dict[str, object]:
    parsed = json_format.Parse(json.dumps(value), message(), ignore_unknown_fields=False)
    return json_format.MessageToDict(parsed)


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.__name__)
def test_every_field_survives(source: Callable[[str, int], Reception]) -> None:
    original = source("0016c001ff10a235", 1)
    decoded = _decoded(original)
    assert decoded == original
    assert decoded.rx_info == original.rx_info and decoded.tx_info == original.tx_info
    assert _strict(gw.UplinkRxInfo, decoded.rx_info) == _strict(gw.UplinkRxInfo, original.rx_info)
    assert _strict(gw.UplinkTxInfo, decoded.tx_info) == _strict(gw.UplinkTxInfo, original.tx_info)
    # the `up` event carries the decoded rxInfo / txInfo as they are: ChirpStack's parser takes them
    event = {
        "deduplicationId": "3b1c3c5e-0000-4000-8000-000000000000",
        "time": "2026-12-04T14:00:00.200Z",
        "deviceInfo": {"devEui": "0102030405060708"},
        "devAddr": "44332211",
        "fCnt": 1,
        "fPort": 1,
        "data": "qqqqqqqqqqqqqqqq",
        "rxInfo": [decoded.rx_info],
        "txInfo": decoded.tx_info,
    }
    check_integration_event("up", event)


def test_the_compact_form_is_smaller_and_repeats_nothing_of_the_key() -> None:
    reception = semtech_udp("0016c001ff10a235", 0)
    compact, old = pack(reception), json.dumps(reception.to_dict())
    assert len(compact) < len(old) / 2
    assert reception.gateway_id not in compact and str(reception.uplink_id) not in compact


def test_unusual_fields_and_enum_numbers_are_kept() -> None:
    """A field the table does not know, a key starting with `~`, an enum sent as its number, an FSK
    frame, a gwTime without fraction: all come back as sent."""
    base = semtech_udp("0016c001ff10a235", 0)
    rx_info = base.rx_info | {
        "crcStatus": 1, "gwTime": "2026-12-04T14:00:00Z", "newField": {"c": 1, "~x": [1, 2]}, "~odd": True,
    }  # fmt: skip
    tx_info = {"frequency": 868_800_000, "modulation": {"fsk": {"datarate": 50_000}}}
    reception = Reception(
        base.phy_payload, base.gateway_id, base.topic_prefix, base.uplink_id, 868_300_000, 7, -90, -2.5,
        base.context, base.received_at_ms, rx_info, tx_info,
    )  # fmt: skip
    decoded = _decoded(reception)
    assert decoded == reception
    assert decoded.rx_info == rx_info and decoded.tx_info == tx_info


def test_values_in_the_old_form_are_read() -> None:
    """A value written by the function before this form (a JSON object) is still a reception."""
    reception = basics_station("0016c001ff10a235", 0)
    old = json.dumps(reception.to_dict())
    decoded = unpack(reception.key, old, phy_payload=b"ignored", topic_prefix="ignored")
    assert decoded == reception and decoded.rx_info == reception.rx_info
