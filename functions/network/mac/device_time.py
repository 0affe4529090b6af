"""DeviceTimeReq / DeviceTimeAns (LoRaWAN 1.0.4 §5.10): GPS time at the end of the uplink: the gateway's
`timeSinceGpsEpoch`, else the arrival time."""

from __future__ import annotations

from functions.lorawan.mac_commands import DeviceTimeAns, DeviceTimeReq, MACCommand
from functions.network.mac.command import DeviceRequest, Uplink
from functions.network.mac.units import Unit, answer
from functions.network.models import DeviceSession

GPS_EPOCH_UNIX = 315_964_800
GPS_LEAP_SECONDS = 18  # GPS - UTC since 2017-01-01


def gps_seconds(unix_ms: int) -> float:
    return unix_ms / 1000 - GPS_EPOCH_UNIX + GPS_LEAP_SECONDS


class DeviceTime(DeviceRequest):
    REQUEST = DeviceTimeReq

    def answer(self, command: MACCommand, session: DeviceSession, uplink: Uplink) -> Unit | None:
        return answer(DeviceTimeAns.from_gps_time(uplink.gps_time_s))


REQUEST = DeviceTime()
