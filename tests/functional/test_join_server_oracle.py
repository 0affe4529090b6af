"""The join server's answers checked by a third party: for random LoRaWAN 1.0.3 devices the JoinAccept it
makes is decrypted and its MIC verified by lora-packet (npm) with the device's AppKey, its fields are what
the network server asked for, and the session keys lora-packet derives from them are the ones the join
server gave the network server (NwkSKey) and kept for the application (AppSKey)."""

from __future__ import annotations

import random

import pytest

from functions.appserver.join_server import handle_join
from functions.appserver.models import Device
from functions.lorawan.device import otaa
from functions.lorawan.join import DLSettings
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64, AES128Key
from functions.shared import envelope
from functions.shared.interface import JoinReq
from tests.oracles import lora_packet

CF_LIST = "184f84e85684b85e84886684586e8400"  # EU868: 867.1-867.9 MHz, CFListType 0


@pytest.mark.oracle
@pytest.mark.skipif(not lora_packet.available(), reason="lora-packet not installed (scripts/setup.sh)")
def test_join_answers_agree_with_lora_packet(dynamodb: str) -> None:
    rng = random.Random(5)
    cases = []
    for n in range(30):
        app_key = AES128Key(rng.randbytes(16))
        dev_eui, join_eui = EUI64(rng.randbytes(8)), EUI64(rng.randbytes(8))
        roots = envelope.seal({"app_key": app_key.hex()}, context=str(dev_eui))
        Device(str(dev_eui), join_eui=str(join_eui), mac_version="1.0.3", root_keys=roots).save()
        device = otaa(dev_eui, join_eui, get_region("EU868"), app_key=app_key, seed=n)
        device.dev_nonce = rng.randrange(0x10000)
        dev_nonce = device.dev_nonce
        request = device.join_request()
        dev_addr = f"{rng.randrange(1 << 25):08x}"  # NetID 000000: NwkID 0, any NwkAddr
        dl_settings = DLSettings(rx1_dr_offset=rng.randrange(6), rx2_dr=rng.randrange(8)).to_byte()
        rx_delay = rng.randrange(1, 16)
        fields = (request.phy_payload.hex(), str(dev_eui), dev_addr, dl_settings, rx_delay, CF_LIST)
        answer = handle_join(JoinReq("000000", str(join_eui), n, "1.0.3", *fields))
        assert answer.result_code == "Success" and answer.phy_payload, answer.description
        sealed = Device.get(str(dev_eui)).app_s_key
        assert sealed is not None
        app_s_key = envelope.open_sealed(sealed, context=str(dev_eui))["app_s_key"]
        op = {"op": "join_accept_check", "phy": answer.phy_payload, "app_key": app_key.hex(),
              "dev_nonce": f"{dev_nonce:04x}"}  # fmt: skip
        expected = {"mic_ok": True, "net_id": "000000", "dev_addr": dev_addr,
                    "dl_settings": f"{dl_settings:02x}", "rx_delay": f"{rx_delay:02x}", "cf_list": CF_LIST,
                    "app_s_key": app_s_key, "nwk_s_key": answer.network_keys["NwkSKey"]}  # fmt: skip
        cases.append((op, expected))
    results = lora_packet.run([op for op, _ in cases])
    for (_, expected), result in zip(cases, results, strict=True):
        assert "ok" in result, result
        got = result["ok"]
        assert {k: got[k] for k in expected} == expected
        assert len(got["join_nonce"]) == 6
    # Each device's JoinNonce is its own counter: the first accept of every device used the same value.
    assert len({r["ok"]["join_nonce"] for r in results}) == 1
