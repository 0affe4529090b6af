"""RekeyInd / RekeyConf (LoRaWAN 1.1 §5.11): a 1.1 device confirms its new session keys."""

from __future__ import annotations

from functions.lorawan.mac_commands import MACCommand, RekeyConf, RekeyInd
from functions.network.mac.command import DeviceRequest, Uplink
from functions.network.mac.units import Unit, answer
from functions.network.models import DeviceSession


class Rekey(DeviceRequest):
    REQUEST = RekeyInd
    LORAWAN_1_1_ONLY = True

    def answer(self, command: MACCommand, session: DeviceSession, uplink: Uplink) -> Unit | None:
        return answer(RekeyConf(minor=1))


REQUEST = Rekey()
