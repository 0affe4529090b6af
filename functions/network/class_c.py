"""Class C: a queued downlink leaves at once through the gateway that last heard the device, in RX2
parameters, instead of waiting for an uplink (LoRaWAN 1.0.4 §17). The application server invokes this
after queueing for a class C device; an uplink still serves the queue as for class A."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.exceptions import PutError

from functions.network import store
from functions.network.frames import build_downlink
from functions.network.observability import logger
from functions.network.receptions import region_for_prefix
from functions.network.scheduling import RxParameters, class_c_downlink
from functions.shared.interface import application_server


def send_class_c(
    dev_eui: str, publish: Callable[[str, dict[str, Any]], None], count: Callable[[str], None]
) -> str:
    application = application_server()
    supports_class_c = application.supports_class_c(dev_eui)
    session = store.session_of(dev_eui)
    if supports_class_c is None or session is None:
        return "no_session"
    class_c = supports_class_c or session.device_class == "C"  # provisioned, or DeviceModeInd (1.1)
    if not class_c or session.last_gateway_id is None or session.last_topic_prefix is None:
        return "not_class_c"
    head = application.queue_head(dev_eui)
    item = head[0] if head else None
    if item is None or item.f_cnt is not None:
        return "nothing_to_send"  # empty, or a confirmed downlink still waiting for its ACK
    region = region_for_prefix(session.last_topic_prefix)
    if len(item.payload) > region.max_payload_size(int(session.rx2_dr)).n:
        count("DownlinksTooLarge")
        return "too_large"
    keys = store.session_keys(session)
    built = build_downlink(
        session,
        keys,
        ack=False,
        uplink_f_cnt=0,
        f_opts=b"",
        item=item,
        app_s_key=store.app_s_key_of(session, keys),
        f_pending=len(head) > 1,
    )
    try:
        session.save()
    except PutError:
        count("ConcurrentUpdates")
        return "conflict"
    rx = RxParameters(
        int(session.rx1_delay), int(session.rx1_dr_offset), int(session.rx2_dr), int(session.rx2_frequency)
    )
    frame = class_c_downlink(region, session.last_gateway_id, built.phy_payload, rx)
    store.record_downlink(
        frame["downlinkId"],
        dev_eui=dev_eui,
        gateway_id=session.last_gateway_id,
        kind="class_c",
        f_cnt=built.f_cnt,
    )
    if item.confirmed:
        application.mark_sent(dev_eui, item.item_id, built.f_cnt)
    else:
        application.remove_from_queue(dev_eui, item.item_id)
    publish(f"{session.last_topic_prefix}/gateway/{session.last_gateway_id}/command/down", frame)
    count("DownlinksClassC")
    logger.info("class C downlink sent", extra={"gateway_id": session.last_gateway_id})
    return "sent"
