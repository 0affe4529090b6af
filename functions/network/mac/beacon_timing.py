"""BeaconTimingReq (LoRaWAN 1.0.2 §13; deprecated since 1.0.3, DeviceTimeReq replaces it): logged, not
answered."""

from __future__ import annotations

from functions.lorawan.mac_commands import BeaconTimingReq, MACCommand
from functions.network.mac.command import DeviceRequest, Uplink
from functions.network.mac.units import Unit
from functions.network.models import DeviceSession
from functions.network.observability import logger


class BeaconTiming(DeviceRequest):
    REQUEST = BeaconTimingReq

    def answer(self, command: MACCommand, session: DeviceSession, uplink: Uplink) -> Unit | None:
        logger.info("BeaconTimingReq (deprecated since 1.0.3) not answered; DeviceTimeReq replaces it")
        return None


REQUEST = BeaconTiming()
