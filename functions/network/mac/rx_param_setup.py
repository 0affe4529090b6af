"""RXParamSetupReq / RXParamSetupAns (LoRaWAN 1.0.4 §5.4): RX1 data-rate offset, RX2 data rate and
frequency. Needed when the desired values differ from the session's; the answer is sticky (the device
repeats it until it hears a downlink)."""

from __future__ import annotations

from typing import Any

from functions.lorawan.mac_commands import RXParamSetupAns, RXParamSetupReq
from functions.lorawan.regions import Region
from functions.network.mac.command import Needs, NetworkRequest
from functions.network.mac.units import Unit


class RXParamSetup(NetworkRequest):
    NAME = "RXParamSetupReq"
    ANSWER = RXParamSetupAns
    STICKY = True
    FIELDS = ("rx1_dr_offset", "rx2_dr", "rx2_frequency")

    def normalise(self, values: dict[str, Any], region: Region) -> dict[str, Any]:
        RXParamSetupReq(
            rx1_dr_offset=values.get("rx1_dr_offset", 0),
            rx2_data_rate=values.get("rx2_dr", 0),
            frequency=values.get("rx2_frequency", 0),
        )
        if "rx2_dr" in values:
            region.data_rate(values["rx2_dr"])
        return values

    def needed(self, needs: Needs) -> Unit | None:
        session, desired = needs.session, needs.state.desired
        now = (
            int(session.rx1_dr_offset),
            int(session.rx2_dr),
            int(session.rx2_frequency) or needs.region.rx2.frequency,
        )
        want = (
            now[0] if desired.rx1_dr_offset is None else int(desired.rx1_dr_offset),
            now[1] if desired.rx2_dr is None else int(desired.rx2_dr),
            now[2] if desired.rx2_frequency is None else int(desired.rx2_frequency),
        )
        if want == now or not needs.wanted(self):
            return None
        command = RXParamSetupReq(rx1_dr_offset=want[0], rx2_data_rate=want[1], frequency=want[2])
        values = {"rx1_dr_offset": want[0], "rx2_dr": want[1], "rx2_frequency": want[2]}
        return Unit(self.NAME, [command], {"session": values})


REQUEST = RXParamSetup()
