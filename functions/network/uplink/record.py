"""The frame log's steps (functions/network/frame_recording.py): an accepted data uplink or join with
every gateway's reception and the downlink that answered it, and a rejected frame with its reason. They
run last, after the downlink went out, so logging never delays RX1; nobody watching costs one counter
update per device and gateway."""

from __future__ import annotations

import base64

from functions.lorawan.mac_commands import encode_mac_commands
from functions.network.frame_recording import SentDownlink, record_rejected, record_uplink
from functions.network.uplink.context import DataUplink, Frame

# Outcomes that reject a frame (README steps 2-5): logged for its gateways, and its device if known.
REJECTIONS = frozenset(
    {
        "invalid_frame",
        "too_large",
        "unknown_dev_addr",
        "mic_failure",
        "replay",
        "disabled",
        "join_rejected",
        "rejoin_rejected",
    }
)


def _sent(frame: Frame, mac_commands: bytes = b"") -> SentDownlink | None:
    if frame.sent is None:
        return None
    phy_payload = base64.b64decode(frame.sent["items"][0]["phyPayload"])
    return SentDownlink(phy_payload, frame.sent, frame.region, mac_commands)


def record_data(up: DataUplink) -> None:
    """The uplink (its MAC commands in clear, as read), the downlink with its MAC commands and windows;
    the answer says whether someone watches the device (then its events go to its event log)."""
    downlink_commands = encode_mac_commands([command for unit in up.included for command in unit.commands])
    frame = up.frame
    up.watched = record_uplink(
        dev_eui=up.session.dev_eui,
        phy_payload=frame.reception.phy_payload,
        receptions=frame.receptions,
        f_cnt=up.f_cnt,
        mac_commands=encode_mac_commands(up.commands),
        downlink=_sent(frame, downlink_commands),
        deduplication_id=frame.deduplication_id,
    )


def record_join(frame: Frame) -> None:
    """The JoinRequest and its JoinAccept (encrypted: the log shows it as sent)."""
    assert frame.dev_eui is not None
    record_uplink(
        dev_eui=frame.dev_eui,
        phy_payload=frame.reception.phy_payload,
        receptions=frame.receptions,
        join=True,
        downlink=_sent(frame),
        deduplication_id=frame.deduplication_id,
    )


def record_rejection(frame: Frame, outcome: str) -> None:
    """A frame the pipeline rejected after de-duplication: each gateway that heard it logs the reason;
    so does the device when it is known (a replay, a disabled device, a join the join server refused)."""
    if outcome in REJECTIONS and frame.receptions:
        record_rejected(
            reason=outcome,
            phy_payload=frame.reception.phy_payload,
            receptions=frame.receptions,
            dev_eui=frame.dev_eui,
        )
