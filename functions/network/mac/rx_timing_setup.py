"""RXTimingSetupReq / RXTimingSetupAns (LoRaWAN 1.0.4 §5.7): the RX1 delay (0 means 1 s). Needed when
the desired delay differs from the session's; the answer is sticky."""

from __future__ import annotations

from typing import Any

from functions.lorawan.mac_commands import RXTimingSetupAns, RXTimingSetupReq
from functions.lorawan.regions import Region
from functions.network.mac.command import Needs, NetworkRequest
from functions.network.mac.units import Unit


class RXTimingSetup(NetworkRequest):
    NAME = "RXTimingSetupReq"
    ANSWER = RXTimingSetupAns
    STICKY = True
    FIELDS = ("rx1_delay",)

    def normalise(self, values: dict[str, Any], region: Region) -> dict[str, Any]:
        RXTimingSetupReq(delay=values.get("rx1_delay", 0))
        return values

    def needed(self, needs: Needs) -> Unit | None:
        delay = needs.state.desired.rx1_delay
        if delay is None or max(1, int(delay)) == int(needs.session.rx1_delay) or not needs.wanted(self):
            return None
        command = RXTimingSetupReq(delay=int(delay))
        return Unit(self.NAME, [command], {"session": {"rx1_delay": command.rx1_delay_seconds}})


REQUEST = RXTimingSetup()
