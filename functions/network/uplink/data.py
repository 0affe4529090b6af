"""README steps 4-7, the data uplink: session, counters, MAC commands, ADR, downlink content, save,
events, downlink. `STEPS` at the end is the list the README draws; each step is one function of the
`DataUplink` context (`context.py`). The downlink steps are in `downlink.py`."""

from __future__ import annotations

from pynamodb.exceptions import PutError

from functions.lorawan import security
from functions.lorawan.errors import FrameCounterReplay, LoRaWANError
from functions.lorawan.fcnt import accept_f_cnt, full_f_cnt
from functions.lorawan.mac_commands import decode_mac_commands
from functions.network import session_keys, store
from functions.network.mac.channels import uplink_channel_index
from functions.network.mac.command import Uplink
from functions.network.mac.device_time import gps_seconds
from functions.network.mac.discipline import due_requests, handle_uplink_commands
from functions.network.observability import logger
from functions.network.receptions import gps_time_s
from functions.network.uplink import adr, hour, record
from functions.network.uplink.context import DataUplink, Frame, now_iso, run
from functions.network.uplink.downlink import (
    build_frame,
    choose_gateway,
    fit_mac_commands,
    plan_windows,
    send_downlink,
    settle_queue,
    take_queue_head,
)
from functions.shared.interface import NetworkEvent

SAVE_ATTEMPTS = 3  # another invocation may save the same session in between (two frames of one device)


def handle_data(frame: Frame) -> str:
    """The steps once; again from a fresh session read when another invocation saved the session in
    between (nothing left the function before `save_session`), so neither frame is lost. What the queue
    query resolved and removed (an acknowledged downlink, ...) goes to the re-run, which reports it."""
    logger.append_keys(dev_addr=str(frame.phy.mac_payload.fhdr.dev_addr))
    up = DataUplink(frame)
    outcome = run(up, STEPS)
    for _ in range(SAVE_ATTEMPTS - 1):
        if outcome != "conflict":
            break
        up = DataUplink(frame, reread=up.session.dev_eui, resolved_before=up.head)
        outcome = run(up, STEPS)
    return outcome


def find_session(up: DataUplink) -> str | None:
    """The sessions with the frame's DevAddr are tried in turn; the MIC decides (1.1 §6.1.1): 1.0 with
    NwkSKey, 1.1 the split MIC with TxDr/TxCh (channels added by NewChannelReq included)."""
    phy, best, region = up.frame.phy, up.best, up.region
    f_cnt_16 = phy.mac_payload.fhdr.f_cnt
    candidates = 0
    sessions = store.sessions_of(phy.mac_payload.fhdr.dev_addr)
    if up.reread is not None:  # the index may lag the write that beat us: read the session itself
        sessions = [s for s in [store.session_of(up.reread, consistent=True)] if s is not None]
    for session in sessions:
        candidates += 1
        keys = session_keys.session_keys(session)
        f_cnt = full_f_cnt(f_cnt_16, int(session.f_cnt_up))
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
            up.session, up.keys, up.f_cnt = session, keys, f_cnt
            up.frame.dev_eui = session.dev_eui
            up.frame.watch_until = float(session.watch_until or 0)
            logger.append_keys(dev_eui=session.dev_eui)
            return None
    if not candidates:
        up.ports.count("UnknownDevAddr")
        logger.warning("no session has this DevAddr")
        return "unknown_dev_addr"
    up.ports.count("MICFailures")
    logger.warning("no session of this DevAddr verifies the MIC", extra={"sessions": candidates})
    return "mic_failure"


def resume_applied(up: DataUplink) -> str | None:
    """A frame this session already applied (the claimer's retry after it died past `save_session`, see
    dedup.py): its state is not applied again, no downlink goes (its windows are over); the frame log and
    the events it may not have sent go now, under the same deduplication id (at least once, as MQTT)."""
    if up.session.last_deduplication_id != up.frame.deduplication_id or not up.frame.deduplication_id:
        return None
    up.ports.count("ResumedAfterSave")
    logger.warning("frame already applied by an earlier attempt: its events are sent again")
    return run(up, RESUMED_STEPS)


def check_enabled(up: DataUplink) -> str | None:
    if up.session.disabled:
        up.ports.count("DisabledDeviceFrames")
        logger.info("device disabled: frame dropped")
        return "disabled"
    return None


def check_frame_counter(up: DataUplink) -> str | None:
    """The 16-bit FCnt was widened around the next expected value (65535 rolls over to 65536). A counter
    at or above it is new; one of the 64 below it not accepted before is late (overtaken by a newer frame)
    and accepted once; anything else is a replay (the anti-replay window, `accept_f_cnt`), and the
    application hears of it as ChirpStack tells it: the last counter again is a retransmission (`log`
    UPLINK_F_CNT_RETRANSMISSION), an older one a replay or a counter reset (`log` UPLINK_F_CNT_RESET)."""
    session = up.session
    expected = int(session.f_cnt_up)
    seen = int(session.f_cnt_up_seen) if session.f_cnt_up_seen is not None else None
    try:
        session.f_cnt_up, session.f_cnt_up_seen, up.late = accept_f_cnt(up.f_cnt, expected, seen)
    except FrameCounterReplay:
        retransmission = up.f_cnt == expected - 1
        up.ports.count("Replays")
        logger.warning("frame counter replayed", extra={"f_cnt": up.f_cnt, "expected": expected})
        code, level, description = (
            ("UPLINK_F_CNT_RETRANSMISSION", "WARNING", "uplink with the frame counter of the last one "
             "(a retransmission); dropped") if retransmission else
            ("UPLINK_F_CNT_RESET", "ERROR", f"frame counter {up.f_cnt} is below the expected {expected} "
             "(a replay, or the device reset its counters without rejoining); dropped")
        )  # fmt: skip
        context = {"deduplication_id": up.frame.deduplication_id, "f_cnt": str(up.f_cnt),
                   "expected_f_cnt": str(expected)}  # fmt: skip
        details = {"level": level, "code": code, "description": description, "context": context}
        up.ports.send_event(NetworkEvent("log", up.session.dev_eui, now_iso(), details=details))
        return "replay"
    if up.late:
        up.ports.count("LateUplinks")
        logger.info("uplink overtaken by a newer one: delivered, no downlink", extra={"f_cnt": up.f_cnt})
    return None


def read_mac_commands(up: DataUplink) -> None:
    """FOpts (encrypted in 1.1) and an FPort 0 FRMPayload. A sequence that does not decode is counted and
    ignored; the rest of the uplink still counts."""
    phy, keys = up.frame.phy, up.keys
    mac = phy.mac_payload
    f_opts = mac.fhdr.f_opts
    if up.session.mac_version.startswith("1.1") and f_opts:
        f_opts = security.decrypt_f_opts(phy, keys["nwk_s_enc_key"], up.f_cnt)
    try:
        commands = decode_mac_commands(f_opts, uplink=True)
        if mac.f_port == 0 and mac.frm_payload:
            plain = security.decrypt_frm_payload(phy, keys["nwk_s_enc_key"], up.f_cnt)
            commands += decode_mac_commands(plain, uplink=True)
    except LoRaWANError as exc:
        up.ports.count("InvalidMACCommands")
        logger.warning("MAC commands not decodable; ignored", extra={"reason": str(exc)})
        return
    up.commands = commands


def follow_data_rate(up: DataUplink) -> None:
    """The device changed its data rate on its own (ADRACKReq back-off, a reset, a join at another DR):
    ADR starts over from the rate it uses, at full power (ChirpStack's `set_uplink_data_rate`)."""
    session = up.session
    if not up.late and up.best.data_rate != int(session.dr):
        session.dr, session.tx_power_index, session.uplink_history = up.best.data_rate, 0, []


def handle_mac_commands(up: DataUplink) -> None:
    """Answers to the device's requests, its answers applied, unanswered requests to send again."""
    best = up.best
    uplink = Uplink(
        region=up.region,
        dr=best.data_rate,
        max_snr=best.snr,
        gateway_count=len(up.frame.receptions),
        gps_time_s=gps_time_s(best.rx_info) or gps_seconds(best.received_at_ms),
        f_cnt=up.f_cnt,
    )
    up.mac = handle_uplink_commands(up.commands, up.session, uplink, up.ports.count, late=up.late)
    up.units = [*up.mac.answers, *up.mac.retries]
    up.busy = {unit.name for unit in up.mac.retries}


def add_mac_requests(up: DataUplink) -> None:
    """What the operator's desired state still asks of the device (each request module's `needed`)."""
    if up.late:
        return
    up.units += due_requests(up.session, up.region, f_cnt=up.f_cnt, busy=up.busy, now=up.now)


def save_session(up: DataUplink) -> str | None:
    """Conditional on `version`: a concurrent or retried invocation cannot apply the uplink twice. The
    write carries the device's `last_seen_at`, which the API shows, and this hour's counters
    (`hour.count_in_session`), so no other write is needed for them; keys sealed before the compact
    envelope are sealed anew (the item then fits 1 KB)."""
    up.session.last_seen_at = int(up.now)
    up.session.last_deduplication_id = up.frame.deduplication_id or None
    session_keys.reseal_if_old(up.session, up.keys)
    try:
        up.session.save()
    except PutError:
        up.ports.count("ConcurrentUpdates")
        logger.info("session changed by another invocation; this one stops")
        return "conflict"
    up.ports.count("Uplinks")
    return None


def send_events(up: DataUplink) -> None:
    """`up` with the still-encrypted FRMPayload, and `status` after a DevStatusAns; after the downlink
    and the frame log; whether anyone watches the device (`NetworkEvent.watched`) is its session's flag."""
    mac, best = up.mac_payload, up.best
    up.ports.send_event(
        NetworkEvent(
            "up",
            up.session.dev_eui,
            now_iso(),
            dev_addr=str(mac.fhdr.dev_addr),
            f_cnt=up.f_cnt,
            f_port=mac.f_port,
            frm_payload=mac.frm_payload.hex() if mac.f_port else None,
            confirmed=up.confirmed,
            adr=mac.fhdr.f_ctrl.adr,
            dr=best.data_rate,
            rx_info=up.frame.rx_info,
            tx_info=best.tx_info,
            deduplication_id=up.frame.deduplication_id,
            watched=up.watched,
        )
    )
    if up.mac.status is not None:
        dev_eui, dedup_id = up.session.dev_eui, up.frame.deduplication_id
        status = NetworkEvent("status", dev_eui, now_iso(), deduplication_id=dedup_id, details=up.mac.status,
                              watched=up.watched)  # fmt: skip
        up.ports.send_event(status)


def accepted(up: DataUplink) -> str:
    """What the uplink did goes on the handler's one line per invocation (`uplink handled`), not on a
    line of its own: each log line is billed (CloudWatch Logs ingestion)."""
    sent = [command.NAME for unit in up.included for command in unit.commands]
    logger.append_keys(f_cnt=up.f_cnt, commands=[c.NAME for c in up.commands], downlink=sent)
    return "uplink"


def resumed(_up: DataUplink) -> str:
    return "resumed"


RESUMED_STEPS = (read_mac_commands, hour.flush_closed_hour, record.record_data, send_events, resumed)

STEPS = (
    find_session,
    resume_applied,
    check_enabled,
    check_frame_counter,
    read_mac_commands,
    follow_data_rate,
    handle_mac_commands,
    adr.run_adr,
    add_mac_requests,
    plan_windows,
    take_queue_head,
    fit_mac_commands,
    build_frame,
    choose_gateway,
    hour.count_in_session,
    save_session,
    settle_queue,
    send_downlink,
    hour.flush_closed_hour,
    record.record_data,
    send_events,
    accepted,
)
