"""Realistic receptions of one frame, as the uplink function parses them from what the bridges publish:
Semtech UDP (`rxpk` with `time`, GPS `tmms`, `tmst`) and Basics Station (`updf` with `rxtime`, `gpstime`,
`xtime`/`rctx`), and a gw.UplinkFrame as ChirpStack's own gateway bridge can send it (fine timestamp,
location, metadata)."""

from __future__ import annotations

import base64
from typing import Any

from functions.bridge.basicstation.uplink import uplink_frame
from functions.bridge.convert import uplink_frames
from functions.lorawan.regions import get_region
from functions.network.receptions import Reception, parse_uplink

# An unconfirmed data uplink: DevAddr 44332211, FCnt 1, FPort 1, 12 bytes of payload, MIC.
PHY_PAYLOAD = bytes.fromhex("401122334480010001" + "aa" * 12 + "01020304")
RECEIVED_AT_MS = 1_796_392_800_123
UPLINK_ID = 4_000_000_000  # random 32-bit ids: ten digits in the attribute name, as most are


def _event(frame: dict[str, Any], gateway_id: str) -> dict[str, Any]:
    return frame | {"topic_prefix": "eu868", "topic_gateway_id": gateway_id, "received_at": RECEIVED_AT_MS}


def semtech_udp(gateway_id: str, index: int = 0) -> Reception:
    rxpk = {
        "time": "2026-12-04T14:00:00.123456Z", "tmst": 3_512_348_611 + index, "tmms": 1_448_892_818_123,
        "chan": 2, "rfch": 0, "freq": 868.1, "stat": 1, "modu": "LORA", "datr": "SF7BW125", "codr": "4/5",
        "rssi": -57 - index, "lsnr": 7.5 - index, "size": len(PHY_PAYLOAD),
        "data": base64.b64encode(PHY_PAYLOAD).decode(),
    }  # fmt: skip
    return parse_uplink(_event(uplink_frames(gateway_id, rxpk, uplink_id=UPLINK_ID + index)[0], gateway_id))


def basics_station(gateway_id: str, index: int = 0) -> Reception:
    message = {
        "msgtype": "updf", "MHdr": 0x40, "DevAddr": 0x44332211, "FCtrl": 0x80, "FCnt": 1, "FOpts": "",
        "FPort": 1, "FRMPayload": "aa" * 12, "MIC": 0x04030201, "DR": 5, "Freq": 868_100_000,
        "upinfo": {
            "rctx": 1, "xtime": 68_116_944_405_337_035 + index, "gpstime": 1_448_892_818_123_456,
            "fts": -1, "rssi": -57 - index, "snr": 7.25 - index, "rxtime": 1_796_392_800.123456,
        },
    }  # fmt: skip
    return parse_uplink(
        _event(
            uplink_frame(gateway_id, message, get_region("EU868"), uplink_id=UPLINK_ID + index), gateway_id
        )
    )


def chirpstack_bridge(gateway_id: str, index: int = 0) -> Reception:
    """What ChirpStack Gateway Bridge v4 sends for a gateway with a fine-timestamp board and GPS."""
    rx_info = {
        "gatewayId": gateway_id, "uplinkId": UPLINK_ID + index, "gwTime": "2026-12-04T14:00:00.123456789Z",
        "nsTime": "2026-12-04T14:00:00.150Z", "timeSinceGpsEpoch": "1448892818.123s",
        "fineTimeSinceGpsEpoch": "1448892818.123456789s", "rssi": -57 - index, "snr": 7.5,
        "channel": 2, "rfChain": 1, "board": 1, "antenna": 1,
        "location": {"latitude": 52.3676, "longitude": 4.9041, "altitude": 2.5, "source": "GPS"},
        "context": "AAECAw==", "metadata": {"region_config_id": "eu868", "region_common_name": "EU868"},
        "crcStatus": "CRC_OK",
    }  # fmt: skip
    tx_info = {
        "frequency": 868_100_000,
        "modulation": {"lora": {"bandwidth": 125_000, "spreadingFactor": 7, "codeRate": "CR_4_5"}},
    }
    frame = {"phyPayload": base64.b64encode(PHY_PAYLOAD).decode(), "rxInfo": rx_info, "txInfo": tx_info}
    return parse_uplink(_event(frame, gateway_id))


def gateway_ids(count: int) -> list[str]:
    return [f"0016c001ff10a{index:03x}" for index in range(count)]
