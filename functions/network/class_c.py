"""Class C: a queued downlink leaves at once through the gateway that last heard the device, in RX2
parameters, instead of waiting for an uplink (LoRaWAN 1.0.4 §17). The application server invokes this
after queueing for a class C device; an uplink still serves the queue as for class A."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.exceptions import PutError

from functions.network import session_keys, store
from functions.network.frame_recording import SentDownlink, record_downlink
from functions.network.frames import build_downlink
from functions.network.observability import logger
from functions.network.queue_events import SendEvent, report_queue
from functions.network.receptions import region_for_prefix
from functions.network.scheduling import RxParameters, class_c_downlink
from functions.shared.interface import NetworkEvent, application_server
from functions.shared.settings import SETTINGS


def network_event_sender() -> SendEvent:
    """Events for the application server (asynchronous invoke of `NetworkEvents`)."""
    from functions.shared import aws

    def send(event: NetworkEvent) -> None:
        if SETTINGS.network_events_function:
            aws.invoke(SETTINGS.network_events_function, event.to_dict(), wait=False)

    return send


def send_class_c(
    dev_eui: str,
    publish: Callable[[str, dict[str, Any]], None],
    count: Callable[[str], None],
    send_event: SendEvent | None = None,
) -> str:
    """Send the head of a class C device's queue now. A confirmed item sent earlier and not answered within
    the class C timeout is given up (`ack`, false) and the next one goes; one still within it holds the
    queue."""
    application = application_server()
    supports_class_c = application.supports_class_c(dev_eui)
    session = store.session_of(dev_eui)
    if supports_class_c is None or session is None:
        return "no_session"
    class_c = supports_class_c or session.device_class == "C"  # provisioned, or DeviceModeInd (1.1)
    if not class_c or session.last_gateway_id is None or session.last_topic_prefix is None:
        return "not_class_c"
    head = application.queue_head(dev_eui, ack=None)
    report_queue(head, dev_eui, send_event or network_event_sender(), count)
    if head.waiting is not None:
        return "waiting_for_ack"  # a confirmed downlink still within its answer time
    item = head.items[0] if head.items else None
    if item is None:
        return "nothing_to_send"
    region = region_for_prefix(session.last_topic_prefix)
    if len(item.payload) > region.max_payload_size(int(session.rx2_dr)).n:
        count("DownlinksTooLarge")
        return "too_large"
    keys = session_keys.session_keys(session)
    built = build_downlink(
        session,
        keys,
        ack=False,
        uplink_f_cnt=0,
        f_opts=b"",
        item=item,
        app_s_key=store.app_s_key_of(session, keys),
        f_pending=head.f_pending,
    )
    try:
        session.save()
    except PutError:
        count("ConcurrentUpdates")
        return "conflict"
    rx = RxParameters(
        int(session.rx1_delay), int(session.rx1_dr_offset), int(session.rx2_dr), int(session.rx2_frequency)
    )
    if not application.mark_sent(dev_eui, item.item_id, built.f_cnt):  # until the TX ack (confirmed: the ACK)
        count("QueueItemsTakenElsewhere")  # another invocation sends it; this FCntDown is a gap
        logger.warning("queue item sent by another invocation; class C downlink not sent")
        return "taken"
    frame = class_c_downlink(region, session.last_gateway_id, built.phy_payload, rx)
    store.record_downlink(
        frame["downlinkId"],
        dev_eui=dev_eui,
        gateway_id=session.last_gateway_id,
        kind="class_c",
        f_cnt=built.f_cnt,
        queue_item_id=item.queue_item_id,
    )
    publish(f"{session.last_topic_prefix}/gateway/{session.last_gateway_id}/command/down", frame)
    count("DownlinksClassC")
    record_downlink(dev_eui=dev_eui, downlink=SentDownlink(built.phy_payload, frame, region))
    logger.info("class C downlink sent", extra={"gateway_id": session.last_gateway_id})
    return "sent"
