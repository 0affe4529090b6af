"""Frame logs and metrics through the REST API against DynamoDB on moto: what the network server
records (functions/network/frame_recording.py) is paged and decoded per device and gateway, only while
someone watches; a device's counters always, one update per frame; a gateway's from its own stats
reports; tenants see only their own."""

from __future__ import annotations

import base64
import time
from typing import Any

from functions.lorawan.device import EndDeviceSession, abp
from functions.lorawan.keys import session_keys_1_0
from functions.lorawan.mac_commands import LinkADRReq, encode_mac_commands
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64, AES128Key, DevAddr, NetID
from functions.network import gateway_registry
from functions.network.frame_recording import SentDownlink, record_rejected, record_tx_ack, record_uplink
from functions.network.gateways import gateway_event
from functions.network.receptions import Reception
from functions.network.scheduling import RxParameters, class_a_downlink
from functions.shared import frame_log
from functions.shared.frame_log import device_subject, gateway_subject
from functions.shared.frame_tables import FrameLogItem, MetricsBucket
from tests.support.api import call, make_tenant, ok

EU868 = get_region("EU868")


def reception(phy: bytes, gateway_id: str, *, dr: int = 5, rssi: int = -60, snr: float = 7.5,
              frequency: int = 868_100_000) -> Reception:  # fmt: skip
    """A gateway's copy, with its watch flag as the uplink function reads it with the registration."""
    return Reception(phy, gateway_id, "eu868", 1, frequency, dr, rssi, snr,
                     base64.b64encode(b"\x00\x00\x00\x01").decode(), int(time.time() * 1000),
                     gateway_watched=gateway_registry.watched(gateway_id))  # fmt: skip


def reference_device(dev_eui: str) -> Any:
    keys = session_keys_1_0(AES128Key(bytes(range(16))), 1, NetID.parse("000000"), 1)
    return abp(
        EUI64.parse(dev_eui), EU868, EndDeviceSession.from_1_0(DevAddr.parse("26000001"), keys), seed=1
    )


def test_frames_are_logged_while_watched_and_decoded(dynamodb: str, admin_key: str) -> None:
    tenant = make_tenant(admin_key, "Acme")
    dev_eui, gateway_id = tenant.ids["dev_eui"], tenant.ids["gateway_id"]
    device = reference_device(dev_eui)
    first = device.uplink(1, b"\x01").phy_payload
    record_uplink(dev_eui=dev_eui, phy_payload=first, receptions=(reception(first, gateway_id),), f_cnt=0)
    assert FrameLogItem.count(device_subject(dev_eui)) == 0  # nobody watched: counters only

    listing = ok("GET", f"/devices/{dev_eui}/frames", token=tenant.viewer)  # opening the tab watches
    assert listing == {"items": [], "next_cursor": None}
    ok("GET", f"/gateways/{gateway_id}/frames", token=tenant.viewer)
    gateway_registry.forget()  # a warm function reads the gateway's flag again within MEMORY_S
    second = device.uplink(1, b"\x02").phy_payload
    other_gateway = "00800000a0000009"
    command = encode_mac_commands(
        [LinkADRReq(data_rate=3, tx_power=1, ch_mask=7, ch_mask_cntl=0, nb_trans=1)]
    )
    downlink_phy = bytes.fromhex("60010000260000000000000000000000")  # any bytes: the log keeps them
    frame = class_a_downlink(
        EU868, reception(second, gateway_id), downlink_phy, RxParameters(1, 0, 0, 869_525_000)
    )
    sent = SentDownlink(downlink_phy, frame, EU868, command)
    record_uplink(dev_eui=dev_eui, phy_payload=second, f_cnt=1, downlink=sent,
                  receptions=(reception(second, gateway_id, rssi=-110, snr=-3),
                              reception(second, other_gateway, rssi=-80, snr=9.0)))  # fmt: skip
    record_tx_ack(
        dev_eui=dev_eui, gateway_id=gateway_id, downlink_id=frame["downlinkId"], status="OK", window=2
    )

    items = ok("GET", f"/devices/{dev_eui}/frames", token=tenant.viewer)["items"]
    assert [i["kind"] for i in items] == ["tx_ack", "downlink", "uplink"]
    tx_ack, down, up = items
    assert up["decoded"]["mtype"] == "UnconfirmedDataUp" and up["decoded"]["f_cnt"] == 1
    assert up["decoded"]["dev_addr"] == "26000001" and up["decoded"]["f_port"] == 1
    assert {r["gateway_id"]: r["rssi"] for r in up["rx"]} == {gateway_id: -110, other_gateway: -80}
    assert down["decoded"]["mac_commands"][0]["name"] == "LinkADRReq"
    assert [w["window"] for w in down["windows"]] == ["RX1", "RX2"]
    assert down["windows"][1]["frequency"] == 869_525_000 and down["windows"][1]["dr"] == 0
    assert tx_ack["window"] == "RX2" and tx_ack["status"] == "OK"

    # paging: one at a time, newest first, and `since` for what is new
    first_page = ok("GET", f"/devices/{dev_eui}/frames?limit=1", token=tenant.viewer)
    assert first_page["items"][0]["kind"] == "tx_ack" and first_page["next_cursor"]
    second_page = ok("GET", f"/devices/{dev_eui}/frames?limit=1&cursor={first_page['next_cursor']}",
                     token=tenant.viewer)  # fmt: skip
    assert second_page["items"][0]["kind"] == "downlink"
    assert ok("GET", f"/devices/{dev_eui}/frames?since={tx_ack['id']}", token=tenant.viewer)["items"] == []

    gateway_items = ok("GET", f"/gateways/{gateway_id}/frames", token=tenant.viewer)["items"]
    assert [i["kind"] for i in gateway_items] == ["tx_ack", "downlink", "uplink"]
    assert gateway_items[2]["dev_eui"] == dev_eui
    assert FrameLogItem.count(gateway_subject(other_gateway)) == 0  # heard it, but nobody watches it
    # a gateway's copy writes no counter: its metrics come from its stats reports
    assert MetricsBucket.count(gateway_subject(other_gateway)) == 0
    assert MetricsBucket.count(gateway_subject(gateway_id)) == 0


def test_a_rejected_frame_is_in_the_gateways_log_with_its_reason(dynamodb: str, admin_key: str) -> None:
    tenant = make_tenant(admin_key, "Acme")
    gateway_id = tenant.ids["gateway_id"]
    ok("GET", f"/gateways/{gateway_id}/frames", token=tenant.gateway_admin)
    forged = reference_device("0102030405060708").uplink(2, b"\xff").phy_payload
    unwatched = "00800000a0000009"
    record_rejected(reason="mic_failure", phy_payload=forged,
                    receptions=(reception(forged, gateway_id), reception(forged, unwatched)))  # fmt: skip
    (item,) = ok("GET", f"/gateways/{gateway_id}/frames", token=tenant.gateway_admin)["items"]
    assert item["kind"] == "rejected" and item["reason"] == "mic_failure"
    assert item["decoded"]["dev_addr"] == "26000001"
    assert FrameLogItem.count(gateway_subject(unwatched)) == 0
    assert MetricsBucket.count(gateway_subject(gateway_id)) == 0  # no write per gateway copy


def test_metrics_by_hour_and_day_with_ranges(dynamodb: str, admin_key: str) -> None:
    tenant = make_tenant(admin_key, "Acme")
    dev_eui, gateway_id = tenant.ids["dev_eui"], tenant.ids["gateway_id"]
    device = reference_device(dev_eui)
    now = time.time()
    for index, (dr, rssi, at) in enumerate([(5, -60, now - 7200), (5, -70, now), (2, -100, now)]):
        phy = device.uplink(1, bytes([index])).phy_payload
        record_uplink(dev_eui=dev_eui, phy_payload=phy, f_cnt=index, now=at,
                      receptions=(reception(phy, gateway_id, dr=dr, rssi=rssi, snr=5.0),))  # fmt: skip
    record_tx_ack(dev_eui=dev_eui, gateway_id=gateway_id, downlink_id=7, status="TOO_LATE", window=1)

    metrics = ok("GET", f"/devices/{dev_eui}/metrics", token=tenant.viewer)
    assert metrics["aggregation"] == "hour" and len(metrics["items"]) == 24
    last = metrics["items"][-1]
    assert last["up"] == 2 and last["rssi"] == -85.0 and last["snr"] == 5.0 and last["errors"] == 1
    assert metrics["items"][-3]["up"] == 1
    assert metrics["dr"] == {"2": 1, "5": 2} and metrics["frequency"] == {"868100000": 3}
    assert metrics["errors"] == {"tx_too_late": 1}

    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 6 * 86400))
    daily = ok("GET", f"/devices/{dev_eui}/metrics?aggregation=day&start={start}", token=tenant.viewer)
    assert daily["aggregation"] == "day" and sum(i["up"] for i in daily["items"]) == 3

    # a gateway's dashboard: its stats reports, per frequency, data rate and TX status when it gives them
    gateway_event({
        "gatewayId": gateway_id, "topic_prefix": "eu868", "rxPacketsReceived": 7, "rxPacketsReceivedOk": 5,
        "txPacketsReceived": 2, "txPacketsEmitted": 1,
        "rxPacketsPerFrequency": {"868100000": 4, "868300000": 1},
        "rxPacketsPerModulation": [
            {"modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": sf, "codeRate": "CR_4_5"}},
             "count": count} for sf, count in ((7, 3), (10, 2))
        ],
        "txPacketsPerFrequency": {"869525000": 1},
        "txPacketsPerStatus": {"OK": 1, "TOO_LATE": 1},
    })  # fmt: skip
    gateway = ok("GET", f"/gateways/{gateway_id}/metrics", token=tenant.viewer)
    last = gateway["items"][-1]
    assert (last["rx_received"], last["rx_ok"], last["tx_received"], last["tx_emitted"]) == (7, 5, 2, 1)
    assert last["up"] == 0 and last["rssi"] is None and last["errors"] == 1  # a gateway reports no RSSI
    assert gateway["frequency"] == {"868100000": 4, "868300000": 1} and gateway["dr"] == {"2": 2, "5": 3}
    assert gateway["tx_frequency"] == {"869525000": 1} and gateway["errors"] == {"tx_too_late": 1}

    assert call("GET", f"/devices/{dev_eui}/metrics?aggregation=week", token=tenant.viewer)[0] == 400
    assert call("GET", f"/devices/{dev_eui}/metrics?start=yesterday", token=tenant.viewer)[0] == 400


def test_other_tenants_see_nothing(dynamodb: str, admin_key: str) -> None:
    acme, other = make_tenant(admin_key, "Acme"), make_tenant(admin_key, "Other")
    device, gateway = f"/devices/{acme.ids['dev_eui']}", f"/gateways/{acme.ids['gateway_id']}"
    for path in (f"{device}/frames", f"{gateway}/frames", f"{device}/metrics", f"{gateway}/metrics"):
        assert call("GET", path, token=other.admin)[0] == 404
        assert call("GET", path)[0] == 401
    assert MetricsBucket.count(device_subject(acme.ids["dev_eui"])) == 0  # a refused reader watches nothing


def test_one_counter_update_per_subject_and_the_watch_flag_across_the_hour(dynamodb: str) -> None:
    subject = device_subject("00800000a0000001")
    hour = frame_log.hour_of(time.time())
    frame_log.watch(subject, now=hour + 3599)
    assert frame_log.add(subject, {"up": 1}, now=hour + 3599.5)
    assert frame_log.add(subject, {"up": 1}, now=hour + 3600 + 10)  # the next hour's bucket knows too
    assert not frame_log.add(subject, {"up": 1}, now=hour + 3599 + frame_log.WATCH_S + 1)
    assert frame_log.buckets(subject, hour, hour + 3600) == {hour: {"up": 1.0}, hour + 3600: {"up": 2.0}}
