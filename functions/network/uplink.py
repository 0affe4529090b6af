"""The uplink pipeline: one gateway reception in; after de-duplication, the frame is a JoinRequest
(the join server decides, a session is created, the JoinAccept goes out in the join-accept windows) or
a data uplink (session by DevAddr and MIC, counters, MAC commands, ADR, ACK, event to the application
server, downlink in RX1/RX2). Every rejection is counted by name and changes no state.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

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
from functions.network.events import Reception, gps_time_s, region_for_prefix, sub_band_channels
from functions.network.frames import MAX_F_OPTS, BuiltDownlink, build_downlink
from functions.network.mac import (
    Unit,
    adr_paused,
    applied,
    enabled_channels,
    fit,
    gps_seconds,
    handle_uplink_commands,
    keep_pending,
    record_sent,
    uplink_channel_index,
)
from functions.network.mac_requests import due_requests
from functions.network.observability import Count, logger
from functions.network.scheduling import (
    RxParameters,
    best_reception,
    class_a_downlink,
    command_topic,
    downlink_reception,
)
from functions.shared import aws, envelope, queue
from functions.shared.interface import JoinAns, JoinReq, NetworkEvent
from functions.shared.models import Device, DeviceSession, PendingDownlink, UplinkRecordMap
from functions.shared.queue import QueuedDownlink
from functions.shared.settings import SETTINGS


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
    """Returns what happened, for the handler's log line and the tests. Bad input is counted, logged and
    answered with a status: nothing raises for it (an exception would make the platform retry)."""
    outcome = collect(reception, window_s=pipeline.window_s)
    if outcome.status != "process":
        pipeline.count("DedupDrops")
        if outcome.status == "late":
            pipeline.count("DedupLate")
            logger.info(
                "copy arrived after the frame was processed", extra={"gateway_id": reception.gateway_id}
            )
        return outcome.status
    receptions = outcome.receptions
    try:
        phy = PHYPayload.from_bytes(reception.phy_payload)
    except LoRaWANError as exc:
        pipeline.count("InvalidFrames")
        logger.warning("undecodable frame dropped", extra={"reason": str(exc)})
        return "invalid_frame"
    best = best_reception(receptions)
    region = region_for_prefix(best.topic_prefix)
    try:
        too_large = len(reception.phy_payload) - 5 > region.max_payload_size(best.data_rate).m
    except LoRaWANError:
        too_large = False
    if too_large:  # MHDR + MACPayload + MIC beyond the data rate's M (RP002 maximum payload size)
        pipeline.count("FramesTooLarge")
        logger.warning("frame larger than its data rate allows dropped",
                       extra={"size": len(reception.phy_payload), "dr": best.data_rate})  # fmt: skip
        return "too_large"
    if phy.m_type == MType.JoinRequest:
        return _join(phy, receptions, outcome.deduplication_id, pipeline)
    if phy.m_type in (MType.UnconfirmedDataUp, MType.ConfirmedDataUp):
        return _data(phy, receptions, outcome.deduplication_id, pipeline)
    if phy.m_type == MType.RejoinRequest:
        from functions.network.rejoin import handle_rejoin

        status: str = handle_rejoin(phy, receptions, outcome.deduplication_id, pipeline)
        return status
    pipeline.count("UnsupportedFrames")
    logger.info("frame type not handled", extra={"m_type": phy.m_type.name})
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


def initial_mac_state(
    region: Region, prefix: str, old: DeviceSession | None
) -> tuple[dict[str, Any], str | None]:
    """MAC state of a new session: the channels the JoinAccept gives (a fixed plan's sub-band, sent as
    the CFList's channel mask, RP002-1.0.4 §2.5.4), the device-status schedule starting now, and what
    outlives a session: the operator's desired settings and RJcount1 (1.1 §6.2.4.2). Returns the state and
    the CFList (hex) for the JoinReq."""
    state: dict[str, Any] = {"dev_status": {"f_cnt": 0, "at": int(time.time())}}
    cf_list = None
    channels = sub_band_channels(prefix, region)
    if channels is not None:
        state["applied"] = {"enabled_channels": sorted(channels)}
        cf_list = region.cf_list(channels)
    if old is not None and old.mac_state:
        for key in ("desired", "rj_count1_next"):
            if key in old.mac_state:
                state[key] = old.mac_state[key]
    return state, cf_list.to_bytes().hex() if cf_list is not None else None


def store_session(
    answer: JoinAns,
    *,
    dev_eui: str,
    dev_addr: DevAddr,
    mac_version: str,
    region: Region,
    reception: Reception,
    rx: RxParameters,
    mac_state: dict[str, Any],
    extra: dict[str, Any] | None = None,
    newer_only: bool = False,
) -> DeviceSession:
    """A new session from the join server's keys (sealed); it replaces the device's previous one. With
    `newer_only`, only a session made from an earlier (or no) JoinRequest: see `StaleJoin`."""
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
    fields: dict[str, Any] = {
        "dev_addr": str(dev_addr),
        "mac_version": mac_version,
        "region": region.name,
        "net_keys": sealed,
        "dr": reception.data_rate,
        "rx1_delay": rx.rx1_delay_s,
        "rx1_dr_offset": rx.rx1_dr_offset,
        "rx2_dr": rx.rx2_dr,
        "rx2_frequency": rx.rx2_frequency,
        "last_gateway_id": reception.gateway_id,
        "last_topic_prefix": reception.topic_prefix,
        "mac_state": mac_state,
        "joined_at_ms": reception.received_at_ms,
    }
    session = DeviceSession(dev_eui, **(fields | (extra or {})))
    condition = None
    if newer_only:
        joined = DeviceSession.joined_at_ms
        condition = joined.does_not_exist() | (joined <= reception.received_at_ms)
    try:
        session.save(condition=condition, add_version_condition=False)  # a join replaces the session
    except PutError as exc:
        if newer_only and "ConditionalCheckFailed" in str(getattr(exc, "cause_response_code", "")):
            raise StaleJoin(dev_eui) from exc
        raise
    return session


class StaleJoin(Exception):
    """A JoinRequest older than the one that made the device's current session: under a backlog the
    platform can run an older join after a newer one whose JoinAccept the device already took, and
    letting it replace the session would cut the device off (it found by the local-cloud load bench)."""


def _join(phy: PHYPayload, receptions: tuple[Reception, ...], dedup_id: str, pipeline: Pipeline) -> str:
    request = phy.payload
    assert isinstance(request, JoinRequest)
    best = downlink_reception(receptions, pipeline.count)
    region = region_for_prefix(best.topic_prefix)
    dev_eui = str(request.dev_eui)
    logger.append_keys(dev_eui=dev_eui)
    try:
        mac_version = Device.get(dev_eui).mac_version
    except Device.DoesNotExist:
        mac_version = "1.0.3"  # the join server will answer UnknownDevEUI
    try:
        old: DeviceSession | None = DeviceSession.get(dev_eui)
    except DeviceSession.DoesNotExist:
        old = None
    if old is not None and old.joined_at_ms is not None and best.received_at_ms < int(old.joined_at_ms):
        return _stale_join(pipeline)  # before the join server: it would store this join's AppSKey
    dev_addr = DevAddr.random(NetID.parse(SETTINGS.net_id))
    rx = RxParameters(SETTINGS.rx1_delay_s, 0, region.rx2.dr, region.rx2.frequency)
    state, cf_list = initial_mac_state(region, best.topic_prefix, old)
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
        cf_list=cf_list,
    )
    if not SETTINGS.join_server_function:
        raise RuntimeError("JOIN_SERVER_FUNCTION is not set")
    answer = JoinAns.from_dict(
        pipeline.invoke(SETTINGS.join_server_function, join_req.to_dict(), wait=True) or {}
    )
    if answer.result_code != "Success" or not answer.phy_payload:
        pipeline.count("JoinsRejected")
        logger.warning("join rejected by the join server",
                       extra={"result": answer.result_code, "reason": answer.description})  # fmt: skip
        return "join_rejected"
    logger.append_keys(dev_addr=str(dev_addr))
    try:
        store_session(answer, dev_eui=dev_eui, dev_addr=dev_addr, mac_version=mac_version, region=region,
                      reception=best, rx=rx, mac_state=state, newer_only=True)  # fmt: skip
    except StaleJoin:
        return _stale_join(pipeline)  # a newer join won the race meanwhile; its JoinAccept stands
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
    logger.info("device joined", extra={"cf_list": cf_list is not None})
    return "joined"


def _stale_join(pipeline: Pipeline) -> str:
    pipeline.count("StaleJoins")
    logger.warning("JoinRequest older than the device's current session dropped")
    return "stale_join"


# -- data uplinks -----------------------------------------------------------------------------------


@dataclass
class _Match:
    session: DeviceSession
    keys: dict[str, AES128Key]
    f_cnt: int


def session_keys(session: DeviceSession) -> dict[str, AES128Key]:
    return {
        k: AES128Key.parse(v)
        for k, v in envelope.open_sealed(session.net_keys, context=session.dev_eui).items()
    }


def _find_session(phy: PHYPayload, best: Reception, region: Region) -> tuple[_Match | None, int]:
    """Sessions sharing the DevAddr are tried in turn; the MIC decides (1.1 §6.1.1). Returns the match
    and how many sessions had the DevAddr."""
    mac = phy.mac_payload
    candidates = 0
    for session in DeviceSession.by_dev_addr.query(str(mac.fhdr.dev_addr)):
        candidates += 1
        keys = session_keys(session)
        f_cnt = full_f_cnt(mac.fhdr.f_cnt, int(session.f_cnt_up))
        if session.mac_version.startswith("1.1"):
            mic = security.uplink_mic_1_1(
                phy,
                keys["f_nwk_s_int_key"],
                keys["s_nwk_s_int_key"],
                f_cnt,
                tx_dr=best.data_rate,
                tx_ch=uplink_channel_index(session, region, best.frequency),
            )
        else:
            mic = security.data_mic_1_0(phy, keys["f_nwk_s_int_key"], f_cnt)
        if mic == phy.mic:
            return _Match(session, keys, f_cnt), candidates
    return None, candidates


def _adr(session: DeviceSession, region: Region, max_snr: float, f_cnt: int, gateway_count: int,
         busy: set[str]) -> Unit | None:  # fmt: skip
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
    enabled = enabled_channels(session, region)  # the channels it has: a US915 sub-band stays one
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


def _data(phy: PHYPayload, receptions: tuple[Reception, ...], dedup_id: str, pipeline: Pipeline) -> str:
    best = best_reception(receptions)
    region = region_for_prefix(best.topic_prefix)
    mac = phy.mac_payload
    logger.append_keys(dev_addr=str(mac.fhdr.dev_addr))
    match, candidates = _find_session(phy, best, region)
    if match is None:
        if not candidates:
            pipeline.count("UnknownDevAddr")
            logger.warning("no session has this DevAddr")
            return "unknown_dev_addr"
        pipeline.count("MICFailures")
        logger.warning("no session of this DevAddr verifies the MIC", extra={"sessions": candidates})
        return "mic_failure"
    session, keys, f_cnt = match.session, match.keys, match.f_cnt
    logger.append_keys(dev_eui=session.dev_eui)
    if session.disabled:
        pipeline.count("DisabledDeviceFrames")
        logger.info("device disabled: frame dropped")
        return "disabled"
    try:
        check_f_cnt(f_cnt, int(session.f_cnt_up), max_gap=None)
    except FrameCounterReplay:
        pipeline.count("Replays")
        logger.warning("frame counter replayed", extra={"f_cnt": f_cnt, "expected": int(session.f_cnt_up)})
        return "replay"
    commands = _uplink_commands(phy, session, keys, f_cnt, pipeline)
    if best.data_rate != int(session.dr):
        # The device changed its data rate on its own (ADRACKReq back-off, a reset, a join at another DR):
        # ADR starts over from the rate it uses, at full power (ChirpStack's set_uplink_data_rate).
        session.dr, session.tx_power_index, session.uplink_history = best.data_rate, 0, []
    max_snr = best.snr
    now = time.time()
    result = handle_uplink_commands(
        commands,
        session,
        region=region,
        dr=best.data_rate,
        max_snr=max_snr,
        gateway_count=len(receptions),
        gps_time_s=gps_time_s(best.rx_info) or gps_seconds(best.received_at_ms),
        f_cnt=f_cnt,
        count=pipeline.count,
    )
    units: list[Unit] = [*result.answers, *result.retries]
    busy = {unit.name for unit in result.retries}
    if mac.fhdr.f_ctrl.adr:
        adr_request = _adr(session, region, max_snr, f_cnt, len(receptions), busy)
        if adr_request is not None:
            units.append(adr_request)
    units += due_requests(session, region, f_cnt=f_cnt, busy=busy, now=now)
    confirmed = phy.m_type == MType.ConfirmedDataUp
    head, acked = _queue_head(session, ack=mac.fhdr.f_ctrl.ack, pipeline=pipeline)
    item = head[0] if head else None
    dwell = bool(applied(session).get("downlink_dwell_time"))
    rx1_dr = region.rx1_data_rate(best.data_rate, int(session.rx1_dr_offset), dwell)
    limit = region.max_payload_size(rx1_dr, dwell).n  # RP002 maximum payload size (N: FOpts empty)
    if item is not None and len(item.payload) > limit:
        pipeline.count("DownlinksTooLarge")
        logger.warning("queued payload does not fit the data rate; kept queued",
                       extra={"size": len(item.payload), "limit": limit})  # fmt: skip
        item = None
    answers_size = sum(unit.size for unit in result.answers)
    if item is not None and (answers_size > MAX_F_OPTS or len(item.payload) + answers_size > limit):
        logger.info(
            "queued payload waits: the MAC answers take this downlink", extra={"answers": answers_size}
        )
        item = None  # answers to the device's requests come first; FPending tells it more waits
    included = _fit_commands(session, units, payload_size=len(item.payload) if item else None, limit=limit,
                             pipeline=pipeline, f_cnt=f_cnt, now=now)  # fmt: skip
    mac_bytes = encode_mac_commands([command for unit in included for command in unit.commands])
    on_port_0 = item is None and len(mac_bytes) > MAX_F_OPTS
    app_s_key = app_s_key_of(session.dev_eui) if item is not None else None
    built: BuiltDownlink | None = None
    if confirmed or included or mac.fhdr.f_ctrl.adr_ack_req or item is not None or result.needs_downlink:
        built = build_downlink(
            session,
            keys,
            ack=confirmed,
            uplink_f_cnt=f_cnt,
            f_opts=b"" if on_port_0 else mac_bytes,
            item=item,
            app_s_key=app_s_key,
            f_pending=len(head) > (1 if item is not None else 0),
            mac_frm_payload=mac_bytes if on_port_0 else b"",
        )
    downlink = built.phy_payload if built is not None else None
    gateway = downlink_reception(receptions, pipeline.count) if downlink is not None else best
    session.f_cnt_up = f_cnt + 1
    session.last_gateway_id, session.last_topic_prefix = gateway.gateway_id, gateway.topic_prefix
    try:
        session.save()  # conditional on `version`: a concurrent or retried invocation cannot apply it twice
    except PutError:
        pipeline.count("ConcurrentUpdates")
        logger.info("session changed by another invocation; this one stops")
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
        _event(pipeline, NetworkEvent("status", session.dev_eui, _now_iso(), deduplication_id=dedup_id,
                                      details=result.status))  # fmt: skip
    if acked is not None:
        queue.remove(session.dev_eui, acked.item_id)
        details = {"acknowledged": True, "fCntDown": acked.f_cnt, "queueItemId": acked.queue_item_id}
        ack = NetworkEvent("ack", session.dev_eui, _now_iso(), deduplication_id=dedup_id, details=details)
        _event(pipeline, ack)
    if built is not None and built.item is not None:
        if built.item.confirmed:
            queue.mark_sent(session.dev_eui, built.item.item_id, built.f_cnt)
        else:
            queue.remove(session.dev_eui, built.item.item_id)
    if downlink is not None:
        _send_class_a(
            session,
            region,
            gateway,
            downlink,
            built,
            pipeline,
            kind="application" if built and built.item else "network",
        )
        pipeline.count("Downlinks")
    sent = [command.NAME for unit in included for command in unit.commands]
    logger.info(
        "uplink accepted", extra={"f_cnt": f_cnt, "commands": [c.NAME for c in commands], "downlink": sent}
    )
    return "uplink"


def _uplink_commands(
    phy: PHYPayload, session: DeviceSession, keys: dict[str, AES128Key], f_cnt: int, pipeline: Pipeline
) -> list[MACCommand]:
    """The MAC commands of an uplink: FOpts (encrypted in 1.1) and an FPort 0 FRMPayload. A sequence that
    does not decode is counted and ignored; the rest of the uplink still counts."""
    mac = phy.mac_payload
    f_opts = mac.fhdr.f_opts
    if session.mac_version.startswith("1.1") and f_opts:
        f_opts = security.decrypt_f_opts(phy, keys["nwk_s_enc_key"], f_cnt)
    try:
        commands = decode_mac_commands(f_opts, uplink=True)
        if mac.f_port == 0 and mac.frm_payload:
            plain = security.decrypt_frm_payload(phy, keys["nwk_s_enc_key"], f_cnt)
            commands += decode_mac_commands(plain, uplink=True)
    except LoRaWANError as exc:
        pipeline.count("InvalidMACCommands")
        logger.warning("MAC commands not decodable; ignored", extra={"reason": str(exc)})
        return []
    return commands


def _queue_head(
    session: DeviceSession, *, ack: bool, pipeline: Pipeline
) -> tuple[list[QueuedDownlink], QueuedDownlink | None]:
    """The queue head to send, and the confirmed downlink this uplink acknowledges (if any)."""
    head = queue.pending(session.dev_eui)
    if head and head[0].f_cnt is not None:  # a confirmed downlink waits for this device's ACK
        if ack:
            return head[1:], head[0]
        pipeline.count("DownlinkRetries")  # sent again, with a new counter
    return head, None


def _fit_commands(
    session: DeviceSession,
    units: list[Unit],
    *,
    payload_size: int | None,
    limit: int,
    pipeline: Pipeline,
    f_cnt: int,
    now: float,
) -> list[Unit]:
    """The units that go into this downlink: with an application payload, at most 15 octets of FOpts
    beside it; without, FOpts when all fit in 15 octets, else FPort 0 up to the data rate's N (1.0.4
    §4.3.1.6). Requests that go are recorded as pending; the others wait for the next downlink."""
    if payload_size is not None:
        capacity = min(MAX_F_OPTS, limit - payload_size)
    else:
        capacity = MAX_F_OPTS if sum(u.size for u in units) <= MAX_F_OPTS else limit
    included, left = fit(units, capacity)
    for unit in left:
        if unit.is_request:
            pipeline.count("MACCommandsDeferred")
            if unit.attempts:
                keep_pending(session, unit)
        else:
            pipeline.count("MACAnswersDropped")
    if left:
        logger.info("MAC commands did not fit this downlink",
                    extra={"left": [u.name for u in left], "capacity": capacity})  # fmt: skip
    for unit in included:
        if unit.is_request:
            record_sent(session, unit, pipeline.count, f_cnt=f_cnt, now=now)
    return included


def _send_class_a(
    session: DeviceSession,
    region: Region,
    gateway: Reception,
    phy_payload: bytes,
    built: BuiltDownlink | None,
    pipeline: Pipeline,
    *,
    kind: str,
) -> None:
    rx = RxParameters(
        int(session.rx1_delay), int(session.rx1_dr_offset), int(session.rx2_dr), int(session.rx2_frequency)
    )
    dwell = bool(applied(session).get("downlink_dwell_time"))
    # RX2 is a fallback only for a frame its (often slower) data rate can carry: never exceed M there.
    rx2 = len(phy_payload) - 5 <= region.max_payload_size(int(session.rx2_dr), dwell).m
    frame = class_a_downlink(
        region, gateway, phy_payload, rx, rx1_frequency=_rx1_frequency(session, region, gateway), rx2=rx2
    )
    PendingDownlink(
        frame["downlinkId"],
        dev_eui=session.dev_eui,
        gateway_id=gateway.gateway_id,
        kind=kind,
        f_cnt=built.f_cnt if built else None,
        queue_item_id=built.item.queue_item_id if built and built.item else None,
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
    ).save()
    pipeline.publish(command_topic(gateway), frame)


def _rx1_frequency(session: DeviceSession, region: Region, reception: Reception) -> int | None:
    """A DlChannelReq the device acknowledged moves RX1 of that uplink channel (1.0.4 §5.9)."""
    downlink_channels = applied(session).get("downlink_channels", {})
    if not downlink_channels:
        return None
    channel = uplink_channel_index(session, region, reception.frequency)
    value = downlink_channels.get(str(channel))
    return int(value) if value else None
