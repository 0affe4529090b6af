"""The MAC state of a session, typed: what the operator wants the device to use (`Desired`), what the
device acknowledged beyond the session's own attributes (`Applied`), requests refused or given up
(`failed`), the device-status schedule, class B and the rejoin counters.

It is stored as JSON in the session's `mac_state` attribute (`ms`) with the keys it always had ("desired",
"applied", "failed", "dev_status", "class_b", "rj_count0_next", "rj_count1_next"), so items written
before it was typed read as they are, and absent values stay absent rather than becoming defaults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Self

from pynamodb.attributes import Attribute
from pynamodb.constants import STRING


def _to_json(value: object) -> dict[str, Any]:
    """A flat dataclass as JSON: None and empty mappings are left out (absent, as before typing)."""
    return {
        f.name: getattr(value, f.name)
        for f in fields(value)  # type: ignore[arg-type]
        if getattr(value, f.name) is not None and getattr(value, f.name) != {}
    }


def _from_json[T](cls: type[T], value: dict[str, Any] | None) -> T:
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in (value or {}).items() if k in known})


@dataclass
class Desired:
    """What the operator asked for (`mac_requests.request`); each field is set by one request module."""

    rx1_dr_offset: int | None = None
    rx2_dr: int | None = None
    rx2_frequency: int | None = None
    rx1_delay: int | None = None
    channels: dict[str, list[int]] = field(default_factory=dict)  # index -> [frequency, min_dr, max_dr]
    downlink_channels: dict[str, int] = field(default_factory=dict)  # index -> RX1 frequency
    uplink_dwell_time: bool | None = None
    downlink_dwell_time: bool | None = None
    max_eirp: int | None = None
    max_duty_cycle: int | None = None
    adr_ack_limit_exp: int | None = None
    adr_ack_delay_exp: int | None = None
    rejoin_max_time_n: int | None = None
    rejoin_max_count_n: int | None = None
    dev_status_every_uplinks: int | None = None
    dev_status_every_s: int | None = None
    dev_status_now: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)


@dataclass
class Applied:
    """What the device acknowledged that the session's attributes do not hold."""

    enabled_channels: list[int] | None = None
    channels: dict[str, list[int]] = field(default_factory=dict)
    downlink_channels: dict[str, int] = field(default_factory=dict)
    uplink_dwell_time: bool | None = None
    downlink_dwell_time: bool | None = None
    max_eirp: int | None = None
    max_duty_cycle: int | None = None
    adr_ack_limit_exp: int | None = None
    adr_ack_delay_exp: int | None = None
    rejoin_max_time_n: int | None = None
    rejoin_max_count_n: int | None = None

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)


@dataclass
class Failure:
    """A request refused (`nack`), unanswered, or impossible here; not generated again until asked anew."""

    reason: str
    f_cnt: int


@dataclass
class DevStatusSent:
    """When the last DevStatusReq went out (or the session began): the schedule counts from here."""

    f_cnt: int
    at: int


@dataclass
class MacState:
    desired: Desired = field(default_factory=Desired)
    applied: Applied = field(default_factory=Applied)
    failed: dict[str, Failure] = field(default_factory=dict)
    dev_status: DevStatusSent | None = None
    ping_slot_periodicity: int | None = None  # class B, from PingSlotInfoReq
    rj_count0_next: int | None = None  # 1.1 §6.2.4.1: restarts with each session
    rj_count1_next: int | None = None  # 1.1 §6.2.4.2: outlives sessions

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {}
        for name, part in (("desired", self.desired.to_json()), ("applied", self.applied.to_json())):
            if part:
                value[name] = part
        if self.failed:
            value["failed"] = {k: {"reason": v.reason, "f_cnt": v.f_cnt} for k, v in self.failed.items()}
        if self.dev_status is not None:
            value["dev_status"] = {"f_cnt": self.dev_status.f_cnt, "at": self.dev_status.at}
        if self.ping_slot_periodicity is not None:
            value["class_b"] = {"ping_slot_periodicity": self.ping_slot_periodicity}
        for name in ("rj_count0_next", "rj_count1_next"):
            if getattr(self, name) is not None:
                value[name] = getattr(self, name)
        return value

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> Self:
        value = value or {}
        dev_status = value.get("dev_status")
        class_b = value.get("class_b") or {}
        return cls(
            desired=_from_json(Desired, value.get("desired")),
            applied=_from_json(Applied, value.get("applied")),
            failed={
                k: Failure(str(v.get("reason", "")), int(v.get("f_cnt", 0)))
                for k, v in (value.get("failed") or {}).items()
            },
            dev_status=DevStatusSent(int(dev_status.get("f_cnt", 0)), int(dev_status.get("at", 0)))
            if dev_status
            else None,
            ping_slot_periodicity=class_b.get("ping_slot_periodicity"),
            rj_count0_next=value.get("rj_count0_next"),
            rj_count1_next=value.get("rj_count1_next"),
        )


class MacStateAttribute(Attribute[MacState]):
    """`MacState` in a string attribute as compact JSON (no spaces after separators; what a JSONAttribute
    of the dict wrote before, with them, reads the same)."""

    attr_type = STRING

    def serialize(self, value: MacState | dict[str, Any]) -> str:
        if isinstance(value, dict):  # the shape items always had
            value = MacState.from_json(value)
        return json.dumps(value.to_json(), separators=(",", ":"))

    def deserialize(self, value: str) -> MacState:
        return MacState.from_json(json.loads(value))
