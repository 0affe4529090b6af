"""The typed MAC state reads the JSON items always held and writes the same shape back; every desired
field and every answer belongs to exactly one command module."""

from __future__ import annotations

import json
from dataclasses import fields

from functions.lorawan.mac_commands import MAC_COMMANDS
from functions.network import mac_requests
from functions.network.mac.registry import BY_ANSWER, DESIRED, DEVICE_REQUESTS, NETWORK_REQUESTS
from functions.network.mac.state import Desired, MacState, MacStateAttribute

# The shape the session's `mac_state` had as a string-keyed dict, before it was typed.
OLD_ITEM = {
    "desired": {"rx2_dr": 3, "channels": {"3": [867100000, 0, 5]}, "dev_status_now": True},
    "applied": {"enabled_channels": [8, 9, 10, 11, 12, 13, 14, 15, 65], "max_duty_cycle": 4},
    "failed": {"LinkADRReq": {"reason": "nack", "f_cnt": 12}},
    "dev_status": {"f_cnt": 0, "at": 1764806400},
    "class_b": {"ping_slot_periodicity": 3},
    "rj_count0_next": 2,
    "rj_count1_next": 1,
}


def test_an_item_written_before_typing_reads_typed_and_writes_back_unchanged() -> None:
    attribute = MacStateAttribute()
    state = attribute.deserialize(json.dumps(OLD_ITEM))
    assert state.desired.rx2_dr == 3 and state.desired.channels == {"3": [867100000, 0, 5]}
    assert state.applied.enabled_channels == [8, 9, 10, 11, 12, 13, 14, 15, 65]
    assert state.failed["LinkADRReq"].reason == "nack" and state.failed["LinkADRReq"].f_cnt == 12
    assert state.dev_status is not None and state.dev_status.at == 1764806400
    assert (state.ping_slot_periodicity, state.rj_count0_next, state.rj_count1_next) == (3, 2, 1)
    assert json.loads(attribute.serialize(state)) == OLD_ITEM


def test_absent_values_stay_absent() -> None:
    attribute = MacStateAttribute()
    assert attribute.deserialize("{}") == MacState()
    assert attribute.serialize(MacState()) == "{}"
    assert json.loads(attribute.serialize({"applied": {"max_eirp": 5}})) == {"applied": {"max_eirp": 5}}


def test_every_desired_field_belongs_to_one_request_module() -> None:
    owners = [name for request in DESIRED for name in request.FIELDS]
    assert sorted(owners) == sorted(f.name for f in fields(Desired))
    assert len(owners) == len(set(owners))
    assert set(mac_requests.FIELDS) == set(owners)


def test_every_answer_and_device_request_has_its_module() -> None:
    answers = {cls for cls in MAC_COMMANDS.values() if cls.UPLINK and cls.NAME.endswith("Ans")}
    not_sent = {"PingSlotChannelAns", "BeaconFreqAns"}  # class B downlinks are not scheduled yet (README)
    assert {cls.NAME for cls in answers - set(BY_ANSWER)} == not_sent
    requests = {r.NAME for r in NETWORK_REQUESTS.values()}
    assert requests == {cls.NAME.replace("Ans", "Req") for cls in BY_ANSWER}
    device_requests = {cls.NAME for cls in DEVICE_REQUESTS}
    assert device_requests == {"LinkCheckReq", "DeviceTimeReq", "RekeyInd", "ResetInd", "PingSlotInfoReq",
                               "DeviceModeInd", "BeaconTimingReq"}  # fmt: skip
