"""Class C: a queued downlink leaves at once through the gateway that last heard the device, in RX2
parameters, instead of waiting for an uplink (LoRaWAN 1.0.4 §17). The application server invokes this
after queueing for a class C device; an uplink still serves the queue as for class A."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError

from functions.lorawan.types import AES128Key
from functions.network.events import region_for_prefix
from functions.network.frames import build_downlink
from functions.network.observability import logger
from functions.network.scheduling import RxParameters, class_c_downlink
from functions.network.uplink import app_s_key_of
from functions.shared import envelope, queue
from functions.shared.models import Device, DeviceSession, PendingDownlink


def send_class_c(
    dev_eui: str, publish: Callable[[str, dict[str, Any]], None], count: Callable[[str], None]
) -> str:
    try:
        device = Device.get(dev_eui)
        session = DeviceSession.get(dev_eui)
    except (Device.DoesNotExist, DeviceSession.DoesNotExist):
        return "no_session"
    class_c = device.supports_class_c or session.device_class == "C"  # provisioned, or DeviceModeInd (1.1)
    if not class_c or session.last_gateway_id is None or session.last_topic_prefix is None:
        return "not_class_c"
    head = queue.pending(dev_eui)
    item = head[0] if head else None
    if item is None or item.f_cnt is not None:
        return "nothing_to_send"  # empty, or a confirmed downlink still waiting for its ACK
    region = region_for_prefix(session.last_topic_prefix)
    if len(item.payload) > region.max_payload_size(int(session.rx2_dr)).n:
        count("DownlinksTooLarge")
        return "too_large"
    keys = {k: AES128Key.parse(v) for k, v in envelope.open_sealed(session.net_keys, context=dev_eui).items()}
    built = build_downlink(
        session,
        keys,
        ack=False,
        uplink_f_cnt=0,
        f_opts=b"",
        item=item,
        app_s_key=app_s_key_of(dev_eui),
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
    PendingDownlink(
        frame["downlinkId"],
        dev_eui=dev_eui,
        gateway_id=session.last_gateway_id,
        kind="class_c",
        f_cnt=built.f_cnt,
        queue_item_id=item.queue_item_id,
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
    ).save()
    if item.confirmed:
        queue.mark_sent(dev_eui, item.item_id, built.f_cnt)
    else:
        queue.remove(dev_eui, item.item_id)
    publish(f"{session.last_topic_prefix}/gateway/{session.last_gateway_id}/command/down", frame)
    count("DownlinksClassC")
    logger.info("class C downlink sent", extra={"gateway_id": session.last_gateway_id})
    return "sent"
