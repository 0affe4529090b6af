"""README step 3, the JoinRequest: the join server decides, a session is stored, the JoinAccept goes out in
the join-accept windows (LoRaWAN 1.0.4 §6.2.5, 1.1 §6.2.2-6.2.3)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, fields
from typing import Any

from functions.lorawan.join import DLSettings, JoinRequest
from functions.lorawan.regions import Region
from functions.lorawan.types import DevAddr, NetID
from functions.network import store
from functions.network.mac.state import Desired, DevStatusSent, MacState
from functions.network.models import DeviceSession, carried_over
from functions.network.observability import logger
from functions.network.receptions import Reception, sub_band_channels
from functions.network.scheduling import (
    RxParameters,
    Windows,
    class_a_downlink,
    command_topic,
    downlink_reception,
    heard_at_s,
    reachable_windows,
)
from functions.network.uplink import record
from functions.network.uplink.context import Frame, Ports, now_iso, run
from functions.shared.interface import JoinAns, JoinReq, NetworkEvent, application_server
from functions.shared.settings import SETTINGS


@dataclass
class Join:
    frame: Frame
    request: JoinRequest
    dev_eui: str
    gateway: Reception = field(init=False)  # the reception whose gateway sends the JoinAccept
    mac_version: str = "1.0.3"
    old: DeviceSession | None = None
    dev_addr: DevAddr = field(init=False)
    rx: RxParameters = field(init=False)
    mac_state: MacState = field(default_factory=MacState)
    profile_mac: dict[str, Any] = field(default_factory=dict)  # the device profile's MAC settings
    cf_list: str | None = None
    answer: JoinAns = field(init=False)
    windows: Windows = field(default_factory=lambda: Windows(rx1=True, rx2=True))  # still reachable


def handle_join(frame: Frame) -> str:
    request = frame.phy.payload
    assert isinstance(request, JoinRequest)
    dev_eui = str(request.dev_eui)
    logger.append_keys(dev_eui=dev_eui)
    frame.dev_eui = dev_eui
    return run(Join(frame, request, dev_eui), STEPS)


def choose_gateway(join: Join) -> None:
    join.gateway = downlink_reception(join.frame.receptions, join.frame.ports.count)


def read_device(join: Join) -> None:
    """The device's LoRaWAN version (unknown devices: 1.0.3, the join server answers UnknownDevEUI) and
    the session this join replaces."""
    application = application_server()
    join.mac_version = application.mac_version(join.dev_eui) or "1.0.3"
    join.profile_mac = application.mac_settings(join.dev_eui)
    join.old = store.session_of(join.dev_eui)
    join.frame.watch_until = float(join.old.watch_until or 0) if join.old is not None else 0.0


def resume_applied(join: Join) -> str | None:
    """The claimer's retry of a join it already stored (see dedup.py): the join server would refuse the
    DevNonce now, and the JoinAccept it sealed is gone with its windows; the `join` event goes again
    under the same deduplication id (at least once), and the device joins again if the JoinAccept never
    reached it."""
    old, deduplication_id = join.old, join.frame.deduplication_id
    if old is None or not deduplication_id or old.last_deduplication_id != deduplication_id:
        return None
    join.frame.ports.count("ResumedAfterSave")
    join.dev_addr = DevAddr.parse(old.dev_addr)
    logger.warning("join already stored by an earlier attempt: its event is sent again")
    send_join_event(join)
    return "resumed"


def refuse_stale(join: Join) -> str | None:
    """Before the join server: it would store this join's AppSKey (see `store.StaleJoin`)."""
    old = join.old
    if (
        old is not None
        and old.joined_at_ms is not None
        and join.gateway.received_at_ms < int(old.joined_at_ms)
    ):
        return stale_join(join.frame.ports)
    return None


def propose_session(join: Join) -> None:
    """What the network decides for the session: a DevAddr, the RX settings, the CFList, the MAC state.
    The device profile's RX1 delay, RX1 DR offset and RX2 data rate go in the JoinAccept (RxDelay,
    DLSettings; 1.0.4 §6.2.5); the rest of its MAC settings become the session's desired state, which MAC
    requests bring the device to at its next uplinks (an RX2 frequency, extra channels, ...)."""
    region = join.frame.region
    wanted = join.profile_mac
    join.dev_addr = DevAddr.random(NetID.parse(SETTINGS.net_id))
    join.rx = RxParameters(
        max(1, int(wanted.get("rx1_delay", SETTINGS.rx1_delay_s))),
        int(wanted.get("rx1_dr_offset", 0)),
        int(wanted.get("rx2_dr", region.rx2.dr)),
        region.rx2.frequency,
    )
    join.mac_state, join.cf_list = initial_mac_state(region, join.gateway.topic_prefix, join.old)
    if wanted:
        merged = {**join.mac_state.desired.to_json(), **wanted}
        known = {f.name for f in fields(Desired)}
        join.mac_state.desired = Desired(**{k: v for k, v in merged.items() if k in known})


def ask_join_server(join: Join) -> str | None:
    join_req = JoinReq(
        sender_id=SETTINGS.net_id,
        receiver_id=str(join.request.join_eui),
        transaction_id=secrets.randbits(32),
        mac_version=join.mac_version,
        phy_payload=join.frame.phy.to_bytes().hex(),
        dev_eui=join.dev_eui,
        dev_addr=str(join.dev_addr),
        dl_settings=DLSettings(rx1_dr_offset=join.rx.rx1_dr_offset, rx2_dr=join.rx.rx2_dr).to_byte(),
        rx_delay=join.rx.rx1_delay_s,
        cf_list=join.cf_list,
    )
    join.answer = call_join_server(join.frame.ports, join_req)
    if join.answer.result_code != "Success" or not join.answer.phy_payload:
        join.frame.ports.count("JoinsRejected")
        logger.warning(
            "join rejected by the join server",
            extra={"result": join.answer.result_code, "reason": join.answer.description},
        )
        return "join_rejected"
    logger.append_keys(dev_addr=str(join.dev_addr))
    return None


def save_session(join: Join) -> str | None:
    fields = session_fields(
        join.dev_addr, join.mac_version, join.frame.region, join.gateway, join.rx, join.mac_state
    )
    try:
        store.store_session(
            join.answer,
            dev_eui=join.dev_eui,
            fields=fields
            | {"last_deduplication_id": join.frame.deduplication_id or None}
            | carried_over(join.old),
            joined_at_ms=join.gateway.received_at_ms,
            newer_only=True,
        )
    except store.StaleJoin:
        return stale_join(join.frame.ports)  # a newer join won the race meanwhile; its JoinAccept stands
    return None


def flush_queue(join: Join) -> None:
    """A device profile may ask that a (re)join empties the queue (ChirpStack's flush_queue_on_activate):
    what was queued for the old session would reach the new one out of date."""
    application = application_server()
    if application.flush_queue_on_activate(join.dev_eui):
        flushed = application.flush_queue(join.dev_eui)
        logger.info("queue flushed on join", extra={"items": flushed})


def check_join_windows(join: Join) -> str | None:
    """Which join-accept windows (JOIN_ACCEPT_DELAY1/2, LoRaWAN 1.0.4 §6.2.5) a JoinAccept can still meet
    (`DOWNLINK_MARGIN_MS` before each opens). Checked before the join server, and again after it (it is
    the slow part), right before the session is stored: with neither left, nothing changes (the old
    session stands, no JoinAccept, no `join` event), the device tries again with its next DevNonce."""
    windows = join_accept_windows(join.frame, join.frame.region.timing.join_accept_delay1)
    if windows is None:
        return "too_late"
    join.windows = windows
    return None


def join_accept_windows(frame: Frame, rx1_delay_s: float) -> Windows | None:
    """The windows a JoinAccept answering `frame` can still meet (RX1 `rx1_delay_s` after it, RX2 a second
    later); None, counted and logged, when neither is left."""
    heard_at = heard_at_s(frame.receptions)
    windows = reachable_windows(heard_at, rx1_delay_s, frame.ports.clock(), SETTINGS.downlink_margin_s)
    if windows.any:
        return windows
    frame.ports.count("DownlinksTooLate")
    logger.warning(
        "JoinAccept can no longer meet a join-accept window; not sent",
        extra={"past_rx2_s": round(frame.ports.clock() - (heard_at or 0) - rx1_delay_s - 1, 3),
               "margin_s": SETTINGS.downlink_margin_s},
    )  # fmt: skip
    return None


def send_join_accept(join: Join) -> None:
    """In the join-accept windows (JOIN_ACCEPT_DELAY1/2) still reachable, RX1 on the uplink channel's RX1
    frequency."""
    region = join.frame.region
    assert join.answer.phy_payload is not None
    join_rx = RxParameters(region.timing.join_accept_delay1, 0, region.rx2.dr, region.rx2.frequency)
    payload = bytes.fromhex(join.answer.phy_payload)
    if not join.windows.rx1:
        join.frame.ports.count("DownlinksRX2Only")
        logger.info("RX1 can no longer be met: the JoinAccept goes in RX2 only")
    frame = class_a_downlink(region, join.gateway, payload, join_rx, rx1=join.windows.rx1)
    join.frame.ports.publish(command_topic(join.gateway), frame)
    join.frame.sent = frame
    join.frame.ports.count("Joins")


def record_frames(join: Join) -> None:
    """The JoinRequest and its JoinAccept in the frame log (`record.py`)."""
    record.record_join(join.frame, join.old)


def send_join_event(join: Join) -> str:
    join.frame.ports.send_event(
        NetworkEvent(
            "join",
            join.dev_eui,
            now_iso(),
            dev_addr=str(join.dev_addr),
            deduplication_id=join.frame.deduplication_id,
            rx_info=join.frame.rx_info,
        )
    )
    logger.info("device joined", extra={"cf_list": join.cf_list is not None})
    return "joined"


STEPS = (
    choose_gateway,
    read_device,
    resume_applied,
    refuse_stale,
    check_join_windows,
    propose_session,
    ask_join_server,
    check_join_windows,
    save_session,
    flush_queue,
    send_join_accept,
    record_frames,
    send_join_event,
)


# -- shared with rejoin.py --------------------------------------------------------------------------


def call_join_server(ports: Ports, request: JoinReq) -> JoinAns:
    """The join server (the application server's `JoinServer` Lambda), invoked synchronously."""
    if not SETTINGS.join_server_function:
        raise RuntimeError("JOIN_SERVER_FUNCTION is not set")
    return JoinAns.from_dict(ports.invoke(SETTINGS.join_server_function, request.to_dict(), wait=True) or {})


def stale_join(ports: Ports) -> str:
    ports.count("StaleJoins")
    logger.warning("JoinRequest older than the device's current session dropped")
    return "stale_join"


def initial_mac_state(region: Region, prefix: str, old: DeviceSession | None) -> tuple[MacState, str | None]:
    """MAC state of a new session: the channels the JoinAccept gives (a fixed plan's sub-band, sent as
    the CFList's channel mask, RP002-1.0.4 §2.5.4), the device-status schedule starting now, and what
    outlives a session: the operator's desired settings and RJcount1 (1.1 §6.2.4.2). Returns the state and
    the CFList (hex) for the JoinReq."""
    state = MacState(dev_status=DevStatusSent(0, int(time.time())))
    cf_list = None
    channels = sub_band_channels(prefix, region)
    if channels is not None:
        state.applied.enabled_channels = sorted(channels)
        cf_list = region.cf_list(channels)
    if old is not None:
        carried = MacState.from_json(old.mac_state.to_json())  # a copy: the old session is not saved
        state.desired, state.rj_count1_next = carried.desired, carried.rj_count1_next
    return state, cf_list.to_bytes().hex() if cf_list is not None else None


def session_fields(
    dev_addr: DevAddr,
    mac_version: str,
    region: Region,
    reception: Reception,
    rx: RxParameters,
    mac_state: MacState,
) -> dict[str, Any]:
    """The attributes of a new session (besides its keys)."""
    return {
        "dev_addr": str(dev_addr),
        "mac_version": mac_version,
        "region": region.name,
        "dr": reception.data_rate,
        "rx1_delay": rx.rx1_delay_s,
        "rx1_dr_offset": rx.rx1_dr_offset,
        "rx2_dr": rx.rx2_dr,
        "rx2_frequency": rx.rx2_frequency,
        "last_gateway_id": reception.gateway_id,
        "last_topic_prefix": reception.topic_prefix,
        "mac_state": mac_state,
    }
