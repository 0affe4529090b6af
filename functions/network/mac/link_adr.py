"""LinkADRReq / LinkADRAns (LoRaWAN 1.0.4 §5.3): data rate, TX power, NbTrans and channel mask.

Needed when the ADR bit is set, the history holds 20 uplinks and ChirpStack's default algorithm
(`functions/lorawan/adr.py`) decides differently from the session. Fitted as one unit: a block of
requests (one per channel-mask control) that keeps the channels the device has (a US915 sub-band stays
one), answered once per request. An acknowledgement applies the block and clears the history (SNRs at
the old settings say nothing about the new ones); a refusal pauses ADR for 20 uplinks.
"""

from __future__ import annotations

from typing import Any

from functions.lorawan.adr import HISTORY_LENGTH, ADRInput, UplinkRecord, adr, required_snr_by_data_rate
from functions.lorawan.mac_commands import LinkADRAns, LinkADRReq, MACCommand
from functions.lorawan.regions.base import LoRaModulation
from functions.network.mac.channels import enabled_channels
from functions.network.mac.command import Needs, NetworkRequest
from functions.network.mac.units import Unit, UplinkMAC
from functions.network.models import DeviceSession
from functions.network.observability import Count


class LinkADR(NetworkRequest):
    NAME = "LinkADRReq"
    ANSWER = LinkADRAns

    def record(self, session: DeviceSession, *, f_cnt: int, max_snr: float, gateway_count: int) -> None:
        """This uplink joins the history ADR decides on (the last 20)."""
        history = list(session.uplink_history or [])[-(HISTORY_LENGTH - 1) :]
        history.append(UplinkRecord(f_cnt, max_snr, int(session.tx_power_index), gateway_count))
        session.uplink_history = history

    def needed(self, needs: Needs) -> Unit | None:
        session, region = needs.session, needs.region
        if not session.adr or self.NAME in session.pending_mac or self.NAME in needs.busy:
            return None
        if paused(session, needs.f_cnt):
            return None
        history = list(session.uplink_history or [])
        factors = {
            i: dr.modulation.spreading_factor
            for i, dr in region.data_rates.items()
            if isinstance(dr.modulation, LoRaModulation)
            and dr.modulation.bandwidth == 125_000
            and i <= region.max_adr_dr
        }
        state = ADRInput(
            history=history,
            data_rate=int(session.dr),
            tx_power_index=int(session.tx_power_index),
            nb_trans=int(session.nb_trans),
            required_snr=required_snr_by_data_rate(factors),
            max_data_rate=region.max_adr_dr,
            max_tx_power_index=len(region.tx_power_offsets) - 1,
        )
        decision = adr(state)
        if not decision.differs_from(state) or len(history) < HISTORY_LENGTH:
            return None
        enabled = enabled_channels(session, region)
        commands: list[MACCommand] = [
            LinkADRReq(
                data_rate=decision.data_rate,
                tx_power=decision.tx_power_index,
                ch_mask=ch_mask,
                ch_mask_cntl=ch_mask_cntl,
                nb_trans=decision.nb_trans,
            )
            for ch_mask, ch_mask_cntl in region.link_adr_masks(enabled)
        ]
        values = {
            "dr": decision.data_rate,
            "tx_power_index": decision.tx_power_index,
            "nb_trans": decision.nb_trans,
        }
        return Unit(self.NAME, commands, {"session": values, "state": {"enabled_channels": enabled}})

    def answered(
        self,
        session: DeviceSession,
        entry: dict[str, Any],
        answers: list[MACCommand],
        result: UplinkMAC,
        count: Count,
        f_cnt: int,
    ) -> bool:
        if not super().answered(session, entry, answers, result, count, f_cnt):
            return False
        session.uplink_history = []
        return True


def paused(session: DeviceSession, f_cnt: int) -> bool:
    """After a refused or unanswered LinkADRReq, ADR waits for a new history before asking again."""
    failed = session.mac_state.failed
    failure = failed.get(LinkADR.NAME)
    if failure is None:
        return False
    if f_cnt - failure.f_cnt >= HISTORY_LENGTH:
        del failed[LinkADR.NAME]
        return False
    return True


REQUEST = LinkADR()
