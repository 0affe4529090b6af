"""CFList types 0 and 1 against public vectors (tests/vectors/cflist.json) and the regions."""

import json
from pathlib import Path
from typing import Any

import pytest

from functions.lorawan.cflist import CFListChannelMask, CFListFrequencies, decode_cf_list
from functions.lorawan.errors import DecodeError, EncodeError, InvalidChannel, InvalidLength
from functions.lorawan.regions import AU915, CN470_26A, EU868, US915

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "cflist.json").read_text()
)["vectors"]


@pytest.mark.parametrize("vector", [pytest.param(v, id=v["id"]) for v in VECTORS])
def test_cflist_vector(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["cflist_hex"])
    cf_list = decode_cf_list(data)
    expected = vector["expected"]
    assert cf_list.type == expected["cflist_type"]
    if "channels_hz" in expected:
        assert isinstance(cf_list, CFListFrequencies)
        assert list(cf_list.frequencies) == expected["channels_hz"]
        assert cf_list.to_dict() == {"type": 0, "frequencies": expected["channels_hz"]}
    if "enabled_channels" in expected:
        assert isinstance(cf_list, CFListChannelMask)
        assert sorted(cf_list.enabled_channels) == expected["enabled_channels"]
    assert cf_list.to_bytes() == data  # round trip


def test_filler_cflist_decodes_as_five_frequencies() -> None:
    cf_list = decode_cf_list(bytes.fromhex("11223311223311223311223311223300"))
    assert cf_list == CFListFrequencies((0x332211 * 100,) * 5)


def test_type_1_to_dict_and_masks() -> None:
    cf_list = decode_cf_list(bytes.fromhex("ff000000000000000000000000000001"))
    assert cf_list.to_dict() == {"type": 1, "ch_masks": [0x00FF, 0, 0, 0, 0]}


def test_partial_type_0_pads_with_zeros() -> None:
    cf_list = CFListFrequencies((867_100_000, 867_300_000))
    data = cf_list.to_bytes()
    assert len(data) == 16 and data[6:] == bytes(10)
    assert decode_cf_list(data) == cf_list


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (bytes(15), InvalidLength),
        (bytes(17), InvalidLength),
        (bytes(15) + b"\x02", DecodeError),
        (bytes(15) + b"\xff", DecodeError),
    ],
    ids=["short", "long", "type-2-rfu", "type-255-rfu"],
)
def test_decode_errors(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_cf_list(data)


def test_encode_errors() -> None:
    with pytest.raises(EncodeError):
        CFListFrequencies((867_100_000,) * 6)
    with pytest.raises(EncodeError):
        CFListFrequencies((867_100_050,))  # not a multiple of 100 Hz
    with pytest.raises(EncodeError):
        CFListChannelMask((0x10000,))
    with pytest.raises(EncodeError):
        CFListChannelMask((0,) * 6)


def test_regions_build_their_cflist() -> None:
    eu = EU868.cf_list([867_100_000, 867_300_000, 867_500_000, 867_700_000, 867_900_000])
    assert eu is not None and eu.to_bytes().hex() == "184f84e85684b85e84886684586e8400"
    assert EU868.cf_list([]) is None
    with pytest.raises(InvalidChannel):
        EU868.cf_list([867_100_000] * 6)
    us = US915.cf_list(range(8))
    assert us.to_bytes().hex() == "ff000000000000000000000000000001"
    assert AU915.cf_list([*range(8, 16), 65]).ch_masks == (0xFF00, 0, 0, 0, 0x0002)
    assert CN470_26A.cf_list(range(48)).ch_masks == (0xFFFF, 0xFFFF, 0xFFFF)
    with pytest.raises(InvalidChannel):
        US915.cf_list([72])
