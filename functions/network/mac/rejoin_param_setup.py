"""RejoinParamSetupReq / RejoinParamSetupAns (LoRaWAN 1.1 §5.14): a type 0 rejoin every 2^(n+10) s or
every 2^(n+4) uplinks; LoRaWAN 1.1 only."""

from __future__ import annotations

from typing import Any

from functions.lorawan.mac_commands import RejoinParamSetupAns, RejoinParamSetupReq
from functions.lorawan.regions import Region
from functions.network.mac.command import Needs, NetworkRequest
from functions.network.mac.units import Unit


class RejoinParamSetup(NetworkRequest):
    NAME = "RejoinParamSetupReq"
    ANSWER = RejoinParamSetupAns
    FIELDS = ("rejoin_max_time_n", "rejoin_max_count_n")
    LORAWAN_1_1_ONLY = True

    def normalise(self, values: dict[str, Any], region: Region) -> dict[str, Any]:
        RejoinParamSetupReq(
            max_time_n=values.get("rejoin_max_time_n", 0), max_count_n=values.get("rejoin_max_count_n", 0)
        )
        return values

    def needed(self, needs: Needs) -> Unit | None:
        desired, applied = needs.state.desired, needs.state.applied
        if all(getattr(desired, k) is None for k in self.FIELDS):
            return None
        now = {k: getattr(applied, k) for k in self.FIELDS}

        def target(k: str) -> int:
            value = getattr(desired, k)
            if value is None:
                value = getattr(applied, k)
            return int(value if value is not None else 15)

        want = {k: target(k) for k in self.FIELDS}
        if want == now or not needs.wanted(self):
            return None
        command = RejoinParamSetupReq(
            max_time_n=want["rejoin_max_time_n"], max_count_n=want["rejoin_max_count_n"]
        )
        return Unit(self.NAME, [command], {"state": dict(want)})


REQUEST = RejoinParamSetup()
