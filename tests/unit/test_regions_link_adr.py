"""LinkADRReq channel masks both ways (LoRaWAN 1.0.4 §5.3, RP002-1.0.4 ChMaskCntl tables)."""

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.lorawan.errors import InvalidChannel
from functions.lorawan.regions import (
    AS923_2,
    AU915,
    CN470_20A,
    CN470_20B,
    CN470_26A,
    EU868,
    US915,
    Region,
)

CH_MASK_VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "ch_mask.json").read_text()
)["vectors"]
ALL_US = frozenset(range(72))
SIXTEEN = frozenset(range(16))


def _ch_mask_vector(vector_id: str) -> dict[str, Any]:
    return next(v for v in CH_MASK_VECTORS if v["id"] == vector_id)


# --- vectors (public-test-vectors-2.json, brocaar mac_commands_test.go) -------------------------


def test_ch_mask_bits_vector() -> None:
    vector = _ch_mask_vector("mac_commands_3")
    ch_mask = int.from_bytes(bytes.fromhex(vector["bytes"]), "little")
    enabled = EU868.apply_link_adr(frozenset({0}), [(ch_mask, 0)], defined=SIXTEEN)
    assert sorted(ch + 1 for ch in enabled) == vector["expected"]["ChMask_channels_1based"]


def test_link_adr_req_vector_ch_mask_cntl_4_in_us915() -> None:
    vector = _ch_mask_vector("mac_commands_5")
    payload = bytes.fromhex(vector["bytes"])
    ch_mask = int.from_bytes(payload[1:3], "little")
    ch_mask_cntl = payload[3] >> 4 & 0x07
    assert ch_mask_cntl == vector["expected"]["ChMaskCntl"]
    assert (
        sorted(b + 1 for b in range(16) if ch_mask >> b & 1) == vector["expected"]["ChMask_channels_1based"]
    )
    # US915 ChMaskCntl 4: ChMask is channels 64-71; the 125 kHz channels stay as they were.
    assert US915.apply_link_adr(ALL_US, [(ch_mask, ch_mask_cntl)]) == frozenset(range(64)) | {66}


# --- dynamic plans -----------------------------------------------------------------------------


def test_dynamic_ch_mask_cntl_0_and_6() -> None:
    defined = frozenset(range(8))
    assert EU868.apply_link_adr(frozenset({0, 1, 2}), [(0b1010_0000, 0)], defined=defined) == {5, 7}
    assert EU868.apply_link_adr(frozenset({5}), [(0, 6)], defined=defined) == defined
    # Without `defined`, the three default channels and the enabled ones count as defined.
    assert EU868.apply_link_adr(frozenset({0, 4}), [(0b10011, 0)]) == {0, 1, 4}


@pytest.mark.parametrize(
    "masks",
    [
        [(0b1000, 0)],  # channel 3 not defined
        [(0, 0)],  # every channel off
        [(0xFF, 1)],  # ChMaskCntl 1..5 and 7 are RFU
        [(0xFF, 5)],
        [(0xFF, 7)],
    ],
)
def test_dynamic_rejections(masks: list[tuple[int, int]]) -> None:
    with pytest.raises(InvalidChannel):
        EU868.apply_link_adr(frozenset({0, 1, 2}), masks)


def test_dynamic_network_side_is_one_command() -> None:
    assert EU868.link_adr_masks({0, 1, 2}) == [(0b111, 0)]
    assert AS923_2.link_adr_masks({0, 15}) == [(0x8001, 0)]
    with pytest.raises(InvalidChannel):
        EU868.link_adr_masks(set())
    with pytest.raises(InvalidChannel):
        EU868.link_adr_masks({16})


# --- US915 / AU915 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("region", [US915, AU915], ids=["US915", "AU915"])
def test_fixed_ch_mask_cntl_semantics(region: Region) -> None:
    start = frozenset({3, 70})
    assert region.apply_link_adr(start, [(0x00FF, 1)]) == {3, 70, *range(16, 24)}
    assert region.apply_link_adr(start, [(0x0003, 6)]) == frozenset(range(64)) | {64, 65}
    assert region.apply_link_adr(start, [(0x0080, 7)]) == {71}
    # ChMaskCntl 5: bit i enables 125 kHz channels 8i..8i+7 and 500 kHz channel 64+i; bits 8-15 RFU.
    assert region.apply_link_adr(start, [(0xFF02, 5)]) == {*range(8, 16), 65}
    # A block is applied in order: all 125 kHz off, then channels 0-3 on.
    assert region.apply_link_adr(ALL_US, [(0, 7), (0x000F, 0)]) == {0, 1, 2, 3}


@pytest.mark.parametrize("region", [US915, AU915], ids=["US915", "AU915"])
def test_fixed_rejections(region: Region) -> None:
    with pytest.raises(InvalidChannel):
        region.apply_link_adr(ALL_US, [(0, 7)])  # nothing left
    old_devices = replace(US915, allow_block_masks=False)
    with pytest.raises(InvalidChannel):
        old_devices.apply_link_adr(ALL_US, [(0x01, 5)])  # RFU before RP002


@pytest.mark.parametrize(
    ("enabled", "expected"),
    [
        (range(72), [(0xFF, 6)]),
        ([*range(8), 64], [(0x01, 5)]),  # sub-band 1 with its 500 kHz channel: one block command
        (range(8), [(0, 7), (0x00FF, 0)]),  # sub-band 1 alone: all off, then channels 0-7
        ([*range(8, 16), 65], [(0x02, 5)]),
        (range(64), [(0, 6)]),
        ([*range(64), 64], [(0x01, 6)]),
        ([0, 20, 40, 60], [(0, 7), (0x0001, 0), (0x0010, 1), (0x0100, 2), (0x1000, 3)]),
        ([64], [(0x01, 7)]),
        ([c for c in range(64) if c != 17], [(0, 6), (0xFFFD, 1)]),
    ],
    ids=[
        "all",
        "sub-band-1+500",
        "sub-band-1",
        "sub-band-2+500",
        "all-125",
        "all-125+64",
        "sparse",
        "500-only",
        "one-off",
    ],
)
def test_us915_network_side_shortest(enabled: range | list[int], expected: list[tuple[int, int]]) -> None:
    masks = US915.link_adr_masks(enabled)
    assert masks == expected
    assert US915.apply_link_adr(frozenset({5}), masks) == frozenset(enabled)


def test_us915_without_block_masks_uses_6_and_7() -> None:
    old_devices = replace(US915, allow_block_masks=False)
    assert old_devices.link_adr_masks([*range(8), 64]) == [(0x01, 7), (0x00FF, 0)]


@settings(max_examples=150, deadline=None)
@given(st.frozensets(st.integers(0, 71), min_size=1), st.frozensets(st.integers(0, 71), min_size=1))
def test_fixed_masks_round_trip(target: frozenset[int], start: frozenset[int]) -> None:
    for region in (US915, AU915):
        masks = region.link_adr_masks(target)
        assert 1 <= len(masks) <= 5
        assert region.apply_link_adr(start, masks) == target


@settings(max_examples=100, deadline=None)
@given(st.frozensets(st.integers(0, 15), min_size=1))
def test_dynamic_masks_round_trip(target: frozenset[int]) -> None:
    assert EU868.apply_link_adr(frozenset({0}), EU868.link_adr_masks(target), defined=SIXTEEN) == target


# --- CN470 ---------------------------------------------------------------------------------------


def test_cn470_20mhz_ch_mask_cntl() -> None:
    everything = frozenset(range(64))
    assert CN470_20A.apply_link_adr(everything, [(0x0001, 3)]) == frozenset(range(48)) | {48}
    assert CN470_20A.apply_link_adr(frozenset({1}), [(0, 6)]) == everything
    assert CN470_20B.apply_link_adr(everything, [(0, 7), (0x8000, 2)]) == {47}
    for rfu in (4, 5):
        with pytest.raises(InvalidChannel):
            CN470_20A.apply_link_adr(everything, [(0xFFFF, rfu)])
    assert CN470_20A.link_adr_masks(range(64)) == [(0, 6)]
    assert CN470_20A.link_adr_masks([0]) == [(0, 7), (0x0001, 0)]


def test_cn470_26mhz_ch_mask_cntl() -> None:
    everything = frozenset(range(48))
    assert CN470_26A.apply_link_adr(frozenset({0}), [(0, 3)]) == everything
    assert CN470_26A.apply_link_adr(everything, [(0, 4), (0x0003, 1)]) == {16, 17}
    for rfu in (5, 6, 7):
        with pytest.raises(InvalidChannel):
            CN470_26A.apply_link_adr(everything, [(0xFFFF, rfu)])
    with pytest.raises(InvalidChannel):
        CN470_26A.link_adr_masks([48])
    assert CN470_26A.link_adr_masks(range(47)) == [(0, 3), (0x7FFF, 2)]


@settings(max_examples=100, deadline=None)
@given(st.frozensets(st.integers(0, 47), min_size=1))
def test_cn470_masks_round_trip(target: frozenset[int]) -> None:
    for region in (CN470_20A, CN470_26A):
        assert region.apply_link_adr(frozenset({0}), region.link_adr_masks(target)) == target
