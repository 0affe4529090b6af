"""Time on air against public vectors (tests/vectors/airtime.json) and hand-computed cases."""

import json
from pathlib import Path
from typing import Any

import pytest

from functions.lorawan.airtime import (
    fsk_time_on_air,
    lora_payload_symbols,
    lora_symbol_time,
    lora_time_on_air,
    low_data_rate_optimize_required,
    time_on_air,
    time_on_air_us,
)
from functions.lorawan.errors import InvalidDataRate
from functions.lorawan.regions import EU868, US915, FSKModulation, LoRaModulation, LRFHSSModulation

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "airtime.json").read_text()
)["vectors"]


@pytest.mark.parametrize("vector", [pytest.param(v, id=v["id"]) for v in VECTORS])
def test_airtime_vector(vector: dict[str, Any]) -> None:
    if "expected_symbol_us" in vector:
        assert lora_symbol_time(vector["sf"], vector["bw_hz"]) * 1e6 == vector["expected_symbol_us"]
    elif "expected_payload_symbols" in vector:
        symbols = lora_payload_symbols(
            vector["payload_size"],
            vector["sf"],
            vector["coding_rate"],
            explicit_header=vector["explicit_header"],
            crc=vector["crc"],
            low_data_rate_optimize=vector["low_data_rate_optimize"],
        )
        assert symbols == vector["expected_payload_symbols"]
    elif vector.get("modulation") == "FSK":
        assert fsk_time_on_air(vector["payload_size"], vector["bitrate"]) * 1e6 == pytest.approx(
            vector["expected_us"], abs=1e-6
        )
        assert (
            time_on_air_us(vector["payload_size"], FSKModulation(vector["bitrate"])) == vector["expected_us"]
        )
    else:
        seconds = lora_time_on_air(
            vector["payload_size"],
            vector["sf"],
            vector["bw_hz"],
            coding_rate=vector["coding_rate"],
            preamble_symbols=vector["preamble_symbols"],
            explicit_header=vector["explicit_header"],
            crc=vector["crc"],
            low_data_rate_optimize=vector["low_data_rate_optimize"],
        )
        assert seconds * 1e6 == pytest.approx(vector["expected_us"], abs=1e-6)
        # With LDRO chosen automatically, only brocaar's SF12/125 kHz case (LDRO forced off) moves.
        automatic = lora_time_on_air(
            vector["payload_size"],
            vector["sf"],
            vector["bw_hz"],
            coding_rate=vector["coding_rate"],
            crc=vector["crc"],
        )
        if vector["low_data_rate_optimize"] == low_data_rate_optimize_required(vector["sf"], vector["bw_hz"]):
            assert automatic == seconds


def test_low_data_rate_optimize_rule() -> None:
    assert low_data_rate_optimize_required(11, 125_000)
    assert low_data_rate_optimize_required(12, 125_000)
    assert low_data_rate_optimize_required(12, 250_000)
    assert not low_data_rate_optimize_required(11, 250_000)
    assert not low_data_rate_optimize_required(10, 125_000)
    assert not low_data_rate_optimize_required(12, 500_000)


def test_uplink_has_crc_downlink_does_not() -> None:
    sf7 = LoRaModulation(7, 125_000)
    # 13 bytes at SF7/125: uplink 33 payload symbols, downlink (no CRC, 16 bits fewer) 28.
    assert time_on_air_us(13, sf7, uplink=True) == round((12.25 + 33) * 1024)
    assert time_on_air_us(13, sf7, uplink=False) == round((12.25 + 28) * 1024)
    assert time_on_air(13, sf7) == pytest.approx(0.046336)


def test_with_region_data_rates() -> None:
    # 23 bytes at SF12/125 kHz, LDRO on: ceil((184 - 48 + 28 + 16) / 40) * 5 = 25 -> 33 payload
    # symbols; (12.25 + 33) x 32.768 ms = 1482.752 ms.
    assert time_on_air_us(23, EU868.data_rate(0).modulation) == 1_482_752
    # At SF8/500 kHz: ceil(196 / 32) * 5 = 35 -> 43 symbols; (12.25 + 43) x 512 us = 28.288 ms.
    assert time_on_air_us(23, US915.data_rate(4).modulation) == 28_288
    assert time_on_air(0, EU868.data_rate(7).modulation) == pytest.approx((5 + 3 + 1 + 2) * 8 / 50_000)


def test_invalid_inputs() -> None:
    with pytest.raises(InvalidDataRate):
        lora_time_on_air(10, 13, 125_000)
    with pytest.raises(InvalidDataRate):
        lora_time_on_air(256, 7, 125_000)
    with pytest.raises(InvalidDataRate):
        lora_time_on_air(10, 7, 125_000, coding_rate="4/9")
    with pytest.raises(InvalidDataRate):
        time_on_air(10, LRFHSSModulation("1/3", 137_000))
    with pytest.raises(InvalidDataRate):
        fsk_time_on_air(10, 0)
