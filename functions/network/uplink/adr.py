"""The ADR step of a data uplink: the history grows by this uplink, and when the ADR bit is set the
decision may ask for a LinkADRReq block (`functions/network/mac/link_adr.py`)."""

from __future__ import annotations

from functions.network.mac import link_adr
from functions.network.mac.command import Needs
from functions.network.uplink.context import DataUplink


def run_adr(up: DataUplink) -> None:
    if not up.mac_payload.fhdr.f_ctrl.adr:
        return
    link_adr.REQUEST.record(
        up.session, f_cnt=up.f_cnt, max_snr=up.best.snr, gateway_count=len(up.frame.receptions)
    )
    request = link_adr.REQUEST.needed(Needs(up.session, up.region, up.f_cnt, up.now, up.busy))
    if request is not None:
        up.units.append(request)
