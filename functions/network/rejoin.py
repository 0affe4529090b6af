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
from typing import TYPE_CHECKING

from functions.lorawan import security
from functions.lorawan.join import DLSettings, RejoinRequest
from functions.lorawan.phypayload import PHYPayload
from functions.lorawan.types import DevAddr, NetID
from functions.network.mac import applied, mac_state
from functions.network.observability import logger
from functions.network.receptions import Reception, region_for_prefix
from functions.network.scheduling import RxParameters, class_a_downlink, command_topic, downlink_reception
from functions.shared.interface import JoinAns, JoinReq, NetworkEvent
from functions.shared.models import DeviceSession
from functions.shared.settings import SETTINGS

if TYPE_CHECKING:
    from functions.network.uplink import Ports


def _reject(
    pipeline: Ports, reason: str, status: str = "rejoin_rejected", metric: str = "RejoinsRejected"
) -> str:
    pipeline.count(metric)
    logger.warning("RejoinRequest refused", extra={"reason": reason})
    return status


def handle_rejoin(phy: PHYPayload, receptions: tuple[Reception, ...], dedup_id: str, pipeline: Ports) -> str:
    from functions.network.uplink import _event, _now_iso, initial_mac_state, session_keys, store_session

    request = phy.payload
    assert isinstance(request, RejoinRequest)
    best = downlink_reception(receptions, pipeline.count)
    region = region_for_prefix(best.topic_prefix)
    dev_eui = str(request.dev_eui)
    logger.append_keys(dev_eui=dev_eui, rejoin_type=request.rejoin_type)
    try:
        session = DeviceSession.get(dev_eui, consistent_read=True)
    except DeviceSession.DoesNotExist:
        return _reject(pipeline, "no session here (roaming is not supported)")
    logger.append_keys(dev_addr=session.dev_addr)
    if not session.mac_version.startswith("1.1"):
        return _reject(pipeline, "RejoinRequests are LoRaWAN 1.1; this session is " + session.mac_version)
    state = mac_state(session)
    if request.rejoin_type in (0, 2):
        if request.net_id != NetID.parse(SETTINGS.net_id):
            return _reject(pipeline, f"NetID {request.net_id} is not this network's")
        keys = session_keys(session)
        if security.rejoin_request_mic(phy, keys["s_nwk_s_int_key"]) != phy.mic:
            return _reject(pipeline, "MIC does not match SNwkSIntKey", "mic_failure", "MICFailures")
        counter = "rj_count0_next"
    else:
        counter = "rj_count1_next"
    expected = int(state.get(counter, 0))
    if request.rj_count < expected:
        pipeline.count("Replays")
        logger.warning("RJcount replayed", extra={"rj_count": request.rj_count, "expected": expected})
        return "replay"
    keep = request.rejoin_type == 2  # rekey only: DevAddr and radio parameters stay
    dev_addr = DevAddr.parse(session.dev_addr) if keep else DevAddr.random(NetID.parse(SETTINGS.net_id))
    if keep:
        rx = RxParameters(
            int(session.rx1_delay),
            int(session.rx1_dr_offset),
            int(session.rx2_dr),
            int(session.rx2_frequency),
        )
    else:
        rx = RxParameters(SETTINGS.rx1_delay_s, 0, region.rx2.dr, region.rx2.frequency)
    new_state, cf_list = initial_mac_state(region, best.topic_prefix, session)
    if keep:
        new_state["applied"] = dict(applied(session))
        cf_list = None
    if request.rejoin_type == 1:
        new_state["rj_count1_next"] = request.rj_count + 1
    join_req = JoinReq(
        sender_id=SETTINGS.net_id,
        receiver_id=str(request.join_eui) if request.join_eui else "0000000000000000",
        transaction_id=secrets.randbits(32),
        mac_version=session.mac_version,
        phy_payload=phy.to_bytes().hex(),
        dev_eui=dev_eui,
        dev_addr=str(dev_addr),
        dl_settings=DLSettings(rx1_dr_offset=rx.rx1_dr_offset, rx2_dr=rx.rx2_dr).to_byte(),
        rx_delay=rx.rx1_delay_s,
        cf_list=cf_list,
        message_type="RejoinReq",
    )
    if not SETTINGS.join_server_function:
        raise RuntimeError("JOIN_SERVER_FUNCTION is not set")
    answer = JoinAns.from_dict(
        pipeline.invoke(SETTINGS.join_server_function, join_req.to_dict(), wait=True) or {}
    )
    if answer.result_code != "Success" or not answer.phy_payload:
        if request.rejoin_type in (0, 2):  # authentic (MIC checked here): a replay of it is refused too
            state[counter] = request.rj_count + 1
            session.mac_state = state
            session.save()
        metric = "MICFailures" if answer.result_code == "MICFailed" else "RejoinsRejected"
        status = "mic_failure" if answer.result_code == "MICFailed" else "rejoin_rejected"
        return _reject(pipeline, f"join server: {answer.result_code} {answer.description}", status, metric)
    extra = {}
    if keep:
        extra = {
            "dr": int(session.dr),
            "tx_power_index": int(session.tx_power_index),
            "nb_trans": int(session.nb_trans),
            "adr": bool(session.adr),
            "device_class": session.device_class,
        }
    store_session(
        answer,
        dev_eui=dev_eui,
        dev_addr=dev_addr,
        mac_version=session.mac_version,
        region=region,
        reception=best,
        rx=rx,
        mac_state=new_state,
        extra=extra,
    )
    # The answer goes out in the rejoin's class A windows, with the delays of the session it was sent in.
    windows = RxParameters(
        int(session.rx1_delay), int(session.rx1_dr_offset), int(session.rx2_dr), int(session.rx2_frequency)
    )
    frame = class_a_downlink(region, best, bytes.fromhex(answer.phy_payload), windows)
    pipeline.publish(command_topic(best), frame)
    pipeline.count("Rejoins")
    logger.append_keys(dev_addr=str(dev_addr))
    rx_info = [r.rx_info for r in receptions]
    details = {"rejoinType": request.rejoin_type}
    event = NetworkEvent("join", dev_eui, _now_iso(), dev_addr=str(dev_addr), deduplication_id=dedup_id,
                         rx_info=rx_info, details=details)  # fmt: skip
    _event(pipeline, event)
    logger.info("rejoin answered", extra={"rj_count": request.rj_count})
    return "rejoined"
