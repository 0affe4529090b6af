"""The local IoT rules engine's SQL subset, checked against what AWS IoT documents for each construct."""

from __future__ import annotations

import pytest

from localcloud.iot_sql import IotSqlError, Message, parse_rule, topic_matches

UPLINK = (
    "SELECT *, topic(1) AS topic_prefix, topic(3) AS topic_gateway_id, timestamp() AS received_at "
    "FROM '+/gateway/+/event/up'"
)


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("+/gateway/+/event/up", "eu868/gateway/0102030405060708/event/up", True),
        ("+/gateway/+/event/up", "eu868/gateway/0102030405060708/event/stats", False),
        ("+/gateway/+/event/up", "eu868/gateway/0102030405060708/event/up/extra", False),
        ("+/gateway/+/event/up", "gateway/0102030405060708/event/up", False),
        ("application/#", "application/1/device/2/event/up", True),
        ("application/#", "application", True),
        ("a/+", "a/", True),
    ],
)
def test_topic_filter_matching_follows_mqtt(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected


def test_select_star_with_topic_levels_and_timestamp() -> None:
    rule = parse_rule(UPLINK)
    assert rule.topic_filter == "+/gateway/+/event/up"
    payload = {"phyPayload": "QAEC", "rxInfo": {"rssi": -50}}
    event = rule.apply(Message("eu868/gateway/0102030405060708/event/up", payload, "gw", 1234))
    assert event == {
        "phyPayload": "QAEC",
        "rxInfo": {"rssi": -50},
        "topic_prefix": "eu868",
        "topic_gateway_id": "0102030405060708",
        "received_at": 1234,
    }


def test_a_topic_outside_the_filter_gives_no_event() -> None:
    assert parse_rule(UPLINK).apply(Message("eu868/gateway/01/event/stats", {})) is None


def test_paths_take_their_last_segment_as_name_and_missing_values_are_left_out() -> None:
    rule = parse_rule("SELECT rxInfo.rssi, rxInfo.snr AS snr, nothing.here FROM 'x/#'")
    assert rule.apply(Message("x/y", {"rxInfo": {"rssi": -50}})) == {"rssi": -50}


@pytest.mark.parametrize(
    ("where", "payload", "fires"),
    [
        ("rssi > -100", {"rssi": -50}, True),
        ("rssi > -100", {"rssi": -120}, False),
        ("rssi > -100", {}, False),
        ("kind = 'up' AND NOT test", {"kind": "up", "test": False}, True),
        ("kind = 'up' AND NOT test", {"kind": "up", "test": True}, False),
        ("kind = 'a' OR (kind = 'b' AND n >= 2)", {"kind": "b", "n": 2}, True),
        ("kind = 'a' OR (kind = 'b' AND n >= 2)", {"kind": "b", "n": 1}, False),
        ("kind <> 'a'", {"kind": "b"}, True),
        ("note IS NULL", {}, True),
        ("note IS NOT NULL", {"note": "x"}, True),
        ("name = 'it''s'", {"name": "it's"}, True),
        ("rssi > 'text'", {"rssi": 1}, False),
        ("topic(2) = 'gateway'", {}, True),
    ],
)
def test_where_clause(where: str, payload: dict[str, object], fires: bool) -> None:
    rule = parse_rule(f"SELECT * FROM 'eu868/#' WHERE {where}")
    assert (rule.apply(Message("eu868/gateway/01/event/up", payload)) is not None) is fires


def test_select_star_on_a_payload_that_is_not_a_json_object_does_not_fire() -> None:
    assert parse_rule("SELECT * FROM 'a'").apply(Message("a", [1, 2])) is None


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM a/b",
        "SELECT encode(*, 'base64') AS b FROM 'a'",
        "SELECT 1 FROM 'a'",
        "SELECT * FROM 'a' WHERE",
        "SELECT * FROM 'a' LIMIT 1",
        "SELECT * 'a'",
        "SELECT * FROM 'a' WHERE x = $",
    ],
)
def test_statements_outside_the_subset_are_rejected_at_load(sql: str) -> None:
    with pytest.raises(IotSqlError):
        parse_rule(sql)
