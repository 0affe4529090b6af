"""Gateway receptions for the network-server benchmark, made the way the uplink Lambda gets them: a
ChirpStack v4 `gw.UplinkFrame` (JSON) with the IoT rule's topic fields, parsed by the handler's own
`parse_uplink`."""

from __future__ import annotations

import base64
import random
import time
from typing import Any

from functions.network.receptions import Reception, parse_uplink


def uplink_event(
    frame: bytes, *, gateway_id: str = "0016c001ff10a235", snr: float = 7.0, frequency: int = 868_100_000
) -> dict[str, Any]:
    """One gateway's reception of `frame` at SF7BW125 (EU868 DR5), as the rule hands it to the Lambda."""
    tmst = random.randrange(1 << 32)
    return {
        "phyPayload": base64.b64encode(frame).decode(),
        "txInfo": {
            "frequency": frequency,
            "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 7}},
        },
        "rxInfo": {
            "gatewayId": gateway_id,
            "uplinkId": random.randrange(1 << 32),
            "rssi": -60,
            "snr": snr,
            "context": base64.b64encode(tmst.to_bytes(4, "big")).decode(),
            "crcStatus": "CRC_OK",
        },
        "topic_prefix": "eu868",
        "topic_gateway_id": gateway_id,
        "received_at": int(time.time() * 1000),  # arriving now: the downlink meets its RX windows
    }


def reception(frame: bytes) -> Reception:
    return parse_uplink(uplink_event(frame))
