"""README step 5 and the last of 7: what the class A downlink of a data uplink carries, which gateway
sends it, and sending it (RX1 + RX2 items in one gw.DownlinkFrame, `scheduling.py`), only in the windows
it can still meet (README "Downlinks that would miss their window")."""

from __future__ import annotations

from functions.lorawan.mac_commands import encode_mac_commands
from functions.network import store
from functions.network.frames import MAX_F_OPTS, build_downlink
from functions.network.mac.channels import uplink_channel_index
from functions.network.mac.discipline import keep_pending, record_sent
from functions.network.mac.units import fit
from functions.network.observability import logger
from functions.network.queue_events import report_queue
from functions.network.scheduling import (
    RxParameters,
    Windows,
    class_a_downlink,
    command_topic,
    downlink_reception,
    heard_at_s,
    reachable_windows,
)
from functions.network.uplink.context import DataUplink
from functions.shared.interface import QueueHead, application_server
from functions.shared.settings import SETTINGS


def windows_now(up: DataUplink) -> Windows:
    """The windows of this uplink a downlink published now still meets (`DOWNLINK_MARGIN_MS` before
    each opens)."""
    heard_at = heard_at_s(up.frame.receptions)
    return reachable_windows(
        heard_at, int(up.session.rx1_delay), up.ports.clock(), SETTINGS.downlink_margin_s
    )


def plan_windows(up: DataUplink) -> None:
    """Before anything is committed to a downlink: with no window left, the queued payload stays queued,
    MAC requests wait and no downlink counter is used (`build_frame` counts the downlink missed); with
    RX1 gone, the content is sized for RX2. `send_downlink` checks again at the last moment."""
    if not up.late:
        up.windows = windows_now(up)


def missed_windows(up: DataUplink, reason: str, **extra: object) -> None:
    """A due downlink that no window can take any more: counted and logged; nothing is published."""
    up.ports.count("DownlinksTooLate")
    heard_at = heard_at_s(up.frame.receptions)
    logger.warning(
        reason,
        extra={
            "past_rx2_s": round(up.ports.clock() - (heard_at or 0) - int(up.session.rx1_delay) - 1, 3),
            "rx1_delay_s": int(up.session.rx1_delay),
            "margin_s": SETTINGS.downlink_margin_s,
            "queued": len(up.head.items),
            **extra,
        },
    )


def read_queue(up: DataUplink, *, ack: bool, answer_after_s: float) -> QueueHead:
    """The queue as this uplink finds it. A session that knows its queue empty spares the query (issue 16:
    one DynamoDB Query per uplink, for most devices an empty one); otherwise the answer tells the session,
    saved by `save_session`: known empty only when nothing at all is left in the queue (nothing to send,
    too large or too late included; nothing sent and awaiting its ACK or TX ack; what the query resolved
    is gone). Any write to the queue clears it (`functions/network/queue_state.py`, which says why that
    write's `version` bump keeps a concurrent save of "known empty" from stranding an item)."""
    session = up.session
    if session.queue_empty:  # not counted: a metric on every uplink would cost log bytes of its own
        head = QueueHead()
    else:
        head = application_server().queue_head(session.dev_eui, ack=ack, answer_after_s=answer_after_s)
        session.queue_empty = not head.items and head.waiting is None
    before = up.resolved_before
    if before is not None:  # removed from the queue by the run that lost its save: reported by this one
        head.acknowledged = head.acknowledged or before.acknowledged
        head.unacknowledged = [*before.unacknowledged, *head.unacknowledged]
        head.expired = [*before.expired, *head.expired]
    return head


def take_queue_head(up: DataUplink) -> None:
    """The application payload this downlink carries, if it fits. What earlier downlinks left is resolved
    first, as ChirpStack does: the confirmed downlink this uplink acknowledges (ACK bit) or, without the
    ACK, gives up on (each reported in `settle_queue`); expired items go. A payload beyond the RX1 data
    rate's N stays queued; a payload that would leave the answers to the device's requests no room waits
    (FPending is set)."""
    session, region = up.session, up.region
    if up.late:  # no downlink for it: the queue waits for the device's next frame
        return
    ack = bool(up.mac_payload.fhdr.f_ctrl.ack)
    # A device cannot answer a downlink before its RX windows closed: an uplink that early gives nothing up.
    answer_after_s = int(session.rx1_delay) + 1
    up.head = head = read_queue(up, ack=ack, answer_after_s=answer_after_s)
    item = head.items[0] if head.items else None
    if not up.windows.any:
        item = None  # no window left: it waits for the next opportunity, unsent and unmarked
    dwell = bool(session.mac_state.applied.downlink_dwell_time)
    dr = region.rx1_data_rate(up.best.data_rate, int(session.rx1_dr_offset), dwell)
    if not up.windows.rx1:
        dr = int(session.rx2_dr)  # RX1 gone: the frame must fit RX2
    up.limit = region.max_payload_size(dr, dwell).n  # RP002 maximum payload size (N: FOpts empty)
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
    if not up.windows.any:
        capacity = 0  # no downlink: requests wait (still pending ones stay pending), answers are dropped
    elif up.item is not None:
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
    if up.late:  # its RX windows closed before the newer frame was sent (issue 15, README)
        return
    if not up.windows.any:
        if up.confirmed or up.units or adr_ack_req or up.head.items or up.mac.needs_downlink:
            missed_windows(up, "downlink due but no receive window left; nothing sent, queue kept")
        return
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
        f_pending=len(up.head.items) > (1 if item is not None else 0),
        mac_frm_payload=mac_bytes if on_port_0 else b"",
    )


def choose_gateway(up: DataUplink) -> None:
    """The best gateway that can still transmit sends the downlink (`scheduling.downlink_reception`); the
    session remembers it for class C."""
    up.gateway = downlink_reception(up.frame.receptions, up.ports.count) if up.built is not None else up.best
    if not up.late:  # the newer frame's gateway stays the one that last heard the device
        up.session.last_gateway_id, up.session.last_topic_prefix = (
            up.gateway.gateway_id,
            up.gateway.topic_prefix,
        )


def settle_queue(up: DataUplink) -> None:
    """`ack` events for the confirmed downlink this uplink acknowledged or gave up on, `log` EXPIRED for
    items dropped unsent; the item sent now is marked sent at once, conditionally (the mark is the claim:
    another invocation of the device may have read the same head before its conflicting save): it stays
    queued until the gateway's TX ack (confirmed: until the device's ACK), or `send_downlink` puts it back
    if it cannot go."""
    dev_eui = up.session.dev_eui
    report_queue(up.head, dev_eui, up.ports.send_event, up.ports.count,
                 deduplication_id=up.frame.deduplication_id)  # fmt: skip
    built = up.built
    item = built.item if built is not None else None
    if (
        built is not None
        and item is not None
        and not application_server().mark_sent(dev_eui, item.item_id, built.f_cnt)
    ):
        # Another invocation of this device took the item between our read and now: it sends it. This
        # frame (built around it) stays unsent: its FCntDown is a gap the device accepts, its requests
        # count as unanswered and go again, as after a frame lost on the air.
        up.built = None
        up.ports.count("QueueItemsTakenElsewhere")
        logger.warning(
            "queue item sent by another invocation; this downlink is not sent",
            extra={"queue_item_id": item.queue_item_id, "f_cnt_down": built.f_cnt},
        )


def send_downlink(up: DataUplink) -> None:
    """RX1 (on the frequency a DlChannelReq set for the uplink channel) and RX2, each only while it can
    still be met (checked again now), RX2 only when its data rate can carry the frame (never beyond M
    there); recorded for the gateway's TX ack. A frame no window takes any more is not published: its
    item goes back to the queue as not sent; the downlink counter it used is a gap the device accepts, as
    after a frame lost on the air (LoRaWAN 1.0.4 §4.3.1.5), and requests in it count as unanswered."""
    built = up.built
    if built is None:
        return
    session, region, gateway = up.session, up.region, up.gateway
    rx = RxParameters(
        int(session.rx1_delay), int(session.rx1_dr_offset), int(session.rx2_dr), int(session.rx2_frequency)
    )
    dwell = bool(session.mac_state.applied.downlink_dwell_time)
    windows = windows_now(up)
    rx2 = windows.rx2 and len(built.phy_payload) - 5 <= region.max_payload_size(int(session.rx2_dr), dwell).m
    if not (windows.rx1 or rx2):
        if built.item is not None:
            application_server().not_transmitted(session.dev_eui, built.item.queue_item_id)
        missed_windows(up, "downlink built but no receive window left; not sent, queue kept",
                       f_cnt_down=built.f_cnt)  # fmt: skip
        return
    if not windows.rx1:
        up.ports.count("DownlinksRX2Only")
        logger.info("RX1 can no longer be met: the downlink goes in RX2 only")
    frame = class_a_downlink(region, gateway, built.phy_payload, rx, rx1_frequency=rx1_frequency(up),
                             rx1=windows.rx1, rx2=rx2)  # fmt: skip
    store.record_downlink(
        frame["downlinkId"],
        dev_eui=session.dev_eui,
        gateway_id=gateway.gateway_id,
        kind="application" if built.item else "network",
        f_cnt=built.f_cnt,
        queue_item_id=built.item.queue_item_id if built.item else None,
        first_window=1 if windows.rx1 else 2,
    )
    up.ports.publish(command_topic(gateway), frame)
    up.frame.sent = frame
    up.ports.count("Downlinks")


def rx1_frequency(up: DataUplink) -> int | None:
    """A DlChannelReq the device acknowledged moves RX1 of that uplink channel (1.0.4 §5.9)."""
    downlink_channels = up.session.mac_state.applied.downlink_channels
    if not downlink_channels:
        return None
    channel = uplink_channel_index(up.session, up.region, up.gateway.frequency)
    value = downlink_channels.get(str(channel))
    return int(value) if value else None
