"""Units of MAC commands: what goes into one downlink together or not at all, and how units are fitted
into the room a downlink has (LoRaWAN 1.0.4 §4.3.1.6: FOpts at most 15 octets, FPort 0 up to N)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from functions.lorawan.mac_commands import MAC_COMMANDS, MACCommand, mac_command_size

# What the acknowledgement of a request changes: {"session": {attribute: value}, "state": {Applied field:
# value}}. Stored as JSON with the pending request (`DeviceSession.pending_mac`).
Apply = dict[str, dict[str, Any]]

_BY_NAME: dict[str, type[MACCommand]] = {cls.NAME: cls for cls in MAC_COMMANDS.values() if not cls.UPLINK}


@dataclass
class Unit:
    """Commands that go into one downlink together or not at all (a LinkADRReq block is one unit).
    `apply` is None for an answer; for a request it says what the acknowledgement changes."""

    name: str
    commands: list[MACCommand]
    apply: Apply | None = None
    attempts: int = 0  # sends before this one

    @property
    def size(self) -> int:
        return sum(mac_command_size(command) for command in self.commands)

    @property
    def is_request(self) -> bool:
        return self.apply is not None


def answer(command: MACCommand) -> Unit:
    return Unit(command.NAME, [command])


@dataclass
class UplinkMAC:
    """What an uplink's MAC commands call for: answers, requests to send again, a status event."""

    answers: list[Unit] = field(default_factory=list)
    retries: list[Unit] = field(default_factory=list)
    status: dict[str, Any] | None = None  # battery and margin from DevStatusAns
    needs_downlink: bool = False  # a sticky answer: a downlink (even empty) makes the device stop


def command_from_dict(value: dict[str, Any]) -> MACCommand:
    cls = _BY_NAME[value["name"]]
    return cls(**{k: v for k, v in value.items() if k != "name"})


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
