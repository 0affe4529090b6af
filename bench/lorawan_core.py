"""Protocol-core throughput, Loraless against lora-packet (npm) on the same frames in the same run.

    python -m bench.lorawan_core [--iterations N]

Uplink: decode a typical LoRaWAN 1.0.3 unconfirmed uplink (12-byte payload, one MAC command in FOpts),
check its MIC and decrypt its FRMPayload. Join: decode and MIC-check a JoinRequest, derive 1.0 and 1.1
session keys, build and encrypt the JoinAccept. lora-packet is timed inside node (no process start-up
in its figure); both loops do the same work per operation.
"""

from __future__ import annotations

import argparse
import time

from functions.lorawan import security
from functions.lorawan.fhdr import FHDR, FCtrl
from functions.lorawan.join import DLSettings, JoinAccept, JoinRequest
from functions.lorawan.keys import session_keys_1_0, session_keys_1_1
from functions.lorawan.phypayload import MHDR, MType, PHYPayload
from functions.lorawan.types import EUI64, AES128Key, DevAddr, NetID
from tests.oracles import lora_packet

NWK_S_KEY = AES128Key.parse("44024241ed4ce9a68c6a8bc055233fd3")
APP_S_KEY = AES128Key.parse("ec925802ae430ca77fd3dd73cb2cc588")
APP_KEY = AES128Key.parse("98929b92c49edba9676d646d3b612456")
NET_ID = NetID.parse("000013")
JOIN_NONCE = 0x010203


def typical_uplink() -> bytes:
    fhdr = FHDR(DevAddr.parse("26011bda"), FCtrl(adr=True), 4242, bytes.fromhex("06ff07"))  # DevStatusAns
    phy = security.data_frame(MType.UnconfirmedDataUp, fhdr, f_port=2, frm_payload=bytes(range(12)))
    phy = security.encrypt_data_frame(
        phy, f_cnt=4242, app_s_key=APP_S_KEY, nwk_s_enc_key=NWK_S_KEY, lorawan_1_1=False
    )
    return phy.with_mic(security.data_mic_1_0(phy, NWK_S_KEY, 4242)).to_bytes()


def join_request() -> bytes:
    phy = PHYPayload(
        MHDR(MType.JoinRequest),
        JoinRequest(EUI64.parse("70b3d57ed0000001"), EUI64.parse("0004a30b001c0530"), 0x1234),
    )
    return phy.with_mic(security.join_request_mic(phy, APP_KEY)).to_bytes()


def loraless_uplink(frame: bytes, iterations: int) -> float:
    start = time.perf_counter()
    for _ in range(iterations):
        phy = PHYPayload.from_bytes(frame)
        f_cnt = phy.mac_payload.fhdr.f_cnt
        security.verify(security.data_mic_1_0(phy, NWK_S_KEY, f_cnt), phy.mic)
        security.decrypt_frm_payload(phy, APP_S_KEY, f_cnt)
    return time.perf_counter() - start


def loraless_join(frame: bytes, iterations: int) -> float:
    start = time.perf_counter()
    for _ in range(iterations):
        phy = PHYPayload.from_bytes(frame)
        security.verify(security.join_request_mic(phy, APP_KEY), phy.mic)
        request = phy.payload
        assert isinstance(request, JoinRequest)
        session_keys_1_0(APP_KEY, JOIN_NONCE, NET_ID, request.dev_nonce)
        session_keys_1_1(APP_KEY, APP_KEY, JOIN_NONCE, request.join_eui, request.dev_nonce)
        accept = JoinAccept(JOIN_NONCE, NET_ID, DevAddr.parse("26011bda"), DLSettings(), 5)
        security.seal_join_accept(accept, encryption_key=APP_KEY, mic_key=APP_KEY).to_bytes()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20000)
    n = parser.parse_args().iterations
    uplink, join = typical_uplink(), join_request()
    ours_up, ours_join = loraless_uplink(uplink, n), loraless_join(join, n)
    print(f"{'operation':<44}{'Loraless ops/s':>16}{'lora-packet ops/s':>20}{'ratio':>8}")
    theirs_up = theirs_join = None
    if lora_packet.available():
        (result,) = lora_packet.run([{
            "op": "time", "phy": uplink.hex(), "nwk_s_key": NWK_S_KEY.hex(), "app_s_key": APP_S_KEY.hex(),
            "join_request": join.hex(), "app_key": APP_KEY.hex(), "iterations": n,
        }], timeout_s=600)  # fmt: skip
        timing = result["ok"]
        theirs_up, theirs_join = timing["uplink_ns"] / 1e9, timing["join_ns"] / 1e9
    for name, ours, theirs in (
        ("uplink: decode + MIC check + decrypt", ours_up, theirs_up),
        ("join: MIC + 1.0/1.1 keys + JoinAccept", ours_join, theirs_join),
    ):
        ours_rate = n / ours
        if theirs is None:
            print(f"{name:<44}{ours_rate:>16,.0f}{'(node missing)':>20}")
        else:
            theirs_rate = n / theirs
            print(f"{name:<44}{ours_rate:>16,.0f}{theirs_rate:>20,.0f}{ours_rate / theirs_rate:>7.2f}x")
    print(f"({n} iterations each; lora-packet timed inside node, same frames)")


if __name__ == "__main__":
    main()
