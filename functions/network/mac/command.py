"""The shape of a MAC command module (one per command, as The Things Stack's `pkg/networkserver/mac/`).

A request the network sends (`NetworkRequest`) says which desired fields ask for it and how they are
checked (`FIELDS`, `normalise`), when the network needs to send it (`needed`), what happens when it goes
out (`sent`) and how its answer applies (`answered`). A request the device sends (`DeviceRequest`) says
how the network answers it (`answer`). `registry.py` lists the modules; nothing else names a command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from functions.lorawan.mac_commands import MACCommand
from functions.lorawan.mac_commands.base import StatusAnswer
from functions.lorawan.regions import Region
from functions.network.mac.state import Failure, MacState
from functions.network.mac.units import Apply, Unit, UplinkMAC
from functions.network.models import DeviceSession
from functions.network.observability import Count, logger


@dataclass
class Needs:
    """What a request module looks at to decide whether the network needs to send it now."""

    session: DeviceSession
    region: Region
    f_cnt: int
    now: float
    busy: set[str] = field(default_factory=set)  # requests already on their way (retries)

    @property
    def state(self) -> MacState:
        return self.session.mac_state

    @property
    def lorawan_1_1(self) -> bool:
        return self.session.mac_version.startswith("1.1")

    def wanted(self, request: NetworkRequest) -> bool:
        """Not pending, not refused or given up, not already on its way; a 1.1-only request for a 1.0
        session is refused once, with a log line."""
        name = request.NAME
        if name in self.session.pending_mac or name in self.state.failed or name in self.busy:
            return False
        if request.LORAWAN_1_1_ONLY and not self.lorawan_1_1:
            self.state.failed[name] = Failure("LoRaWAN 1.1 only", self.f_cnt)
            logger.warning("MAC request not sent: LoRaWAN 1.1 only", extra={"command": name})
            return False
        return True


@dataclass(frozen=True)
class Uplink:
    """What a device request's answer may need to know of the uplink that carried it."""

    region: Region
    dr: int
    max_snr: float
    gateway_count: int
    gps_time_s: float
    f_cnt: int


class NetworkRequest:
    NAME: ClassVar[str]
    ANSWER: ClassVar[type[MACCommand]]
    STICKY: ClassVar[bool] = False  # the device repeats the answer until it hears a downlink
    FIELDS: ClassVar[tuple[str, ...]] = ()  # the desired-state fields that ask for it
    LORAWAN_1_1_ONLY: ClassVar[bool] = False

    def normalise(self, values: dict[str, Any], region: Region) -> dict[str, Any]:
        """The desired values of `FIELDS` in their stored form; raises (LoRaWANError, ValueError) when one
        is out of range."""
        return values

    def needed(self, needs: Needs) -> Unit | None:
        """The request (as one unit) when the device should change something, else None."""
        return None

    def sent(self, session: DeviceSession, *, f_cnt: int, now: float) -> None:
        """The request went out in a downlink (it is pending from now on)."""

    def answered(
        self,
        session: DeviceSession,
        entry: dict[str, Any],
        answers: list[MACCommand],
        result: UplinkMAC,
        count: Count,
        f_cnt: int,
    ) -> bool:
        """Applies what the request asked only when every status bit of every answer is set; a partial
        NACK leaves the session as it was, is counted and logged, and the request is not generated again
        until an operator asks anew. Returns whether it applied."""
        refused = [
            a.to_dict()
            for a in answers
            if isinstance(a, StatusAnswer) and not all(getattr(a, bit) for bit in a.STATUS_BITS)
        ]
        if refused or len(answers) < len(entry["requests"]):
            count("MACNacks")
            logger.warning(
                "device refused a MAC request; session unchanged",
                extra={"command": self.NAME, "requests": entry["requests"], "answers": refused or "missing"},
            )
            session.mac_state.failed[self.NAME] = Failure("nack", f_cnt)
            return False
        apply(session, entry.get("apply") or {})
        logger.info(
            "device acknowledged a MAC request", extra={"command": self.NAME, "apply": entry.get("apply")}
        )
        return True


class DeviceRequest:
    REQUEST: ClassVar[type[MACCommand]]
    LORAWAN_1_1_ONLY: ClassVar[bool] = False  # a 1.0 session's command is logged, not answered

    def answer(self, command: MACCommand, session: DeviceSession, uplink: Uplink) -> Unit | None:
        raise NotImplementedError


def apply(session: DeviceSession, values: Apply) -> None:
    """What an acknowledged request changes: session attributes, and what the device now has (`Applied`);
    channel maps merge (a None channel is removed), and a channel added or removed joins or leaves the
    enabled ones."""
    for attribute, value in values.get("session", {}).items():
        setattr(session, attribute, value)
    applied = session.mac_state.applied
    for key, value in values.get("state", {}).items():
        if key in ("channels", "downlink_channels"):
            merged = {**getattr(applied, key), **value}
            setattr(applied, key, {k: v for k, v in merged.items() if v is not None})
            if key == "channels" and applied.enabled_channels is not None:
                enabled = set(applied.enabled_channels)
                for index, channel in value.items():
                    (enabled.add if channel else enabled.discard)(int(index))
                applied.enabled_channels = sorted(enabled)
        else:
            setattr(applied, key, value)
