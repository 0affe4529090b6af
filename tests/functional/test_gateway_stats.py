"""A registered gateway's statistics and events through the API: the network server adds each stats
message's counters to the gateway's hour (its metrics: functions/shared/frame_log.py), and logs stats and
connection state for debugging."""

from __future__ import annotations

import time

import pytest

from functions.network.gateways import gateway_event
from functions.shared import frame_log
from functions.shared.frame_tables import MetricsBucket
from tests.support.api import make_tenant, ok
from tests.support.dynamodb_requests import count_requests


def test_stats_messages_add_up_per_hour_and_show_in_the_api(dynamodb: str, admin_key: str) -> None:
    acme = make_tenant(admin_key, "Acme")
    gateway_id = acme.ids["gateway_id"]
    for received, emitted in ((10, 1), (5, 2)):
        counters = {"rxPacketsReceived": received, "rxPacketsReceivedOk": received - 1,
                    "txPacketsReceived": emitted, "txPacketsEmitted": emitted}  # fmt: skip
        location = {"latitude": 52.1, "longitude": 4.3, "altitude": 3}
        gateway_event({"gatewayId": gateway_id, "topic_prefix": "eu868", "location": location} | counters)
    gateway_event({"gatewayId": gateway_id, "state": "OFFLINE", "topic_prefix": "eu868"})
    stats = ok("GET", f"/gateways/{gateway_id}/stats?hours=3", token=acme.viewer)["items"]
    assert len(stats) == 3 and stats[0]["rx_received"] == 0  # (the last two: an hour may turn meanwhile)
    totals = {k: sum(s[k] for s in stats) for k in ("rx_received", "rx_ok", "tx_received", "tx_emitted")}
    assert totals == {"rx_received": 15, "rx_ok": 13, "tx_received": 3, "tx_emitted": 3}
    events = ok("GET", f"/gateways/{gateway_id}/events", token=acme.viewer)["items"]
    assert [e["type"] for e in events] == ["conn", "stats", "stats"]
    assert events[0]["body"]["state"] == "OFFLINE" and "topic_prefix" not in events[0]["body"]
    gateway = ok("GET", f"/gateways/{gateway_id}", token=acme.viewer)
    assert gateway["online"] is False and gateway["latitude"] == 52.1 and gateway["last_seen_at"]
    assert ok("GET", f"/gateways/{gateway_id}/stats?hours=0", token=acme.viewer, status=400)


def test_a_stats_report_is_one_counter_update_and_bad_entries_are_left_out(
    dynamodb: str, admin_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gateway's metrics cost one UpdateItem of its hour per stats report (not one per frame it hears);
    what is not a count (negative, text, a frequency that is no number, an unknown modulation) is skipped."""
    acme = make_tenant(admin_key, "Acme")
    gateway_id = acme.ids["gateway_id"]
    requests = count_requests(monkeypatch)
    gateway_event({
        "gatewayId": gateway_id, "topic_prefix": "eu868", "rxPacketsReceived": 3, "rxPacketsReceivedOk": -1,
        "txPacketsEmitted": "2", "rxPacketsPerFrequency": {"868100000": 3, "x": 1, "868300000": True},
        "rxPacketsPerModulation": [{"modulation": {"fsk": {"datarate": 50000}}, "count": 1}, "junk",
                                   {"modulation": {"lora": {"spreadingFactor": 12, "bandwidth": 125000}},
                                    "count": 2}],
        "txPacketsPerStatus": {"OK": 1, "not a status": 4}, "txPacketsPerFrequency": [1, 2],
    })  # fmt: skip
    assert requests.of(MetricsBucket.Meta.table_name) == {"UpdateItem": 1}
    hour = frame_log.hour_of(time.time())
    counters = frame_log.buckets(frame_log.gateway_subject(gateway_id), hour, hour)[hour]
    assert counters == {"rx_received": 3, "f_868100000": 3, "dr_0": 2, "tx_ok": 1}
