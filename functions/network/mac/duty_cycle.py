"""DutyCycleReq / DutyCycleAns (LoRaWAN 1.0.4 §5.3): the aggregated duty cycle, 1 / 2^n."""

from __future__ import annotations

from typing import Any

from functions.lorawan.mac_commands import DutyCycleAns, DutyCycleReq
from functions.lorawan.regions import Region
from functions.network.mac.command import Needs, NetworkRequest
from functions.network.mac.units import Unit


class DutyCycle(NetworkRequest):
    NAME = "DutyCycleReq"
    ANSWER = DutyCycleAns
    FIELDS = ("max_duty_cycle",)

    def normalise(self, values: dict[str, Any], region: Region) -> dict[str, Any]:
        DutyCycleReq(max_duty_cycle=values.get("max_duty_cycle", 0))
        return values

    def needed(self, needs: Needs) -> Unit | None:
        wanted = needs.state.desired.max_duty_cycle
        current = needs.state.applied.max_duty_cycle
        if wanted is None or int(wanted) == int(current or 0) or not needs.wanted(self):
            return None
        value = int(wanted)
        return Unit(self.NAME, [DutyCycleReq(max_duty_cycle=value)], {"state": {"max_duty_cycle": value}})


REQUEST = DutyCycle()
