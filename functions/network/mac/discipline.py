"""The discipline every request the network sends follows (as ChirpStack keeps `pending` MAC commands):

- a request is recorded in `DeviceSession.pending_mac[name]` when a downlink carries it: the commands
  sent, what its acknowledgement applies, and how often it was sent;
- the answer in a later uplink applies it only when every status bit is set (`command.py`); a partial
  NACK leaves the session as it was and the request is not generated again until an operator asks anew;
- a request still pending at the next uplink went unanswered (lost downlink, or ignored): it is sent
  again (`MACRetries`), at most MAX_ATTEMPTS times in all, then dropped (`MACRequestsDropped`).
"""

from __future__ import annotations

import time

from functions.lorawan.mac_commands import MACCommand
from functions.lorawan.regions import Region
from functions.network.mac.command import Needs, Uplink
from functions.network.mac.registry import BY_ANSWER, DESIRED, DEVICE_REQUESTS, NETWORK_REQUESTS
from functions.network.mac.state import Failure
from functions.network.mac.units import Unit, UplinkMAC, command_from_dict
from functions.network.models import DeviceSession
from functions.network.observability import Count, logger

MAX_ATTEMPTS = 3  # sends of one request without an answer before it is dropped


def handle_uplink_commands(
    commands: list[MACCommand], session: DeviceSession, uplink: Uplink, count: Count
) -> UplinkMAC:
    """Answers to send, acknowledged requests applied, unanswered ones to send again (or dropped)."""
    result = UplinkMAC()
    answered: set[str] = set()
    lorawan_1_1 = session.mac_version.startswith("1.1")
    position = 0
    while position < len(commands):
        command = commands[position]
        position += 1
        request = BY_ANSWER.get(type(command))
        if request is not None:
            entry = session.pending_mac.get(request.NAME)
            if entry is None or request.NAME in answered:
                if request.STICKY:
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
            answered.add(request.NAME)
            del session.pending_mac[request.NAME]
            if request.STICKY:
                result.needs_downlink = True  # the device repeats it until it hears a downlink
            request.answered(session, entry, block, result, count, uplink.f_cnt)
            continue
        device_request = DEVICE_REQUESTS.get(type(command))
        if device_request is not None and (lorawan_1_1 or not device_request.LORAWAN_1_1_ONLY):
            unit = device_request.answer(command, session, uplink)
            if unit is not None:
                result.answers.append(unit)
        else:
            logger.info("MAC command needs no answer here", extra={"command": command.NAME})
    result.retries = _unanswered(session, count, uplink.f_cnt)
    return result


def _unanswered(session: DeviceSession, count: Count, f_cnt: int) -> list[Unit]:
    """Requests still pending: sent again, or dropped after MAX_ATTEMPTS sends."""
    retries = []
    for name, entry in list(session.pending_mac.items()):
        del session.pending_mac[name]
        if int(entry.get("attempts", 1)) >= MAX_ATTEMPTS:
            count("MACRequestsDropped")
            logger.warning(
                "MAC request dropped: no answer", extra={"command": name, "attempts": entry.get("attempts")}
            )
            if name != "DevStatusReq":
                session.mac_state.failed[name] = Failure("no answer", f_cnt)
            continue
        retries.append(
            Unit(
                name,
                [command_from_dict(c) for c in entry["requests"]],
                entry.get("apply") or {},
                int(entry.get("attempts", 1)),
            )
        )
    return retries


def due_requests(
    session: DeviceSession,
    region: Region,
    *,
    f_cnt: int,
    busy: set[str] | None = None,
    now: float | None = None,
) -> list[Unit]:
    """Requests for what the device should change, in the order they are worth a downlink; `busy` names
    requests already on their way (retries), which are not generated twice."""
    needs = Needs(session, region, f_cnt, time.time() if now is None else now, busy or set())
    return [unit for request in DESIRED if (unit := request.needed(needs)) is not None]


def record_sent(session: DeviceSession, unit: Unit, count: Count, *, f_cnt: int, now: float) -> None:
    """A request went out in a downlink: it is pending until answered."""
    if unit.attempts:
        count("MACRetries")
        logger.info("MAC request sent again", extra={"command": unit.name, "attempt": unit.attempts + 1})
    _pending(session, unit, unit.attempts + 1)
    NETWORK_REQUESTS[unit.name].sent(session, f_cnt=f_cnt, now=now)


def keep_pending(session: DeviceSession, unit: Unit) -> None:
    """A retry that did not fit this downlink stays pending as it was (no attempt is counted)."""
    _pending(session, unit, unit.attempts)


def _pending(session: DeviceSession, unit: Unit, attempts: int) -> None:
    session.pending_mac = {
        **session.pending_mac,
        unit.name: {
            "requests": [command.to_dict() for command in unit.commands],
            "apply": unit.apply,
            "attempts": attempts,
        },
    }
