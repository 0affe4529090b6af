"""The ADR step of a data uplink: the history grows by this uplink, and when the ADR bit is set the
decision may ask for a LinkADRReq block (`functions/lorawan/adr.py`, ChirpStack's default algorithm)."""

from __future__ import annotations

from functions.lorawan.adr import ADRInput, UplinkRecord, adr, required_snr_by_data_rate
from functions.lorawan.mac_commands import LinkADRReq, MACCommand
from functions.lorawan.regions import Region
from functions.lorawan.regions.base import LoRaModulation
from functions.network.mac import Unit, adr_paused, enabled_channels
from functions.network.models import DeviceSession, UplinkRecordMap
from functions.network.uplink.context import DataUplink


def run_adr(up: DataUplink) -> None:
    if not up.mac_payload.fhdr.f_ctrl.adr:
        return
    request = link_adr_request(
        up.session, up.region, up.best.snr, up.f_cnt, len(up.frame.receptions), up.busy
    )
    if request is not None:
        up.units.append(request)


def link_adr_request(
    session: DeviceSession, region: Region, max_snr: float, f_cnt: int, gateway_count: int, busy: set[str]
) -> Unit | None:
    """The LinkADRReq block when the history holds 20 uplinks and the decision differs from the session; it
    keeps the channels the device has (a US915 sub-band stays one)."""
    history = list(session.uplink_history or [])[-19:]
    history.append(
        UplinkRecordMap(  # type: ignore[no-untyped-call]
            f_cnt=f_cnt,
            max_snr=max_snr,
            tx_power_index=int(session.tx_power_index),
            gateway_count=gateway_count,
        )
    )
    session.uplink_history = history
    if not session.adr or "LinkADRReq" in session.pending_mac or "LinkADRReq" in busy:
        return None
    if adr_paused(session, f_cnt):
        return None
    factors = {
        i: dr.modulation.spreading_factor
        for i, dr in region.data_rates.items()
        if isinstance(dr.modulation, LoRaModulation)
        and dr.modulation.bandwidth == 125_000
        and i <= region.max_adr_dr
    }
    state = ADRInput(
        history=[UplinkRecord(int(h.f_cnt), float(h.max_snr), int(h.tx_power_index)) for h in history],
        data_rate=int(session.dr),
        tx_power_index=int(session.tx_power_index),
        nb_trans=int(session.nb_trans),
        required_snr=required_snr_by_data_rate(factors),
        max_data_rate=region.max_adr_dr,
        max_tx_power_index=len(region.tx_power_offsets) - 1,
    )
    decision = adr(state)
    if not decision.differs_from(state) or len(history) < 20:
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
    apply = {
        "session": {
            "dr": decision.data_rate,
            "tx_power_index": decision.tx_power_index,
            "nb_trans": decision.nb_trans,
        },
        "state": {"enabled_channels": enabled},
    }
    return Unit("LinkADRReq", commands, apply)
