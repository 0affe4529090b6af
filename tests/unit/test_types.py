"""Identifier types against public NetID/DevAddr vectors (brocaar/lorawan, via ../shared/vectors)."""

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.lorawan.errors import InvalidHex, InvalidLength, LoRaWANError
from functions.lorawan.types import EUI64, AES128Key, DevAddr, NetID

VECTORS = json.loads((Path(__file__).parent.parent / "vectors" / "netid_devaddr.json").read_text())["vectors"]


def _of(kind: str) -> list:
    return [pytest.param(v, id=v["id"]) for v in VECTORS if v["kind"] == kind]


@pytest.mark.parametrize("vector", _of("devaddr"))
def test_devaddr_netid_type_and_nwk_id(vector: dict) -> None:
    dev_addr = DevAddr.parse(vector["devaddr"])
    assert dev_addr.netid_type == vector["expected"]["netid_type"]
    assert dev_addr.nwk_id == int(vector["expected"]["nwkid_hex"], 16)
    assert dev_addr.to_wire().hex() == vector["wire_hex"]
    assert DevAddr.from_wire(bytes.fromhex(vector["wire_hex"])) == dev_addr


@pytest.mark.parametrize("vector", _of("netid"))
def test_netid_type_and_id(vector: dict) -> None:
    net_id = NetID.parse(vector["netid"])
    assert net_id.type == vector["expected"]["type"]
    assert net_id.id == int(vector["expected"]["id_hex"], 16)
    assert net_id.to_wire().hex() == vector["wire_hex"]


@pytest.mark.parametrize("vector", _of("devaddr_set_prefix"))
def test_devaddr_set_prefix(vector: dict) -> None:
    net_id = NetID.parse(vector["netid"])
    dev_addr = DevAddr.parse(vector["devaddr_before"]).with_net_id(net_id)
    assert str(dev_addr) == vector["expected_devaddr"]
    assert dev_addr.is_net_id(net_id)


@given(st.binary(min_size=3, max_size=3), st.binary(min_size=4, max_size=4))
def test_random_devaddr_keeps_prefix_and_nwk_addr(net: bytes, addr: bytes) -> None:
    net_id = NetID(net)
    dev_addr = DevAddr(addr).with_net_id(net_id)
    assert dev_addr.is_net_id(net_id)
    assert dev_addr.netid_type == net_id.type
    assert DevAddr.random(net_id).is_net_id(net_id)


def test_text_form_is_lower_case_big_endian_and_wire_is_reversed() -> None:
    eui = EUI64.parse("70-B3-D5-7E-D0-00-00-01")
    assert str(eui) == "70b3d57ed0000001"
    assert eui.to_wire() == bytes.fromhex("010000d07ed5b370")
    assert EUI64.from_wire(eui.to_wire()) == eui
    assert int(EUI64.from_int(0x0102030405060708)) == 0x0102030405060708


@pytest.mark.parametrize("text", ["", "0102", "zz02030405060708", "010203040506070809"])
def test_bad_text_is_a_clear_lorawan_error(text: str) -> None:
    with pytest.raises(InvalidHex):
        EUI64.parse(text)


def test_wrong_length_is_rejected() -> None:
    with pytest.raises(InvalidLength):
        DevAddr(b"\x01\x02")
    with pytest.raises(LoRaWANError):
        NetID.from_wire(b"\x01")


def test_keys_never_show_in_repr_or_str() -> None:
    key = AES128Key.parse("2b7e151628aed2a6abf7158809cf4f3c")
    assert "2b7e" not in repr(key) and "2b7e" not in str(key) and "2b7e" not in f"{key}"
    assert key.hex() == "2b7e151628aed2a6abf7158809cf4f3c"
    assert key.to_wire() == bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
