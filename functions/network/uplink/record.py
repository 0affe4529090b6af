"""The frame log's steps (functions/network/frame_recording.py): an accepted data uplink or join with
every gateway's reception and the downlink that answered it, and a rejected frame with its reason. They
run last, after the downlink went out, so logging never delays RX1. A data uplink nobody watches writes
nothing here (its counters rode on the session save, `hour.py`); a join or a rejected frame one counter
update for its device."""

from __future__ import annotations

import base64
import time

from functions.lorawan.mac_commands import encode_mac_commands
from functions.network import service
from functions.network.frame_recording import SentDownlink, record_rejected, record_uplink
from functions.network.models import DeviceSession
from functions.network.uplink import hour
from functions.network.uplink.context import DataUplink, Frame
from functions.shared import frame_log

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
    """The uplink (its MAC commands in clear, as read), the downlink with its MAC commands and windows,
    logged while the session says someone watches the device (then its events go to its event log too).
    Its counters are in the session (`hour.count_in_session`); a downlink counted there that no window
    took after all (`send_downlink`) is taken back from the same hour's bucket."""
    downlink_commands = encode_mac_commands([command for unit in up.included for command in unit.commands])
    frame = up.frame
    session = up.session
    if up.built is not None and frame.sent is None and session.hour_counters is not None:
        frame_log.add(frame_log.device_subject(session.dev_eui), {"down": -1}, now=session.hour_counters.hour)
    up.watched = record_uplink(
        dev_eui=up.session.dev_eui,
        phy_payload=frame.reception.phy_payload,
        receptions=frame.receptions,
        f_cnt=up.f_cnt,
        mac_commands=encode_mac_commands(up.commands),
        downlink=_sent(frame, downlink_commands),
        deduplication_id=frame.deduplication_id,
        counted=True,
        watched=hour.watched(up),
    )


def record_join(frame: Frame, old: DeviceSession | None = None) -> None:
    """The JoinRequest and its JoinAccept (encrypted: the log shows it as sent), counted in the device's
    hour bucket; logged while its bucket's flag (no session yet) or the replaced session's says someone
    watches. The new session carries the old one's flag (`models.carried_over`); a device watched before
    it had a session gets the flag on its new session here, so its first uplinks are logged too."""
    assert frame.dev_eui is not None
    now = time.time()
    watch_until = float(old.watch_until or 0) if old is not None else 0.0
    watched = record_uplink(
        dev_eui=frame.dev_eui,
        phy_payload=frame.reception.phy_payload,
        receptions=frame.receptions,
        join=True,
        downlink=_sent(frame),
        deduplication_id=frame.deduplication_id,
        watched=watch_until > now,
    )
    if watched and watch_until <= now:
        service.watch_device(frame.dev_eui, now=now, seconds=frame_log.WATCH_S)


def record_rejection(frame: Frame, outcome: str) -> None:
    """A frame the pipeline rejected after de-duplication: each gateway that heard it logs the reason;
    so does the device when it is known (a replay, a disabled device, a join the join server refused)."""
    if outcome in REJECTIONS and frame.receptions:
        record_rejected(
            reason=outcome,
            phy_payload=frame.reception.phy_payload,
            receptions=frame.receptions,
            dev_eui=frame.dev_eui,
            watched=frame.watch_until > time.time(),
        )
