"""TxParamSetupReq / TxParamSetupAns (LoRaWAN 1.0.4 §5.12): dwell times and the maximum EIRP, only where
the region defines the command (AS923, ...); elsewhere it is refused once, with a log line."""

from __future__ import annotations

from typing import Any

from functions.lorawan.mac_commands import TxParamSetupAns, TxParamSetupReq
from functions.lorawan.regions import Region
from functions.network.mac.command import Needs, NetworkRequest
from functions.network.mac.state import Failure
from functions.network.mac.units import Unit
from functions.network.observability import logger

KEYS = ("uplink_dwell_time", "downlink_dwell_time", "max_eirp")


class TxParamSetup(NetworkRequest):
    NAME = "TxParamSetupReq"
    ANSWER = TxParamSetupAns
    FIELDS = KEYS  # max_eirp: an index into TxParamSetupReq.MAX_EIRP_DBM

    def normalise(self, values: dict[str, Any], region: Region) -> dict[str, Any]:
        TxParamSetupReq(
            downlink_dwell_time=values.get("downlink_dwell_time", False),
            uplink_dwell_time=values.get("uplink_dwell_time", False),
            max_eirp=values.get("max_eirp", 0),
        )
        return values

    def needed(self, needs: Needs) -> Unit | None:
        desired, applied, region = needs.state.desired, needs.state.applied, needs.region
        if all(getattr(desired, k) is None for k in KEYS):
            return None
        defaults = {"uplink_dwell_time": region.uplink_dwell_time_default, "downlink_dwell_time": False}
        now = {k: getattr(applied, k) if getattr(applied, k) is not None else defaults.get(k) for k in KEYS}
        want = {k: getattr(desired, k) if getattr(desired, k) is not None else now[k] for k in KEYS}
        if want["max_eirp"] is None:
            want["max_eirp"] = 15  # the region's MaxEIRP is the highest TxParamSetupReq step it allows
        if want == now or not needs.wanted(self):
            return None
        if not region.supports_tx_param_setup:
            needs.state.failed[self.NAME] = Failure(f"not in {region.name}", needs.f_cnt)
            logger.warning("TxParamSetupReq is not defined in this region", extra={"region": region.name})
            return None
        command = TxParamSetupReq(
            downlink_dwell_time=bool(want["downlink_dwell_time"]),
            uplink_dwell_time=bool(want["uplink_dwell_time"]),
            max_eirp=int(want["max_eirp"] or 0),
        )
        return Unit(self.NAME, [command], {"state": want})


REQUEST = TxParamSetup()
