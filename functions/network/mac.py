"""MAC commands of a data uplink (LoRaWAN 1.0.4 §5, 1.1 §5): the device's requests are answered, its
answers acknowledge (or refuse) what the network asked, and requests left unanswered go out again a
bounded number of times.

The discipline, for every request the network sends (as ChirpStack keeps `pending` MAC commands):
- a request is recorded in `DeviceSession.pending_mac[name]` when a downlink carries it: the commands
  sent, what its acknowledgement applies, and how often it was sent;
- the answer in a later uplink applies it only when every status bit is set. A partial NACK leaves the
  session as it was, is logged and counted (`MACNacks`), and the request is not generated again until an
  operator asks anew (`mac_requests.request`); a refused LinkADRReq pauses ADR for 20 uplinks;
- a request still pending at the next uplink went unanswered (lost downlink, or ignored): it is sent
  again (`MACRetries`), at most MAX_ATTEMPTS times in all, then dropped (`MACRequestsDropped`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from functions.lorawan.adr import HISTORY_LENGTH, REQUIRED_SNR_BY_SF
from functions.lorawan.mac_commands import (
    MAC_COMMANDS,
    ADRParamSetupAns,
    BeaconTimingReq,
    DeviceModeConf,
    DeviceModeInd,
    DeviceTimeAns,
    DeviceTimeReq,
    DevStatusAns,
    DlChannelAns,
    DutyCycleAns,
    LinkADRAns,
    LinkCheckAns,
    LinkCheckReq,
    MACCommand,
    NewChannelAns,
    PingSlotInfoAns,
    PingSlotInfoReq,
    RejoinParamSetupAns,
    RekeyConf,
    RekeyInd,
    ResetConf,
    ResetInd,
    RXParamSetupAns,
    RXTimingSetupAns,
    TxParamSetupAns,
    mac_command_size,
)
from functions.lorawan.mac_commands.base import StatusAnswer
from functions.lorawan.regions import Region
from functions.lorawan.regions.base import FixedRegion, LoRaModulation
from functions.network.models import DeviceSession
from functions.network.observability import Count, logger

GPS_EPOCH_UNIX = 315_964_800
GPS_LEAP_SECONDS = 18  # GPS - UTC since 2017-01-01
MAX_ATTEMPTS = 3  # sends of one request without an answer before it is dropped

# The request each answer acknowledges.
REQUEST_OF: dict[type[MACCommand], str] = {
    LinkADRAns: "LinkADRReq",
    DevStatusAns: "DevStatusReq",
    RXParamSetupAns: "RXParamSetupReq",
    RXTimingSetupAns: "RXTimingSetupReq",
    NewChannelAns: "NewChannelReq",
    DlChannelAns: "DlChannelReq",
    TxParamSetupAns: "TxParamSetupReq",
    DutyCycleAns: "DutyCycleReq",
    ADRParamSetupAns: "ADRParamSetupReq",
    RejoinParamSetupAns: "RejoinParamSetupReq",
}
# 1.0.4 §5.4, §5.7, §5.9: the device repeats these answers in every uplink until it receives a downlink.
STICKY_ANSWERS = (RXParamSetupAns, RXTimingSetupAns, DlChannelAns)
_BY_NAME: dict[str, type[MACCommand]] = {cls.NAME: cls for cls in MAC_COMMANDS.values() if not cls.UPLINK}


@dataclass
class Unit:
    """Commands that go into one downlink together or not at all (a LinkADRReq block is one unit).

    `apply` is None for an answer; for a request it says what the acknowledgement changes:
    {"session": {attribute: value}, "state": {mac_state["applied"] key: value}}.
    """

    name: str
    commands: list[MACCommand]
    apply: dict[str, Any] | None = None
    attempts: int = 0  # sends before this one

    @property
    def size(self) -> int:
        return sum(mac_command_size(command) for command in self.commands)

    @property
    def is_request(self) -> bool:
        return self.apply is not None


@dataclass
class UplinkMAC:
    """What an uplink's MAC commands call for: answers, requests to send again, a status event."""

    answers: list[Unit] = field(default_factory=list)
    retries: list[Unit] = field(default_factory=list)
    status: dict[str, Any] | None = None  # battery and margin from DevStatusAns
    needs_downlink: bool = False  # a sticky answer: a downlink (even empty) makes the device stop


def mac_state(session: DeviceSession) -> dict[str, Any]:
    if session.mac_state is None:
        session.mac_state = {}
    state: dict[str, Any] = session.mac_state
    return state


def applied(session: DeviceSession) -> dict[str, Any]:
    """What the device acknowledged beyond the session's own attributes (channels, dwell time, ...)."""
    value: dict[str, Any] = mac_state(session).setdefault("applied", {})
    return value


def enabled_channels(session: DeviceSession, region: Region) -> list[int]:
    """The uplink channels the device uses: set at join (a US915 sub-band), then by acknowledged
    LinkADRReq and NewChannelReq; the region's defaults for sessions that never recorded any."""
    stored = applied(session).get("enabled_channels")
    if stored:
        return sorted(int(c) for c in stored)
    if isinstance(region, FixedRegion):
        return list(range(len(region.uplink_channel_list)))
    return list(range(len(region.uplink_channel_list))) + sorted(
        int(c) for c in applied(session).get("channels", {})
    )


def uplink_channel_index(session: DeviceSession, region: Region, frequency: int) -> int:
    """The channel index of an uplink frequency, counting channels added by NewChannelReq (1.1 TxCh),
    including one still pending: the device may use it in the very uplink that acknowledges it."""
    pending = (session.pending_mac.get("NewChannelReq") or {}).get("apply") or {}
    proposed = pending.get("state", {}).get("channels", {})
    for index, value in {**applied(session).get("channels", {}), **proposed}.items():
        if value and int(value[0]) == frequency:
            return int(index)
    try:
        return region.uplink_channel_index(frequency)
    except ValueError:
        return 0


def command_from_dict(value: dict[str, Any]) -> MACCommand:
    cls = _BY_NAME[value["name"]]
    return cls(**{k: v for k, v in value.items() if k != "name"})


def record_sent(session: DeviceSession, unit: Unit, count: Count, *, f_cnt: int, now: float) -> None:
    """A request went out in a downlink: it is pending until answered."""
    if unit.attempts:
        count("MACRetries")
        logger.info("MAC request sent again", extra={"command": unit.name, "attempt": unit.attempts + 1})
    session.pending_mac = {
        **session.pending_mac,
        unit.name: {
            "requests": [command.to_dict() for command in unit.commands],
            "apply": unit.apply,
            "attempts": unit.attempts + 1,
        },
    }
    if unit.name == "DevStatusReq":
        state = mac_state(session)
        state["dev_status"] = {"f_cnt": f_cnt, "at": int(now)}
        state.get("desired", {}).pop("dev_status_now", None)


def keep_pending(session: DeviceSession, unit: Unit) -> None:
    """A retry that did not fit this downlink stays pending as it was (no attempt is counted)."""
    session.pending_mac = {
        **session.pending_mac,
        unit.name: {
            "requests": [command.to_dict() for command in unit.commands],
            "apply": unit.apply,
            "attempts": unit.attempts,
        },
    }


def required_snr(region: Region, dr: int) -> float:
    modulation = region.data_rate(dr).modulation
    if isinstance(modulation, LoRaModulation):
        return REQUIRED_SNR_BY_SF.get(modulation.spreading_factor, -20.0)
    return 0.0


def gps_seconds(unix_ms: int) -> float:
    return unix_ms / 1000 - GPS_EPOCH_UNIX + GPS_LEAP_SECONDS


def _apply(session: DeviceSession, apply: dict[str, Any]) -> None:
    for attribute, value in apply.get("session", {}).items():
        setattr(session, attribute, value)
    current = applied(session)
    for key, value in apply.get("state", {}).items():
        if key in ("channels", "downlink_channels"):
            merged = {**current.get(key, {}), **value}
            current[key] = {k: v for k, v in merged.items() if v is not None}
            if key == "channels" and "enabled_channels" in current:
                enabled = set(current["enabled_channels"])
                for index, channel in value.items():
                    (enabled.add if channel else enabled.discard)(int(index))
                current["enabled_channels"] = sorted(enabled)
        else:
            current[key] = value


def _acknowledge(
    session: DeviceSession,
    name: str,
    entry: dict[str, Any],
    answers: list[MACCommand],
    result: UplinkMAC,
    count: Count,
    f_cnt: int,
) -> None:
    if name == "DevStatusReq":
        answer = answers[0]
        assert isinstance(answer, DevStatusAns)
        session.battery, session.margin = answer.battery, answer.margin
        result.status = {"battery": answer.battery, "margin": answer.margin}
        return
    refused = [
        a.to_dict()
        for a in answers
        if isinstance(a, StatusAnswer) and not all(getattr(a, bit) for bit in a.STATUS_BITS)
    ]
    if refused or len(answers) < len(entry["requests"]):
        count("MACNacks")
        logger.warning(
            "device refused a MAC request; session unchanged",
            extra={"command": name, "requests": entry["requests"], "answers": refused or "missing"},
        )
        mac_state(session).setdefault("failed", {})[name] = {"reason": "nack", "f_cnt": f_cnt}
        return
    _apply(session, entry.get("apply") or {})
    if name == "LinkADRReq":  # SNRs measured at the old settings say nothing about the new ones
        session.uplink_history = []
    logger.info("device acknowledged a MAC request", extra={"command": name, "apply": entry.get("apply")})


def handle_uplink_commands(
    commands: list[MACCommand],
    session: DeviceSession,
    *,
    region: Region,
    dr: int,
    max_snr: float,
    gateway_count: int,
    gps_time_s: float,
    f_cnt: int,
    count: Count,
) -> UplinkMAC:
    """Answers to send, acknowledged requests applied, unanswered ones to send again (or dropped)."""
    result = UplinkMAC()
    answered: set[str] = set()
    lorawan_1_1 = session.mac_version.startswith("1.1")
    position = 0
    while position < len(commands):
        command = commands[position]
        position += 1
        request_name = REQUEST_OF.get(type(command))
        if request_name is not None:
            entry = session.pending_mac.get(request_name)
            if entry is None or request_name in answered:
                if isinstance(command, STICKY_ANSWERS):
                    result.needs_downlink = True  # a repeated answer, already applied
                else:
                    count("UnexpectedMACAnswers")
                    logger.warning(
                        "MAC answer without a pending request ignored", extra={"command": command.NAME}
                    )
                continue
            block = [command]  # a LinkADRReq block is answered once per request (1.0.4 §5.3)
            while (
                len(block) < len(entry["requests"])
                and position < len(commands)
                and type(commands[position]) is type(command)
            ):
                block.append(commands[position])
                position += 1
            answered.add(request_name)
            del session.pending_mac[request_name]
            if isinstance(command, STICKY_ANSWERS):
                result.needs_downlink = True  # the device repeats it until it hears a downlink
            _acknowledge(session, request_name, entry, block, result, count, f_cnt)
        elif isinstance(command, LinkCheckReq):
            margin = max(0, min(254, int(max_snr - required_snr(region, dr))))
            result.answers.append(_answer(LinkCheckAns(margin=margin, gw_cnt=min(255, gateway_count))))
        elif isinstance(command, DeviceTimeReq):
            result.answers.append(_answer(DeviceTimeAns.from_gps_time(gps_time_s)))
        elif isinstance(command, RekeyInd) and lorawan_1_1:
            result.answers.append(_answer(RekeyConf(minor=1)))
        elif isinstance(command, ResetInd) and lorawan_1_1:
            # 1.1 §5.1: an ABP device reset; its MAC state returns to the defaults, frame counters stay.
            session.pending_mac = {}
            state = mac_state(session)
            for key in ("applied", "failed"):
                state.pop(key, None)
            result.answers.append(_answer(ResetConf(minor=1)))
        elif isinstance(command, PingSlotInfoReq):
            mac_state(session)["class_b"] = {"ping_slot_periodicity": command.periodicity}
            result.answers.append(_answer(PingSlotInfoAns()))
        elif isinstance(command, DeviceModeInd) and lorawan_1_1:
            if command.device_class in (0, 2):  # 1 is RFU (1.1 §5.15): keep the class and say which
                session.device_class = "C" if command.device_class == 2 else "A"
            result.answers.append(
                _answer(DeviceModeConf(device_class=2 if session.device_class == "C" else 0))
            )
        elif isinstance(command, BeaconTimingReq):
            logger.info("BeaconTimingReq (deprecated since 1.0.3) not answered; DeviceTimeReq replaces it")
        else:
            logger.info("MAC command needs no answer here", extra={"command": command.NAME})
    for name, entry in list(session.pending_mac.items()):
        del session.pending_mac[name]
        if int(entry.get("attempts", 1)) >= MAX_ATTEMPTS:
            count("MACRequestsDropped")
            logger.warning(
                "MAC request dropped: no answer", extra={"command": name, "attempts": entry.get("attempts")}
            )
            if name != "DevStatusReq":
                mac_state(session).setdefault("failed", {})[name] = {"reason": "no answer", "f_cnt": f_cnt}
            continue
        result.retries.append(
            Unit(
                name,
                [command_from_dict(c) for c in entry["requests"]],
                entry.get("apply") or {},
                int(entry.get("attempts", 1)),
            )
        )
    return result


def adr_paused(session: DeviceSession, f_cnt: int) -> bool:
    """After a refused or unanswered LinkADRReq, ADR waits for a new history before asking again."""
    failed = mac_state(session).get("failed", {}).get("LinkADRReq")
    if failed is None:
        return False
    if f_cnt - int(failed.get("f_cnt", 0)) >= HISTORY_LENGTH:
        del mac_state(session)["failed"]["LinkADRReq"]
        return False
    return True


def fit(units: list[Unit], capacity: int) -> tuple[list[Unit], list[Unit]]:
    """Units in order as long as they fit in `capacity` octets; the others wait for another downlink."""
    included: list[Unit] = []
    left: list[Unit] = []
    used = 0
    for unit in units:
        if used + unit.size <= capacity:
            included.append(unit)
            used += unit.size
        else:
            left.append(unit)
    return included, left


def _answer(command: MACCommand) -> Unit:
    return Unit(command.NAME, [command])
