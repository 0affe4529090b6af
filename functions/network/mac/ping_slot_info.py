"""PingSlotInfoReq / PingSlotInfoAns (LoRaWAN 1.0.4 §12.1): a class B device's ping-slot periodicity,
kept in the MAC state (beacons and ping-slot downlinks are not scheduled yet)."""

from __future__ import annotations

from functions.lorawan.mac_commands import MACCommand, PingSlotInfoAns, PingSlotInfoReq
from functions.network.mac.command import DeviceRequest, Uplink
from functions.network.mac.units import Unit, answer
from functions.network.models import DeviceSession


class PingSlotInfo(DeviceRequest):
    REQUEST = PingSlotInfoReq

    def answer(self, command: MACCommand, session: DeviceSession, uplink: Uplink) -> Unit | None:
        assert isinstance(command, PingSlotInfoReq)
        session.mac_state.ping_slot_periodicity = command.periodicity
        return answer(PingSlotInfoAns())


REQUEST = PingSlotInfo()
