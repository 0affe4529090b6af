"""Reading a device's frames or events is watching it: the network server logs its frames, and the
application server its uplinks' events, for the next `frame_log.WATCH_S` seconds."""

from __future__ import annotations

import time

from functions.shared import frame_log
from functions.shared.interface import network_server


def watch_device(dev_eui: str) -> None:
    """The flag on the device's session, which each uplink reads anyway (`NetworkServer.watch_device`);
    a device without a session yet has it on its hour bucket, which its JoinRequest's counter update
    answers (`frame_log.watch`). Either is rewritten only when half used: the web page polls every 2 s."""
    now = time.time()
    if not network_server().watch_device(dev_eui, now=now, seconds=frame_log.WATCH_S):
        frame_log.watch(frame_log.device_subject(dev_eui), now=now)
