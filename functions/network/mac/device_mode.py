"""DeviceModeInd / DeviceModeConf (LoRaWAN 1.1 §5.15): a 1.1 device switches between class A and C; the
session's `device_class` follows (class 1 is RFU: the class stays, and the confirmation says which)."""

from __future__ import annotations

from functions.lorawan.mac_commands import DeviceModeConf, DeviceModeInd, MACCommand
from functions.network.mac.command import DeviceRequest, Uplink
from functions.network.mac.units import Unit, answer
from functions.network.models import DeviceSession


class DeviceMode(DeviceRequest):
    REQUEST = DeviceModeInd
    LORAWAN_1_1_ONLY = True

    def answer(self, command: MACCommand, session: DeviceSession, uplink: Uplink) -> Unit | None:
        assert isinstance(command, DeviceModeInd)
        if command.device_class in (0, 2):
            session.device_class = "C" if command.device_class == 2 else "A"
        return answer(DeviceModeConf(device_class=2 if session.device_class == "C" else 0))


REQUEST = DeviceMode()
