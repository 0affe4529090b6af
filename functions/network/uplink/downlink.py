"""README step 5 and the last of 7: what the class A downlink of a data uplink carries, which gateway
sends it, and sending it (RX1 + RX2 items in one gw.DownlinkFrame, `scheduling.py`)."""

from __future__ import annotations

from functions.lorawan.mac_commands import encode_mac_commands
from functions.network import store
from functions.network.frames import MAX_F_OPTS, build_downlink
from functions.network.mac.channels import uplink_channel_index
from functions.network.mac.discipline import keep_pending, record_sent
from functions.network.mac.units import fit
from functions.network.observability import logger
from functions.network.scheduling import RxParameters, class_a_downlink, command_topic, downlink_reception
from functions.network.uplink.context import DataUplink, now_iso
from functions.shared.interface import NetworkEvent, application_server


def take_queue_head(up: DataUplink) -> None:
    """The application payload this downlink carries, if it fits: a confirmed downlink waiting for this
    device's ACK is acknowledged or sent again; a payload beyond the RX1 data rate's N stays queued; a
    payload that would leave the answers to the device's requests no room waits (FPending is set)."""
    session, region = up.session, up.region
    head = application_server().queue_head(session.dev_eui)
    if head and head[0].f_cnt is not None:  # a confirmed downlink waits for this device's ACK
        if up.mac_payload.fhdr.f_ctrl.ack:
            head, up.acked = head[1:], head[0]
        else:
            up.ports.count("DownlinkRetries")  # sent again, with a new counter
    up.head = head
    item = head[0] if head else None
    dwell = bool(session.mac_state.applied.downlink_dwell_time)
    rx1_dr = region.rx1_data_rate(up.best.data_rate, int(session.rx1_dr_offset), dwell)
    up.limit = region.max_payload_size(rx1_dr, dwell).n  # RP002 maximum payload size (N: FOpts empty)
    if item is not None and len(item.payload) > up.limit:
        up.ports.count("DownlinksTooLarge")
        logger.warning(
            "queued payload does not fit the data rate; kept queued",
            extra={"size": len(item.payload), "limit": up.limit},
        )
        item = None
    answers_size = sum(unit.size for unit in up.mac.answers)
    if item is not None and (answers_size > MAX_F_OPTS or len(item.payload) + answers_size > up.limit):
        logger.info(
            "queued payload waits: the MAC answers take this downlink", extra={"answers": answers_size}
        )
        item = None  # answers to the device's requests come first; FPending tells it more waits
    up.item = item


def fit_mac_commands(up: DataUplink) -> None:
    """The units that go into this downlink: with an application payload, at most 15 octets of FOpts
    beside it; without, FOpts when all fit in 15 octets, else FPort 0 up to the data rate's N (1.0.4
    §4.3.1.6). Requests that go are recorded as pending; the others wait for the next downlink."""
    units = up.units
    if up.item is not None:
        capacity = min(MAX_F_OPTS, up.limit - len(up.item.payload))
    else:
        capacity = MAX_F_OPTS if sum(u.size for u in units) <= MAX_F_OPTS else up.limit
    included, left = fit(units, capacity)
    for unit in left:
        if unit.is_request:
            up.ports.count("MACCommandsDeferred")
            if unit.attempts:
                keep_pending(up.session, unit)
        else:
            up.ports.count("MACAnswersDropped")
    if left:
        logger.info(
            "MAC commands did not fit this downlink",
            extra={"left": [u.name for u in left], "capacity": capacity},
        )
    for unit in included:
        if unit.is_request:
            record_sent(up.session, unit, up.ports.count, f_cnt=up.f_cnt, now=up.now)
    up.included = included


def build_frame(up: DataUplink) -> None:
    """A downlink is due for a confirmed uplink (ACK), MAC commands, ADRACKReq, a queued payload or a
    sticky answer (RXParamSetupAns, RXTimingSetupAns, DlChannelAns: the device repeats it until it hears
    one). Building it advances the session's downlink counter."""
    mac_bytes = encode_mac_commands([command for unit in up.included for command in unit.commands])
    item = up.item
    on_port_0 = item is None and len(mac_bytes) > MAX_F_OPTS
    adr_ack_req = up.mac_payload.fhdr.f_ctrl.adr_ack_req
    if not (up.confirmed or up.included or adr_ack_req or item is not None or up.mac.needs_downlink):
        return
    up.built = build_downlink(
        up.session,
        up.keys,
        ack=up.confirmed,
        uplink_f_cnt=up.f_cnt,
        f_opts=b"" if on_port_0 else mac_bytes,
        item=item,
        app_s_key=store.app_s_key_of(up.session, up.keys) if item is not None else None,
        f_pending=len(up.head) > (1 if item is not None else 0),
        mac_frm_payload=mac_bytes if on_port_0 else b"",
    )


def choose_gateway(up: DataUplink) -> None:
    """The best gateway that can still transmit sends the downlink (`scheduling.downlink_reception`); the
    session remembers it for class C."""
    up.gateway = downlink_reception(up.frame.receptions, up.ports.count) if up.built is not None else up.best
    up.session.last_gateway_id, up.session.last_topic_prefix = up.gateway.gateway_id, up.gateway.topic_prefix


def settle_queue(up: DataUplink) -> None:
    """The acknowledged confirmed downlink leaves the queue (`ack` event); the one sent now is marked sent
    (confirmed: it waits for the ACK) or removed (unconfirmed)."""
    dev_eui, queue = up.session.dev_eui, application_server()
    if up.acked is not None:
        queue.remove_from_queue(dev_eui, up.acked.item_id)
        details = {"acknowledged": True, "fCntDown": up.acked.f_cnt}
        up.ports.send_event(NetworkEvent("ack", dev_eui, now_iso(), details=details))
    built = up.built
    if built is not None and built.item is not None:
        if built.item.confirmed:
            queue.mark_sent(dev_eui, built.item.item_id, built.f_cnt)
        else:
            queue.remove_from_queue(dev_eui, built.item.item_id)


def send_downlink(up: DataUplink) -> None:
    """RX1 (on the frequency a DlChannelReq set for the uplink channel) and RX2, the latter only when RX2's
    data rate can carry the frame (never beyond M there); recorded for the gateway's TX ack."""
    built = up.built
    if built is None:
        return
    session, region, gateway = up.session, up.region, up.gateway
    rx = RxParameters(
        int(session.rx1_delay), int(session.rx1_dr_offset), int(session.rx2_dr), int(session.rx2_frequency)
    )
    dwell = bool(session.mac_state.applied.downlink_dwell_time)
    rx2 = len(built.phy_payload) - 5 <= region.max_payload_size(int(session.rx2_dr), dwell).m
    frame = class_a_downlink(region, gateway, built.phy_payload, rx, rx1_frequency=rx1_frequency(up), rx2=rx2)
    store.record_downlink(
        frame["downlinkId"],
        dev_eui=session.dev_eui,
        gateway_id=gateway.gateway_id,
        kind="application" if built.item else "network",
        f_cnt=built.f_cnt,
    )
    up.ports.publish(command_topic(gateway), frame)
    up.ports.count("Downlinks")


def rx1_frequency(up: DataUplink) -> int | None:
    """A DlChannelReq the device acknowledged moves RX1 of that uplink channel (1.0.4 §5.9)."""
    downlink_channels = up.session.mac_state.applied.downlink_channels
    if not downlink_channels:
        return None
    channel = uplink_channel_index(up.session, up.region, up.gateway.frequency)
    value = downlink_channels.get(str(channel))
    return int(value) if value else None
