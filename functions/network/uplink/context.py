"""The typed contexts the uplink steps work on, the ports to the outside, and `run`, which calls steps in
order until one names the outcome.

A step is a plain function of one context. It returns None to go on, or the outcome (a status such as
"replay") to stop: whatever it stops for it has already counted and logged. The last step of a list
always names the outcome. As ChirpStack v4's `uplink/data.rs` reads as a list of named steps over one
context, `data.py`, `join.py` and `rejoin.py` each read as their list of steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from functions.lorawan.mac_commands import MACCommand
from functions.lorawan.macpayload import MACPayload
from functions.lorawan.phypayload import MType, PHYPayload
from functions.lorawan.regions import Region
from functions.lorawan.types import AES128Key
from functions.network.frames import BuiltDownlink
from functions.network.mac.units import Unit, UplinkMAC
from functions.network.models import DeviceSession
from functions.network.observability import Count
from functions.network.receptions import Reception
from functions.network.scheduling import Windows
from functions.shared import aws
from functions.shared.interface import NetworkEvent, QueuedDownlink, QueueHead, event_delivery
from functions.shared.settings import SETTINGS


def run[C](context: C, steps: Sequence[Callable[[C], str | None]]) -> str:
    """Each step in order; the first that names an outcome ends the list."""
    for step in steps:
        outcome = step(context)
        if outcome is not None:
            return outcome
    raise AssertionError("the last step names the outcome")


def deliver_to_application(event: NetworkEvent) -> None:
    """The application server's delivery, run in this invocation (`EventDelivery.deliver_event`)."""
    event_delivery().deliver_event(event)


@dataclass
class Ports:
    """The ports of the pipeline to the outside, replaceable in tests: counting, publishing, invoking,
    delivering events, the de-duplication window, and the clock the RX windows are checked against."""

    count: Count
    publish: Callable[[str, dict[str, object]], None] = aws.publish
    invoke: Callable[..., dict[str, object] | None] = aws.invoke
    window_s: float = SETTINGS.dedup_window_s
    clock: Callable[[], float] = time.time
    deliver: Callable[[NetworkEvent], None] = deliver_to_application

    def send_event(self, event: NetworkEvent) -> None:
        """An event for the application: delivered in this invocation, after the downlink went out (as
        ChirpStack v4 runs both servers in one process). A delivery that fails fails the invocation; its
        retry resumes the frame and sends the events again (functions/network/README.md, "Retried
        invocations")."""
        self.deliver(event)


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Frame:
    """One frame after de-duplication: every gateway's reception of it, decoded once. `best` (the best
    link budget, SNR then RSSI) and `region` (from the topic prefix) are computed once, here."""

    reception: Reception  # this invocation's own
    ports: Ports
    receptions: tuple[Reception, ...] = ()
    deduplication_id: str = ""
    phy: PHYPayload = field(init=False)
    best: Reception = field(init=False)
    region: Region = field(init=False)
    # for the frame log (`record.py`): the device once known (JoinRequest, or the session whose MIC
    # verified) and the gw.DownlinkFrame that answered the frame
    dev_eui: str | None = None
    sent: dict[str, Any] | None = None
    watch_until: float = 0.0  # the device session's watch flag (epoch s), for a frame it rejects

    @property
    def rx_info(self) -> list[dict[str, object]]:
        return [r.rx_info for r in self.receptions]


@dataclass
class DataUplink:
    """A data uplink on its way through README steps 4-7; each step fills what the next ones read."""

    frame: Frame
    now: float = field(default_factory=time.time)
    # find_session / check_frame_counter
    session: DeviceSession = field(init=False)
    keys: dict[str, AES128Key] = field(init=False)
    f_cnt: int = 0
    late: bool = False  # overtaken by a newer frame: its RX windows are over, it only counts and informs
    reread: str | None = None  # the DevEUI whose session is read again after another invocation saved it
    # read_mac_commands / handle_mac_commands / run_adr / add_mac_requests
    commands: list[MACCommand] = field(default_factory=list)
    mac: UplinkMAC = field(default_factory=UplinkMAC)
    units: list[Unit] = field(default_factory=list)  # what wants this downlink, in order of worth
    busy: set[str] = field(default_factory=set)  # requests already on their way (retries)
    # plan_windows / take_queue_head / fit_mac_commands / build_frame / choose_gateway
    windows: Windows = field(default_factory=lambda: Windows(rx1=True, rx2=True))  # still reachable
    head: QueueHead = field(default_factory=QueueHead)  # the queue, resolved for this uplink
    # what a run of this frame that lost its save had resolved, and so removed, in the queue: this run
    # reports it (`read_queue`; an enqueue's version bump makes such re-runs more frequent, issue 16)
    resolved_before: QueueHead | None = None
    item: QueuedDownlink | None = None  # the application payload this downlink carries
    limit: int = 0  # the RX1 data rate's N (RP002 maximum payload size)
    included: list[Unit] = field(default_factory=list)
    built: BuiltDownlink | None = None
    gateway: Reception = field(init=False)
    # record_data: someone watches the device (the API's frames or events of it)
    watched: bool = True

    @property
    def ports(self) -> Ports:
        return self.frame.ports

    @property
    def best(self) -> Reception:
        return self.frame.best

    @property
    def region(self) -> Region:
        return self.frame.region

    @property
    def mac_payload(self) -> MACPayload:
        return self.frame.phy.mac_payload

    @property
    def confirmed(self) -> bool:
        return self.frame.phy.m_type == MType.ConfirmedDataUp
