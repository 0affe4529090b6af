"""ResetInd / ResetConf (LoRaWAN 1.1 §5.1): an ABP device reset; its MAC state returns to the defaults
(pending requests, what it acknowledged, refusals), the frame counters stay."""

from __future__ import annotations

from functions.lorawan.mac_commands import MACCommand, ResetConf, ResetInd
from functions.network.mac.command import DeviceRequest, Uplink
from functions.network.mac.state import Applied
from functions.network.mac.units import Unit, answer
from functions.network.models import DeviceSession


class Reset(DeviceRequest):
    REQUEST = ResetInd
    LORAWAN_1_1_ONLY = True

    def answer(self, command: MACCommand, session: DeviceSession, uplink: Uplink) -> Unit | None:
        session.pending_mac = {}
        session.mac_state.applied = Applied()
        session.mac_state.failed = {}
        return answer(ResetConf(minor=1))


REQUEST = Reset()
