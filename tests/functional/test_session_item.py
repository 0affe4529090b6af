"""Device sessions stored before the compact item (issue 16: long attribute names, the ADR history as a
list of maps, keys sealed as JSON in an envelope v2) are read as they are, handled by the uplink pipeline,
and written back in the compact shape under 1 KB; the API's reads, a disable, and a join's ordering
condition see them too."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.item_size import KB, item_size
from functions.lorawan.device import EndDevice
from functions.lorawan.types import AES128Key
from functions.network import service, session_keys, store
from functions.network.models import DeviceSession
from functions.network.uplink import handle_reception
from functions.shared import envelope
from functions.shared.interface import JoinAns
from tests.functional.test_network_pipeline import World, joined_device, reception

OLD_NAMES = {
    "mac_version", "region", "net_keys", "last_seen_at", "f_cnt_up", "f_cnt_up_seen", "n_f_cnt_down",
    "a_f_cnt_down", "tx_power_index", "nb_trans", "rx1_delay", "rx1_dr_offset", "rx2_dr", "rx2_frequency",
    "uplink_history", "pending_mac", "mac_state", "device_class", "last_gateway_id", "last_topic_prefix",
    "battery", "margin", "disabled", "joined_at_ms",
}  # fmt: skip


@pytest.fixture
def world(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(monkeypatch)
    w.window_s = 0.0
    return w


def send(world: World, device: EndDevice, payload: bytes, snr: float = 7.0) -> str:
    return handle_reception(reception(device.uplink(2, payload).phy_payload, snr=snr), world.pipeline())


def raw(dev_eui: str) -> dict[str, Any]:
    item: dict[str, Any] = DeviceSession._get_connection().get_item(dev_eui, consistent_read=True)["Item"]
    return item


def store_in_the_old_shape(session: DeviceSession) -> dict[str, Any]:
    """The item as the model before issue 16's compaction wrote it: every attribute under its long name,
    defaults written, JSON with spaces, the history as maps, the keys as hex JSON in an envelope v2."""
    keys = {k: v.hex() for k, v in session_keys.session_keys(session).items()}
    item: dict[str, Any] = {
        "dev_addr": {"S": session.dev_addr},
        "mac_version": {"S": session.mac_version},
        "region": {"S": session.region},
        "net_keys": {"B": envelope.seal(keys, context=session.dev_eui)},
        "uplink_history": {
            "L": [
                {
                    "M": {
                        "f_cnt": {"N": str(r.f_cnt)},
                        "max_snr": {"N": str(r.max_snr)},
                        "tx_power_index": {"N": str(r.tx_power_index)},
                        "gateway_count": {"N": str(r.gateway_count)},
                    }
                }
                for r in session.uplink_history
            ]
        },
        "pending_mac": {"S": json.dumps(session.pending_mac)},
        "mac_state": {"S": json.dumps(session.mac_state.to_json())},
        "adr": {"BOOL": bool(session.adr)},
        "disabled": {"BOOL": False},
        "device_class": {"S": session.device_class},
        "version": {"N": str(session.version)},
    }
    for name in (
        "f_cnt_up", "n_f_cnt_down", "a_f_cnt_down", "dr", "tx_power_index", "nb_trans", "rx1_delay",
        "rx1_dr_offset", "rx2_dr", "rx2_frequency", "last_seen_at", "joined_at_ms", "f_cnt_up_seen",
    ):  # fmt: skip
        if getattr(session, name) is not None:
            item[name] = {"N": str(getattr(session, name))}
    for name in ("last_gateway_id", "last_topic_prefix"):
        if getattr(session, name) is not None:
            item[name] = {"S": getattr(session, name)}
    if session.last_deduplication_id is not None:  # short from the start ("dd")
        item["dd"] = {"S": session.last_deduplication_id}
    compact = session.serialize()
    for name in ("hc", "hx", "wu"):  # the hour's counters and the watch flag: short from the start too
        if name in compact:
            item[name] = compact[name]
    assert envelope.is_compact(session.net_keys) and not envelope.is_compact(item["net_keys"]["B"])
    DeviceSession._get_connection().put_item(session.dev_eui, attributes=item)
    return item


def test_an_old_session_is_read_handled_and_written_compact(world: World) -> None:
    device = joined_device(world)
    for n, snr in enumerate((5.5, -3.25, 9.0)):
        assert send(world, device, bytes([n]), snr=snr) == "uplink"
    eui = str(device.dev_eui)
    before = DeviceSession.get(eui, consistent_read=True)
    old = store_in_the_old_shape(before)
    assert item_size(raw(eui)) > item_size(before.serialize())

    read = DeviceSession.get(eui, consistent_read=True)
    for name in DeviceSession.get_attributes():
        if name not in ("net_keys", "queue_empty"):
            assert getattr(read, name) == getattr(before, name), name
    assert before.queue_empty and not read.queue_empty  # newer than the old shape: absent reads as "query"
    assert [r.max_snr for r in read.uplink_history] == [5.5, -3.25, 9.0]
    assert session_keys.session_keys(read) == session_keys.session_keys(before)
    view = service.sessions([eui])[eui]
    assert (view.f_cnt_up, view.dr, view.dev_addr) == (3, int(before.dr), before.dev_addr)

    assert send(world, device, b"after", snr=1.5) == "uplink"
    assert world.app_messages[-1][1]["fCnt"] == 3
    item = raw(eui)
    assert not OLD_NAMES & item.keys(), "written in the new shape"
    assert envelope.is_compact(item["nk"]["B"]) and item_size(item) < KB
    after = DeviceSession.get(eui, consistent_read=True)
    assert [r.max_snr for r in after.uplink_history] == [5.5, -3.25, 9.0, 1.5]
    assert int(after.f_cnt_up) == 4 and int(after.version) == int(old["version"]["N"]) + 1
    assert session_keys.session_keys(after) == session_keys.session_keys(before)


def test_disabling_an_old_session_is_seen(world: World) -> None:
    device = joined_device(world)
    store_in_the_old_shape(DeviceSession.get(str(device.dev_eui), consistent_read=True))
    service.set_disabled(str(device.dev_eui), True)  # an update: the short name beside the long one
    assert DeviceSession.get(str(device.dev_eui), consistent_read=True).disabled is True
    assert send(world, device, b"dropped") == "disabled"


def test_an_older_join_does_not_replace_an_old_session(world: World) -> None:
    device = joined_device(world)
    session = DeviceSession.get(str(device.dev_eui), consistent_read=True)
    store_in_the_old_shape(session)
    key = AES128Key.random().hex()
    answer = JoinAns(1, "Success", network_keys={"NwkSKey": key})
    with pytest.raises(store.StaleJoin):
        store.store_session(
            answer, dev_eui=session.dev_eui, fields={"dev_addr": session.dev_addr},
            joined_at_ms=int(session.joined_at_ms) - 1, newer_only=True,
        )  # fmt: skip
    newer = store.store_session(
        answer, dev_eui=session.dev_eui, fields={"dev_addr": session.dev_addr},
        joined_at_ms=int(session.joined_at_ms) + 1, newer_only=True,
    )  # fmt: skip
    assert session_keys.session_keys(newer)["nwk_s_enc_key"] == AES128Key.parse(key)
