"""DevStatusReq / DevStatusAns (LoRaWAN 1.0.4 §5.5): battery and demodulation margin, on a schedule.

Needed every `dev_status_every_s` seconds (default DEV_STATUS_INTERVAL_S, one day) and/or every
`dev_status_every_uplinks` uplinks (default DEV_STATUS_EVERY_UPLINKS, off) counted from the last one
sent (or the join), or once at the next uplink with `dev_status_now`. The answer becomes the session's
`battery`/`margin` and a `status` event.
"""

from __future__ import annotations

import os
from typing import Any

from functions.lorawan.mac_commands import DevStatusAns, DevStatusReq, MACCommand
from functions.network.mac.command import Needs, NetworkRequest
from functions.network.mac.state import DevStatusSent
from functions.network.mac.units import Unit, UplinkMAC
from functions.network.models import DeviceSession
from functions.network.observability import Count

DEV_STATUS_EVERY_S = int(os.environ.get("DEV_STATUS_INTERVAL_S", "86400"))
DEV_STATUS_EVERY_UPLINKS = int(os.environ.get("DEV_STATUS_EVERY_UPLINKS", "0"))


class DevStatus(NetworkRequest):
    NAME = "DevStatusReq"
    ANSWER = DevStatusAns
    FIELDS = ("dev_status_every_uplinks", "dev_status_every_s", "dev_status_now")

    def needed(self, needs: Needs) -> Unit | None:
        if self.NAME in needs.session.pending_mac or self.NAME in needs.busy or not self._due(needs):
            return None
        return Unit(self.NAME, [DevStatusReq()], {})

    def _due(self, needs: Needs) -> bool:
        desired = needs.state.desired
        if desired.dev_status_now:
            return True
        last = needs.state.dev_status
        every_uplinks = desired.dev_status_every_uplinks
        every_uplinks = DEV_STATUS_EVERY_UPLINKS if every_uplinks is None else int(every_uplinks)
        every_s = (
            DEV_STATUS_EVERY_S if desired.dev_status_every_s is None else int(desired.dev_status_every_s)
        )
        if every_uplinks and needs.f_cnt - (last.f_cnt if last else 0) >= every_uplinks:
            return True
        return bool(every_s and needs.now - (last.at if last else needs.now) >= every_s)

    def sent(self, session: DeviceSession, *, f_cnt: int, now: float) -> None:
        session.mac_state.dev_status = DevStatusSent(f_cnt, int(now))
        session.mac_state.desired.dev_status_now = None

    def answered(
        self,
        session: DeviceSession,
        entry: dict[str, Any],
        answers: list[MACCommand],
        result: UplinkMAC,
        count: Count,
        f_cnt: int,
    ) -> bool:
        answer = answers[0]
        assert isinstance(answer, DevStatusAns)
        session.battery, session.margin = answer.battery, answer.margin
        result.status = {"battery": answer.battery, "margin": answer.margin}
        return True


REQUEST = DevStatus()
