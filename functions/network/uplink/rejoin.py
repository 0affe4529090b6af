"""LoRaWAN 1.1 RejoinRequests (§6.2.4.1-3), answered with a JoinAccept from the join server.

- Type 0 (NetID | DevEUI | RJcount0, MIC with SNwkSIntKey): a new session with a new DevAddr and the
  radio parameters back to the defaults.
- Type 2 (same fields): new keys and counters; DevAddr and radio parameters stay.
- Type 1 (JoinEUI | DevEUI | RJcount1, MIC with JSIntKey): like a JoinRequest, without leaving the
  network; the join server checks the MIC (only it derives JSIntKey from NwkKey).

Replays: RJcount0 must not go back within a session (it restarts at 0 with each JoinAccept), RJcount1
never (it outlives sessions, so it is carried from one to the next). Both are checked against what the
session recorded before anything else happens, and recorded with the new session. The JoinAccept goes
out in the rejoin's own class A windows (the device is activated, so RECEIVE_DELAY1/2 apply, as in
LoRaMac-node).

Not done: the spec lets a device that misses the JoinAccept go on with its old context; the old context is
replaced here as soon as the JoinAccept is sent (as for a JoinRequest), so such a device rejoins again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from functions.lorawan import security
from functions.lorawan.join import DLSettings, RejoinRequest
from functions.lorawan.types import DevAddr, NetID
from functions.network import session_keys, store
from functions.network.mac.state import MacState
from functions.network.models import DeviceSession, carried_over
from functions.network.observability import logger
from functions.network.receptions import Reception
from functions.network.scheduling import (
    RxParameters,
    Windows,
    class_a_downlink,
    command_topic,
    downlink_reception,
)
from functions.network.uplink import record
from functions.network.uplink.context import Frame, now_iso, run
from functions.network.uplink.join import (
    call_join_server,
    initial_mac_state,
    join_accept_windows,
    session_fields,
)
from functions.shared.interface import JoinAns, JoinReq, NetworkEvent
from functions.shared.settings import SETTINGS


@dataclass
class Rejoin:
    frame: Frame
    request: RejoinRequest
    dev_eui: str
    gateway: Reception = field(init=False)
    session: DeviceSession = field(init=False)  # the session the device rejoins from
    counter: str = ""  # the MacState field of the RJcount this type uses
    keep: bool = False  # type 2: rekey only, DevAddr and radio parameters stay
    dev_addr: DevAddr = field(init=False)
    rx: RxParameters = field(init=False)
    mac_state: MacState = field(default_factory=MacState)
    cf_list: str | None = None
    answer: JoinAns = field(init=False)
    windows: Windows = field(default_factory=lambda: Windows(rx1=True, rx2=True))  # still reachable


def handle_rejoin(frame: Frame) -> str:
    request = frame.phy.payload
    assert isinstance(request, RejoinRequest)
    dev_eui = str(request.dev_eui)
    logger.append_keys(dev_eui=dev_eui, rejoin_type=request.rejoin_type)
    frame.dev_eui = dev_eui
    return run(Rejoin(frame, request, dev_eui, keep=request.rejoin_type == 2), STEPS)


def refuse(
    rejoin: Rejoin, reason: str, status: str = "rejoin_rejected", metric: str = "RejoinsRejected"
) -> str:
    rejoin.frame.ports.count(metric)
    logger.warning("RejoinRequest refused", extra={"reason": reason})
    return status


def find_session(rejoin: Rejoin) -> str | None:
    rejoin.gateway = downlink_reception(rejoin.frame.receptions, rejoin.frame.ports.count)
    session = store.session_of(rejoin.dev_eui, consistent=True)
    if session is None:
        return refuse(rejoin, "no session here (roaming is not supported)")
    rejoin.session = session
    rejoin.frame.watch_until = float(session.watch_until or 0)
    logger.append_keys(dev_addr=session.dev_addr)
    if not session.mac_version.startswith("1.1"):
        return refuse(rejoin, "RejoinRequests are LoRaWAN 1.1; this session is " + session.mac_version)
    return None


def check_mic(rejoin: Rejoin) -> str | None:
    """Types 0 and 2 here (NetID, MIC with SNwkSIntKey); type 1 at the join server (JSIntKey)."""
    if rejoin.request.rejoin_type not in (0, 2):
        rejoin.counter = "rj_count1_next"
        return None
    rejoin.counter = "rj_count0_next"
    if rejoin.request.net_id != NetID.parse(SETTINGS.net_id):
        return refuse(rejoin, f"NetID {rejoin.request.net_id} is not this network's")
    keys = session_keys.session_keys(rejoin.session)
    if security.rejoin_request_mic(rejoin.frame.phy, keys["s_nwk_s_int_key"]) != rejoin.frame.phy.mic:
        return refuse(rejoin, "MIC does not match SNwkSIntKey", "mic_failure", "MICFailures")
    return None


def check_rj_count(rejoin: Rejoin) -> str | None:
    expected = int(getattr(rejoin.session.mac_state, rejoin.counter) or 0)
    if rejoin.request.rj_count < expected:
        rejoin.frame.ports.count("Replays")
        logger.warning("RJcount replayed", extra={"rj_count": rejoin.request.rj_count, "expected": expected})
        return "replay"
    return None


def propose_session(rejoin: Rejoin) -> None:
    """Type 0 and 1: a new DevAddr and default radio settings; type 2 keeps both."""
    session, region = rejoin.session, rejoin.frame.region
    if rejoin.keep:
        rejoin.dev_addr = DevAddr.parse(session.dev_addr)
        rejoin.rx = class_a_windows(session)
    else:
        rejoin.dev_addr = DevAddr.random(NetID.parse(SETTINGS.net_id))
        rejoin.rx = RxParameters(SETTINGS.rx1_delay_s, 0, region.rx2.dr, region.rx2.frequency)
    rejoin.mac_state, rejoin.cf_list = initial_mac_state(region, rejoin.gateway.topic_prefix, session)
    if rejoin.keep:
        rejoin.mac_state.applied = MacState.from_json(session.mac_state.to_json()).applied
        rejoin.cf_list = None
    if rejoin.request.rejoin_type == 1:
        rejoin.mac_state.rj_count1_next = rejoin.request.rj_count + 1


def ask_join_server(rejoin: Rejoin) -> str | None:
    request, rx = rejoin.request, rejoin.rx
    join_req = JoinReq(
        sender_id=SETTINGS.net_id,
        receiver_id=str(request.join_eui) if request.join_eui else "0000000000000000",
        transaction_id=secrets.randbits(32),
        mac_version=rejoin.session.mac_version,
        phy_payload=rejoin.frame.phy.to_bytes().hex(),
        dev_eui=rejoin.dev_eui,
        dev_addr=str(rejoin.dev_addr),
        dl_settings=DLSettings(rx1_dr_offset=rx.rx1_dr_offset, rx2_dr=rx.rx2_dr).to_byte(),
        rx_delay=rx.rx1_delay_s,
        cf_list=rejoin.cf_list,
        message_type="RejoinReq",
    )
    answer = call_join_server(rejoin.frame.ports, join_req)
    rejoin.answer = answer
    if answer.result_code == "Success" and answer.phy_payload:
        return None
    if request.rejoin_type in (0, 2):  # authentic (MIC checked here): a replay of it is refused too
        setattr(rejoin.session.mac_state, rejoin.counter, request.rj_count + 1)
        rejoin.session.save()
    failed_mic = answer.result_code == "MICFailed"
    return refuse(
        rejoin,
        f"join server: {answer.result_code} {answer.description}",
        "mic_failure" if failed_mic else "rejoin_rejected",
        "MICFailures" if failed_mic else "RejoinsRejected",
    )


def check_rejoin_windows(rejoin: Rejoin) -> str | None:
    """The rejoin's class A windows the JoinAccept can still meet, as for a JoinRequest (`join.py`):
    checked before the join server and again after it; with neither left, nothing changes (the session
    the device uses stands, no JoinAccept, no `join` event) and the device rejoins again."""
    windows = join_accept_windows(rejoin.frame, int(rejoin.session.rx1_delay))
    if windows is None:
        return "too_late"
    rejoin.windows = windows
    return None


def save_session(rejoin: Rejoin) -> None:
    session = rejoin.session
    fields = session_fields(
        rejoin.dev_addr, session.mac_version, rejoin.frame.region, rejoin.gateway, rejoin.rx, rejoin.mac_state
    )
    if rejoin.keep:
        fields |= {
            "dr": int(session.dr),
            "tx_power_index": int(session.tx_power_index),
            "nb_trans": int(session.nb_trans),
            "adr": bool(session.adr),
            "device_class": session.device_class,
        }
    store.store_session(
        rejoin.answer,
        dev_eui=rejoin.dev_eui,
        fields=fields | carried_over(session),
        joined_at_ms=rejoin.gateway.received_at_ms,
    )


def send_join_accept(rejoin: Rejoin) -> None:
    """In the rejoin's class A windows, with the delays of the session it was sent in."""
    assert rejoin.answer.phy_payload is not None
    payload = bytes.fromhex(rejoin.answer.phy_payload)
    if not rejoin.windows.rx1:
        rejoin.frame.ports.count("DownlinksRX2Only")
        logger.info("RX1 can no longer be met: the JoinAccept goes in RX2 only")
    frame = class_a_downlink(
        rejoin.frame.region, rejoin.gateway, payload, class_a_windows(rejoin.session), rx1=rejoin.windows.rx1
    )
    rejoin.frame.ports.publish(command_topic(rejoin.gateway), frame)
    rejoin.frame.sent = frame
    rejoin.frame.ports.count("Rejoins")
    logger.append_keys(dev_addr=str(rejoin.dev_addr))


def record_frames(rejoin: Rejoin) -> None:
    """The RejoinRequest and its JoinAccept in the frame log (`record.py`)."""
    record.record_join(rejoin.frame, rejoin.session)


def send_join_event(rejoin: Rejoin) -> str:
    details = {"rejoinType": rejoin.request.rejoin_type}
    rejoin.frame.ports.send_event(
        NetworkEvent(
            "join",
            rejoin.dev_eui,
            now_iso(),
            dev_addr=str(rejoin.dev_addr),
            deduplication_id=rejoin.frame.deduplication_id,
            rx_info=rejoin.frame.rx_info,
            details=details,
        )
    )
    logger.info("rejoin answered", extra={"rj_count": rejoin.request.rj_count})
    return "rejoined"


STEPS = (
    find_session,
    check_mic,
    check_rj_count,
    propose_session,
    check_rejoin_windows,
    ask_join_server,
    check_rejoin_windows,
    save_session,
    send_join_accept,
    record_frames,
    send_join_event,
)


def class_a_windows(session: DeviceSession) -> RxParameters:
    return RxParameters(
        int(session.rx1_delay), int(session.rx1_dr_offset), int(session.rx2_dr), int(session.rx2_frequency)
    )
