"""A device's counters of the current hour ride on the session write every accepted uplink makes anyway
(functions/network/uplink/hour.py), against DynamoDB on moto with the real pipeline and the real API:
no hour-bucket write within the hour; the next hour flushes the finished one exactly once, a retried
invocation included; `/metrics` shows the hour in progress beside the flushed ones; watching a device
through the API logs its frames and events, and stops when the watch runs out.

An hour passing is the stored session's hour moved back by one (`rewind_an_hour`): the state an uplink
finds after an hour, without a clock in the pipeline to turn."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from typing import Any

import pytest

from functions.lorawan.device import EndDevice, EndDeviceSession, abp
from functions.lorawan.keys import session_keys_1_0
from functions.lorawan.types import EUI64, AES128Key, DevAddr, NetID
from functions.network.models import DeviceSession
from functions.network.uplink import handle_reception
from functions.shared import frame_log
from functions.shared.frame_log import HOUR, device_subject, hour_of
from functions.shared.frame_tables import FrameLogItem, MetricsBucket
from functions.shared.interface import HourCounters
from tests.functional.test_network_pipeline import EU868, World, joined_device, reception
from tests.support.api import make_tenant, ok
from tests.support.dynamodb_requests import Requests, count_requests

DEV_EUI = "0004a30b001c0530"


class Died(Exception):
    """The invocation ends here; the platform retries the same event."""


@pytest.fixture
def world(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(monkeypatch)
    w.window_s = 0.0
    return w


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> Requests:
    """Every DynamoDB request made through PynamoDB, by (table, operation)."""
    return count_requests(monkeypatch)


def send(world: World, device: EndDevice, payload: bytes, *, snr: float = 7.0, frequency: int = 868_100_000,
         dr: int = 5) -> str:  # fmt: skip
    phy = device.uplink(2, payload).phy_payload
    return handle_reception(reception(phy, snr=snr, frequency=frequency, dr=dr), world.pipeline())


def session(dev_eui: str = DEV_EUI) -> DeviceSession:
    return DeviceSession.get(dev_eui, consistent_read=True)


def rewind_an_hour(dev_eui: str = DEV_EUI) -> int:
    """The session's hour as an uplink an hour later finds it; that hour."""
    stored = session(dev_eui)
    assert stored.hour_counters is not None
    stored.hour_counters = dataclasses.replace(stored.hour_counters, hour=stored.hour_counters.hour - HOUR)
    stored.save()
    return stored.hour_counters.hour


def bucket(hour: int, dev_eui: str = DEV_EUI) -> dict[str, float]:
    return frame_log.buckets(device_subject(dev_eui), hour, hour).get(hour, {})


def metrics_table(calls: Counter[tuple[str, str]]) -> Counter[tuple[str, str]]:
    return Counter({k: v for k, v in calls.items() if k[0] == MetricsBucket.Meta.table_name})


def test_the_counters_of_an_hours_uplinks_are_in_the_session_not_in_a_bucket(
    world: World, requests: Requests
) -> None:
    device = joined_device(world, dev_eui=DEV_EUI)
    joined = bucket(hour_of(time.time()))
    assert joined["join"] == 1 and "up" not in joined  # a join still counts in its bucket
    requests.clear()
    assert send(world, device, b"a", snr=7.25, frequency=868_100_000) == "uplink"
    assert send(world, device, b"b", snr=-2.5, frequency=868_300_000) == "uplink"
    assert send(world, device, b"c", snr=4.0, frequency=868_300_000, dr=3) == "uplink"
    assert metrics_table(requests) == {}
    hour = session().hour_counters
    assert hour is not None and hour.hour == hour_of(time.time())
    assert hour.counters == {"up": 3, "dr_5": 2, "dr_3": 1, "f_868100000": 1, "f_868300000": 2,
                             "rssi": -180, "snr": 8.75}  # fmt: skip
    assert bucket(hour.hour) == joined  # nothing added to the bucket within the hour
    assert session().closed_hour is None


def test_the_next_hour_flushes_the_last_one_once(world: World, requests: Requests) -> None:
    device = joined_device(world, dev_eui=DEV_EUI)
    for payload in (b"a", b"b"):
        assert send(world, device, payload) == "uplink"
    last_hour = rewind_an_hour()
    requests.clear()
    assert send(world, device, b"c") == "uplink"  # the first uplink of the new hour
    assert metrics_table(requests) == {(MetricsBucket.Meta.table_name, "UpdateItem"): 1}
    assert bucket(last_hour) == {"up": 2, "dr_5": 2, "f_868100000": 2, "rssi": -120, "snr": 14}
    stored = session()
    assert stored.closed_hour is not None and stored.closed_hour.hour == last_hour  # until the next save
    assert stored.hour_counters is not None and stored.hour_counters.counters["up"] == 1
    requests.clear()
    assert send(world, device, b"d") == "uplink"
    assert metrics_table(requests) == {}
    assert session().closed_hour is None and session().hour_counters.counters["up"] == 2  # type: ignore[union-attr]
    assert bucket(last_hour)["up"] == 2


def test_a_retried_invocation_flushes_the_closed_hour_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The invocation that closed the hour died after its save, before the flush: its retry finds the
    frame applied (`resume_applied`) and flushes; a second delivery of the same event flushes nothing."""
    device = joined_device(world, dev_eui=DEV_EUI)
    assert send(world, device, b"a") == "uplink"
    last_hour = rewind_an_hour()
    phy = device.uplink(2, b"b").phy_payload
    frame = reception(phy)
    flush = frame_log.flush

    def die(*_args: Any, **_kwargs: Any) -> bool:
        raise Died

    monkeypatch.setattr(frame_log, "flush", die)
    with pytest.raises(Died):
        handle_reception(frame, world.pipeline())
    assert bucket(last_hour) == {} and session().closed_hour is not None
    monkeypatch.setattr(frame_log, "flush", flush)
    assert handle_reception(frame, world.pipeline()) == "resumed"
    assert bucket(last_hour)["up"] == 1
    assert handle_reception(frame, world.pipeline()) == "resumed"  # delivered again after success
    assert bucket(last_hour)["up"] == 1
    assert session().hour_counters.counters["up"] == 1  # type: ignore[union-attr]  # not counted again


def test_a_flush_is_taken_once_by_its_token(dynamodb: str) -> None:
    subject, hour = device_subject(DEV_EUI), hour_of(time.time()) - HOUR
    closed = HourCounters(hour, counters={"up": 3, "snr": 1.5})
    assert frame_log.flush(subject, closed) is True
    assert frame_log.flush(subject, closed) is False
    assert frame_log.flush(subject, HourCounters(hour, counters={"up": 1})) is True  # another hour's record
    assert frame_log.buckets(subject, hour, hour) == {hour: {"up": 4, "snr": 1.5}}


def abp_device(tenant_dev_eui: str, admin: str) -> EndDevice:
    """The tenant's device activated by ABP through the API, and the reference device with its keys."""
    keys = session_keys_1_0(AES128Key(bytes(range(16))), 1, NetID.parse("000000"), 1)
    dev_addr = DevAddr.parse("26011bda")
    body = {"dev_addr": str(dev_addr), "nwk_s_key": keys.nwk_s_key.hex(), "app_s_key": keys.app_s_key.hex()}
    ok("POST", f"/devices/{tenant_dev_eui}/activate", body, admin, 204)
    return abp(EUI64.parse(tenant_dev_eui), EU868, EndDeviceSession.from_1_0(dev_addr, keys), seed=1)


def test_metrics_show_the_hour_in_progress_beside_the_flushed_ones(
    world: World, admin_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_tenant(admin_key, "Acme")
    dev_eui = tenant.ids["dev_eui"]
    device = abp_device(dev_eui, tenant.admin)
    assert send(world, device, b"a", snr=5.0) == "uplink"
    rewind_an_hour(dev_eui)
    flush = frame_log.flush

    def die(*_args: Any, **_kwargs: Any) -> bool:
        raise Died

    monkeypatch.setattr(frame_log, "flush", die)  # the closing invocation dies before its flush
    closing = reception(device.uplink(2, b"b").phy_payload, snr=9.0)
    with pytest.raises(Died):
        handle_reception(closing, world.pipeline())

    def hours() -> tuple[dict[str, Any], dict[str, Any]]:
        items = ok("GET", f"/devices/{dev_eui}/metrics", token=tenant.viewer)["items"]
        return items[-2], items[-1]

    earlier, current = hours()  # the closed hour, not flushed yet, is still the session's to show
    assert (earlier["up"], earlier["snr"], current["up"], current["snr"]) == (1, 5.0, 1, 9.0)
    monkeypatch.setattr(frame_log, "flush", flush)
    assert handle_reception(closing, world.pipeline()) == "resumed"  # flushed now: shown once
    assert send(world, device, b"c", snr=7.0) == "uplink"
    frame_log.add(device_subject(dev_eui), {"err_tx_too_late": 1})  # a TX ack's counter, in the bucket
    earlier, current = hours()
    assert (earlier["up"], earlier["snr"]) == (1, 5.0)
    assert (current["up"], current["snr"], current["errors"]) == (2, 8.0, 1)
    metrics = ok("GET", f"/devices/{dev_eui}/metrics", token=tenant.viewer)
    assert metrics["dr"] == {"5": 3} and metrics["errors"] == {"tx_too_late": 1}


def test_watching_through_the_api_logs_frames_and_events_until_the_watch_runs_out(
    world: World, admin_key: str, monkeypatch: pytest.MonkeyPatch, requests: Requests
) -> None:
    tenant = make_tenant(admin_key, "Acme")
    dev_eui = tenant.ids["dev_eui"]
    device = abp_device(dev_eui, tenant.admin)
    assert send(world, device, b"a") == "uplink"
    monkeypatch.setattr(frame_log, "WATCH_S", 2)  # the web page polls every 2 s and would renew it
    ok("GET", f"/devices/{dev_eui}/frames", token=tenant.viewer)  # opening the frames tab watches
    assert send(world, device, b"b") == "uplink"
    (logged,) = FrameLogItem.query(device_subject(dev_eui))
    assert logged.kind == "uplink" and logged.body["f_cnt"] == 1
    time.sleep(2.1)
    assert send(world, device, b"c") == "uplink"
    assert FrameLogItem.count(device_subject(dev_eui)) == 1  # no longer watched: not logged
    assert [e.watched for e in world.events if e.type == "up"] == [False, True, False]
    assert session(dev_eui).watch_until is None  # the run-out flag is not written again

    monkeypatch.setattr(frame_log, "WATCH_S", 60)
    requests.clear()
    ok("GET", f"/devices/{dev_eui}/events", token=tenant.viewer)  # reading its events watches too
    ok("GET", f"/devices/{dev_eui}/frames", token=tenant.viewer)
    assert requests[(DeviceSession.Meta.table_name, "UpdateItem")] == 1  # the second found it fresh
    assert requests[(MetricsBucket.Meta.table_name, "UpdateItem")] == 0  # on the session, not a bucket
    assert send(world, device, b"d") == "uplink"
    events = ok("GET", f"/devices/{dev_eui}/events", token=tenant.viewer)["items"]
    # the watched uplinks' events are in the event log, the others not
    assert [e["body"]["fCnt"] for e in events if e["type"] == "up"] == [3, 1]


def test_a_downlink_counted_in_the_session_but_not_sent_is_taken_back(world: World) -> None:
    """The session counts the downlink it saves with (`build_frame` made one); when the window is gone by
    the time it would go (`send_downlink`), the bucket of the same hour takes it back: the hour shows the
    JoinAccept alone, then one more once the next uplink's downlink goes."""
    from functions.appserver import queue
    from functions.network import service
    from tests.functional.test_network_pipeline import RECEIVED_AT_MS

    device = joined_device(world, dev_eui=DEV_EUI)
    heard_at = RECEIVED_AT_MS / 1000
    queue.enqueue(DEV_EUI, 9, b"again")
    readings = iter([0.05])  # the plan sees the frame fresh; every later reading is past RX2
    world.clock = lambda: heard_at + next(readings, 10.0)
    published = len(world.commands)
    assert send(world, device, b"a") == "uplink"
    assert len(world.commands) == published and world.counts["DownlinksTooLate"] == 1
    hour = hour_of(time.time())

    def downlinks() -> float:
        kept = service.device_hours(DEV_EUI)
        return frame_log.buckets(device_subject(DEV_EUI), hour, hour, kept=kept)[hour].get("down", 0)

    assert session().hour_counters.counters["down"] == 1  # type: ignore[union-attr]
    assert downlinks() == 1  # the JoinAccept (its bucket) + the frame not sent (session) - 1 (bucket)
    world.clock = lambda: heard_at + 0.05
    assert send(world, device, b"b") == "uplink"
    assert len(world.commands) == published + 1
    assert downlinks() == 2


def test_a_session_whose_packed_attributes_cannot_be_read_still_takes_its_uplinks(world: World) -> None:
    """A damaged or later-format blob in the session (the hour's counters, the ADR history) costs what
    it held, not the device's uplinks: the session still reads, and the next save writes both anew."""
    device = joined_device(world, dev_eui=DEV_EUI)
    assert send(world, device, b"a") == "uplink"
    client = DeviceSession._get_connection().connection.client  # raw bytes: the attributes would pack them
    client.update_item(
        TableName=DeviceSession.Meta.table_name,
        Key={"dev_eui": {"S": DEV_EUI}},
        UpdateExpression="SET #h = :h, #u = :u",
        ExpressionAttributeNames={"#h": DeviceSession.hour_counters.attr_name,
                                  "#u": DeviceSession.uplink_history.attr_name},
        ExpressionAttributeValues={":h": {"B": b"\x09\x00"}, ":u": {"B": b"\x07\x01"}},
    )  # fmt: skip
    assert send(world, device, b"b") == "uplink"
    stored = session()
    assert stored.hour_counters is not None and stored.hour_counters.counters["up"] == 1  # the new hour's
    assert len(stored.uplink_history) == 1  # ADR started over from this uplink
