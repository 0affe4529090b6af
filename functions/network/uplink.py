"""The uplink pipeline: one gateway reception in; after de-duplication, the frame is a JoinRequest
(the join server decides, a session is created, the JoinAccept goes out in the join-accept windows) or
a data uplink (session by DevAddr and MIC, counters, MAC commands, ADR, ACK, event to the application
server, downlink in RX1/RX2). Every rejection is counted by name and changes no state.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import PutError

from functions.lorawan import security
from functions.lorawan.adr import ADRInput, UplinkRecord, adr, required_snr_by_data_rate
from functions.lorawan.errors import FrameCounterReplay, LoRaWANError
from functions.lorawan.fcnt import check_f_cnt, full_f_cnt
from functions.lorawan.join import DLSettings, JoinRequest
from functions.lorawan.mac_commands import LinkADRReq, MACCommand, decode_mac_commands, encode_mac_commands
from functions.lorawan.phypayload import MType, PHYPayload
from functions.lorawan.regions import Region
from functions.lorawan.regions.base import LoRaModulation
from functions.lorawan.types import AES128Key, DevAddr, NetID
from functions.network.dedup import collect
from functions.network.events import Reception, region_for_prefix
from functions.network.frames import BuiltDownlink, build_downlink
from functions.network.mac import handle_uplink_commands
from functions.network.scheduling import RxParameters, best_reception, class_a_downlink, command_topic
from functions.shared import aws, envelope, queue
from functions.shared.interface import JoinAns, JoinReq, NetworkEvent
from functions.shared.models import Device, DeviceSession, PendingDownlink, UplinkRecordMap
from functions.shared.queue import QueuedDownlink
from functions.shared.settings import SETTINGS

log = logging.getLogger("loraless.network")
Count = Callable[[str], None]
MAX_F_OPTS = 15


@dataclass
class Pipeline:
    """The outside world of the pipeline, replaceable in tests: counting, publishing, invoking."""

    count: Count
    publish: Callable[[str, dict[str, object]], None] = aws.publish
    invoke: Callable[..., dict[str, object] | None] = aws.invoke
    window_s: float = SETTINGS.dedup_window_s


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def handle_reception(reception: Reception, pipeline: Pipeline) -> str:
    """Returns what happened, for the handler's log line and the tests."""
    outcome = collect(reception, window_s=pipeline.window_s)
    if outcome.status != "process":
        pipeline.count("DedupDrops")
        return outcome.status
    receptions = outcome.receptions
    try:
        phy = PHYPayload.from_bytes(reception.phy_payload)
    except LoRaWANError as exc:
        pipeline.count("InvalidFrames")
        log.warning("undecodable frame from %s: %s", reception.gateway_id, exc)
        return "invalid_frame"
    if phy.m_type == MType.JoinRequest:
        return _join(phy, receptions, outcome.deduplication_id, pipeline)
    if phy.m_type in (MType.UnconfirmedDataUp, MType.ConfirmedDataUp):
        return _data(phy, receptions, outcome.deduplication_id, pipeline)
    pipeline.count("UnsupportedFrames")
    log.info("%s frames are not handled (yet)", phy.m_type.name)
    return "unsupported"


def app_s_key_of(dev_eui: str) -> AES128Key | None:
    """The AppSKey the join server kept (one deployment shares device keys, as ChirpStack v4 does)."""
    try:
        device = Device.get(dev_eui)
    except Device.DoesNotExist:
        return None
    if device.app_s_key is None:
        return None
    return AES128Key.parse(envelope.open_sealed(device.app_s_key, context=dev_eui)["app_s_key"])


def _event(pipeline: Pipeline, event: NetworkEvent) -> None:
    if SETTINGS.network_events_function:
        pipeline.invoke(SETTINGS.network_events_function, event.to_dict(), wait=False)


# -- OTAA -------------------------------------------------------------------------------------------


def _join(phy: PHYPayload, receptions: tuple[Reception, ...], dedup_id: str, pipeline: Pipeline) -> str:
    request = phy.payload
    assert isinstance(request, JoinRequest)
    best = best_reception(receptions)
    region = region_for_prefix(best.topic_prefix)
    dev_eui = str(request.dev_eui)
    try:
        mac_version = Device.get(dev_eui).mac_version
    except Device.DoesNotExist:
        mac_version = "1.0.3"  # the join server will answer UnknownDevEUI
    dev_addr = DevAddr.random(NetID.parse(SETTINGS.net_id))
    rx = RxParameters(SETTINGS.rx1_delay_s, 0, region.rx2.dr, region.rx2.frequency)
    join_req = JoinReq(
        sender_id=SETTINGS.net_id,
        receiver_id=str(request.join_eui),
        transaction_id=secrets.randbits(32),
        mac_version=mac_version,
        phy_payload=phy.to_bytes().hex(),
        dev_eui=dev_eui,
        dev_addr=str(dev_addr),
        dl_settings=DLSettings(rx1_dr_offset=rx.rx1_dr_offset, rx2_dr=rx.rx2_dr).to_byte(),
        rx_delay=rx.rx1_delay_s,
    )
    if not SETTINGS.join_server_function:
        raise RuntimeError("JOIN_SERVER_FUNCTION is not set")
    answer = JoinAns.from_dict(
        pipeline.invoke(SETTINGS.join_server_function, join_req.to_dict(), wait=True) or {}
    )
    if answer.result_code != "Success" or not answer.phy_payload:
        pipeline.count("JoinsRejected")
        log.warning(
            "join of %s rejected by the join server: %s %s", dev_eui, answer.result_code, answer.description
        )
        return "join_rejected"
    keys = answer.network_keys
    nwk = keys.get("NwkSKey")
    sealed = envelope.seal(
        {
            "f_nwk_s_int_key": keys.get("FNwkSIntKey", nwk or ""),
            "s_nwk_s_int_key": keys.get("SNwkSIntKey", nwk or ""),
            "nwk_s_enc_key": keys.get("NwkSEncKey", nwk or ""),
        },
        context=dev_eui,
    )
    DeviceSession(
        dev_eui,
        dev_addr=str(dev_addr),
        mac_version=mac_version,
        region=region.name,
        net_keys=sealed,
        dr=best.data_rate,
        rx1_delay=rx.rx1_delay_s,
        rx1_dr_offset=rx.rx1_dr_offset,
        rx2_dr=rx.rx2_dr,
        rx2_frequency=rx.rx2_frequency,
        last_gateway_id=best.gateway_id,
        last_topic_prefix=best.topic_prefix,
    ).save(add_version_condition=False)  # a new join replaces the old session
    join_rx = RxParameters(region.timing.join_accept_delay1, 0, region.rx2.dr, region.rx2.frequency)
    frame = class_a_downlink(region, best, bytes.fromhex(answer.phy_payload), join_rx)
    pipeline.publish(command_topic(best), frame)
    pipeline.count("Joins")
    _event(
        pipeline,
        NetworkEvent(
            "join",
            dev_eui,
            _now_iso(),
            dev_addr=str(dev_addr),
            deduplication_id=dedup_id,
            rx_info=[r.rx_info for r in receptions],
        ),
    )
    log.info("device %s joined as %s", dev_eui, dev_addr)
    return "joined"


# -- data uplinks -----------------------------------------------------------------------------------


@dataclass
class _Match:
    session: DeviceSession
    keys: dict[str, AES128Key]
    f_cnt: int


def _find_session(phy: PHYPayload, best: Reception, region: Region) -> _Match | None:
    """Sessions sharing the DevAddr are tried in turn; the MIC decides (1.1 §6.1.1)."""
    mac = phy.mac_payload
    for session in DeviceSession.by_dev_addr.query(str(mac.fhdr.dev_addr)):
        keys = {
            k: AES128Key.parse(v)
            for k, v in envelope.open_sealed(session.net_keys, context=session.dev_eui).items()
        }
        f_cnt = full_f_cnt(mac.fhdr.f_cnt, int(session.f_cnt_up))
        if session.mac_version.startswith("1.1"):
            try:
                channel = region.uplink_channel_index(best.frequency)
            except LoRaWANError:
                channel = 0
            mic = security.uplink_mic_1_1(
                phy,
                keys["f_nwk_s_int_key"],
                keys["s_nwk_s_int_key"],
                f_cnt,
                tx_dr=best.data_rate,
                tx_ch=channel,
            )
        else:
            mic = security.data_mic_1_0(phy, keys["f_nwk_s_int_key"], f_cnt)
        if mic == phy.mic:
            return _Match(session, keys, f_cnt)
    return None


def _adr(session: DeviceSession, region: Region, max_snr: float, f_cnt: int) -> LinkADRReq | None:
    history = list(session.uplink_history or [])[-19:]
    history.append(
        UplinkRecordMap(  # type: ignore[no-untyped-call]
            f_cnt=f_cnt, max_snr=max_snr, tx_power_index=int(session.tx_power_index), gateway_count=1
        )
    )
    session.uplink_history = history
    if not session.adr or "LinkADRReq" in session.pending_mac:
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
    ch_mask, ch_mask_cntl = region.link_adr_masks(range(len(region.uplink_channel_list)))[-1]
    session.pending_mac = {
        **session.pending_mac,
        "LinkADRReq": {
            "dr": decision.data_rate,
            "tx_power": decision.tx_power_index,
            "nb_trans": decision.nb_trans,
        },
    }
    return LinkADRReq(
        data_rate=decision.data_rate,
        tx_power=decision.tx_power_index,
        ch_mask=ch_mask,
        ch_mask_cntl=ch_mask_cntl,
        nb_trans=decision.nb_trans,
    )


def _data(phy: PHYPayload, receptions: tuple[Reception, ...], dedup_id: str, pipeline: Pipeline) -> str:
    best = best_reception(receptions)
    region = region_for_prefix(best.topic_prefix)
    mac = phy.mac_payload
    match = _find_session(phy, best, region)
    if match is None:
        pipeline.count("MICFailures")
        log.warning("no session of DevAddr %s verifies this frame's MIC", mac.fhdr.dev_addr)
        return "mic_failure"
    session, keys, f_cnt = match.session, match.keys, match.f_cnt
    try:
        check_f_cnt(f_cnt, int(session.f_cnt_up), max_gap=None)
    except FrameCounterReplay:
        pipeline.count("Replays")
        log.warning(
            "device %s: FCnt %d replayed (next expected %d)", session.dev_eui, f_cnt, session.f_cnt_up
        )
        return "replay"
    lorawan_1_1 = session.mac_version.startswith("1.1")
    f_opts = mac.fhdr.f_opts
    if lorawan_1_1 and f_opts:
        f_opts = security.decrypt_f_opts(phy, keys["nwk_s_enc_key"], f_cnt)
    commands: list[MACCommand] = []
    try:
        commands = decode_mac_commands(f_opts, uplink=True)
        if mac.f_port == 0 and mac.frm_payload:
            commands += decode_mac_commands(
                security.decrypt_frm_payload(phy, keys["nwk_s_enc_key"], f_cnt), uplink=True
            )
    except LoRaWANError as exc:
        pipeline.count("InvalidMACCommands")
        log.warning("device %s: MAC commands not decodable: %s", session.dev_eui, exc)
    max_snr = best.snr
    result = handle_uplink_commands(
        commands,
        session,
        region=region,
        dr=best.data_rate,
        max_snr=max_snr,
        gateway_count=len(receptions),
        received_at_ms=best.received_at_ms,
    )
    answers = list(result.answers)
    if mac.fhdr.f_ctrl.adr:
        request = _adr(session, region, max_snr, f_cnt)
        if request is not None:
            answers.append(request)
    confirmed = phy.m_type == MType.ConfirmedDataUp
    head = queue.pending(session.dev_eui)
    acked: QueuedDownlink | None = None
    if head and head[0].f_cnt is not None:  # a confirmed downlink waits for this device's ACK
        if mac.fhdr.f_ctrl.ack:
            acked, head = head[0], head[1:]
        else:
            pipeline.count("DownlinkRetries")  # sent again below, with a new counter
    item = head[0] if head else None
    f_opts = encode_mac_commands(answers)
    app_s_key = app_s_key_of(session.dev_eui) if item is not None else None
    if item is not None:
        limit = region.max_payload_size(region.rx1_data_rate(best.data_rate, int(session.rx1_dr_offset))).n
        if len(item.payload) + len(f_opts) > limit:
            pipeline.count("DownlinksTooLarge")
            log.warning(
                "device %s: queued payload of %d bytes does not fit (%d)",
                session.dev_eui,
                len(item.payload),
                limit,
            )
            item = None
    built: BuiltDownlink | None = None
    if confirmed or answers or mac.fhdr.f_ctrl.adr_ack_req or item is not None:
        built = build_downlink(
            session,
            keys,
            ack=confirmed,
            uplink_f_cnt=f_cnt,
            f_opts=f_opts,
            item=item,
            app_s_key=app_s_key,
            f_pending=len(head) > 1,
        )
    downlink = built.phy_payload if built is not None else None
    session.f_cnt_up = f_cnt + 1
    session.last_gateway_id, session.last_topic_prefix = best.gateway_id, best.topic_prefix
    try:
        session.save()  # conditional on `version`: a concurrent or retried invocation cannot apply it twice
    except PutError:
        pipeline.count("ConcurrentUpdates")
        log.info("device %s: session changed by another invocation; this one stops", session.dev_eui)
        return "conflict"
    pipeline.count("Uplinks")
    rx_info = [r.rx_info for r in receptions]
    _event(
        pipeline,
        NetworkEvent(
            "up",
            session.dev_eui,
            _now_iso(),
            dev_addr=str(mac.fhdr.dev_addr),
            f_cnt=f_cnt,
            f_port=mac.f_port,
            frm_payload=mac.frm_payload.hex() if mac.f_port else None,
            confirmed=confirmed,
            adr=mac.fhdr.f_ctrl.adr,
            dr=best.data_rate,
            rx_info=rx_info,
            tx_info=best.tx_info,
            deduplication_id=dedup_id,
        ),
    )
    if result.status is not None:
        _event(pipeline, NetworkEvent("status", session.dev_eui, _now_iso(), details=result.status))
    if acked is not None:
        queue.remove(session.dev_eui, acked.item_id)
        _event(
            pipeline,
            NetworkEvent(
                "ack", session.dev_eui, _now_iso(), details={"acknowledged": True, "fCntDown": acked.f_cnt}
            ),
        )
    if built is not None and built.item is not None:
        if built.item.confirmed:
            queue.mark_sent(session.dev_eui, built.item.item_id, built.f_cnt)
        else:
            queue.remove(session.dev_eui, built.item.item_id)
    if downlink is not None:
        rx = RxParameters(
            int(session.rx1_delay),
            int(session.rx1_dr_offset),
            int(session.rx2_dr),
            int(session.rx2_frequency),
        )
        frame = class_a_downlink(region, best, downlink, rx)
        PendingDownlink(
            frame["downlinkId"],
            dev_eui=session.dev_eui,
            gateway_id=best.gateway_id,
            kind="application" if built and built.item else "network",
            f_cnt=built.f_cnt if built else None,
            expires_at=datetime.now(UTC) + timedelta(minutes=10),
        ).save()
        pipeline.publish(command_topic(best), frame)
        pipeline.count("Downlinks")
    return "uplink"
