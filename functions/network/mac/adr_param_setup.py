"""ADRParamSetupReq / ADRParamSetupAns (LoRaWAN 1.1 §5.13): ADR_ACK_LIMIT = 2^limit_exp and
ADR_ACK_DELAY = 2^delay_exp; LoRaWAN 1.1 only."""

from __future__ import annotations

from typing import Any

from functions.lorawan.mac_commands import ADRParamSetupAns, ADRParamSetupReq
from functions.lorawan.regions import Region
from functions.network.mac.command import Needs, NetworkRequest
from functions.network.mac.units import Unit

DEFAULTS = {"adr_ack_limit_exp": 6, "adr_ack_delay_exp": 5}  # 64 and 32 (RP002 default settings)


class ADRParamSetup(NetworkRequest):
    NAME = "ADRParamSetupReq"
    ANSWER = ADRParamSetupAns
    FIELDS = ("adr_ack_limit_exp", "adr_ack_delay_exp")
    LORAWAN_1_1_ONLY = True

    def normalise(self, values: dict[str, Any], region: Region) -> dict[str, Any]:
        ADRParamSetupReq(
            limit_exp=values.get("adr_ack_limit_exp", 0), delay_exp=values.get("adr_ack_delay_exp", 0)
        )
        return values

    def needed(self, needs: Needs) -> Unit | None:
        desired, applied = needs.state.desired, needs.state.applied
        if all(getattr(desired, k) is None for k in self.FIELDS):
            return None
        now = {
            k: getattr(applied, k) if getattr(applied, k) is not None else DEFAULTS[k] for k in self.FIELDS
        }
        want = {
            k: int(getattr(desired, k)) if getattr(desired, k) is not None else now[k] for k in self.FIELDS
        }
        if want == now or not needs.wanted(self):
            return None
        command = ADRParamSetupReq(limit_exp=want["adr_ack_limit_exp"], delay_exp=want["adr_ack_delay_exp"])
        return Unit(self.NAME, [command], {"state": dict(want)})


REQUEST = ADRParamSetup()
