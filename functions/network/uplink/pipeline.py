"""README steps 1-3 for every reception: de-duplicate, decode, check the size, then the frame's own list
of steps (`join.py`, `rejoin.py`, `data.py`). Step 1, parsing the gateway's event into a `Reception`,
is the handler's (`functions/network/receptions.py`)."""

from __future__ import annotations

from dataclasses import replace

from functions.lorawan.errors import LoRaWANError
from functions.lorawan.phypayload import MType, PHYPayload
from functions.network import gateway_registry
from functions.network.dedup import collect
from functions.network.observability import logger
from functions.network.receptions import Reception, region_for_prefix
from functions.network.scheduling import best_reception
from functions.network.uplink import data, join, rejoin
from functions.network.uplink.context import Frame, Ports, run
from functions.network.uplink.record import record_rejection
from functions.shared.settings import SETTINGS


def handle_reception(reception: Reception, ports: Ports) -> str:
    """Returns what happened, for the handler's log line and the tests. Bad input is counted, logged and
    answered with a status: nothing raises for it (an exception would make the platform retry)."""
    frame = Frame(reception, ports)
    outcome = run(frame, STEPS)
    record_rejection(frame, outcome)
    return outcome


def check_gateway(frame: Frame) -> str | None:
    """Frames from a gateway no organization registered are refused (ChirpStack refuses unknown gateways),
    before they can join a collection or carry a downlink, unless the deployment allows them. The same read
    says whether someone watches the gateway: the reception carries it to the frame log."""
    gateway_id = frame.reception.gateway_id
    gateway = gateway_registry.facts(gateway_id)
    if gateway.watched():
        frame.reception = replace(frame.reception, gateway_watched=True)
    if SETTINGS.allow_unknown_gateways or gateway.registered:
        return None
    frame.ports.count("UnknownGateways")
    logger.warning("frame from an unregistered gateway dropped", extra={"gateway_id": gateway_id})
    return "unknown_gateway"


def deduplicate(frame: Frame) -> str | None:
    """Step 2: one invocation goes on with every gateway's reception; the others stop here."""
    outcome = collect(frame.reception, window_s=frame.ports.window_s)
    if outcome.retransmission:
        frame.ports.count("Retransmissions")  # checked as a frame of its own: the counter check reports it
        logger.info("the device sent a frame again", extra={"attempt": outcome.retransmission})
    if outcome.status != "process":
        frame.ports.count("DedupDrops")
        if outcome.status == "late":
            frame.ports.count("DedupLate")
            logger.info(
                "copy arrived after the frame was processed", extra={"gateway_id": frame.reception.gateway_id}
            )
        return outcome.status
    if outcome.resumed:
        frame.ports.count("ResumedFrames")
        logger.info("frame claimed by an earlier attempt of this invocation: resumed")
    frame.receptions, frame.deduplication_id = outcome.receptions, outcome.deduplication_id
    return None


def decode(frame: Frame) -> str | None:
    """The PHYPayload, the best reception and the region, once for all later steps."""
    try:
        frame.phy = PHYPayload.from_bytes(frame.reception.phy_payload)
    except LoRaWANError as exc:
        frame.ports.count("InvalidFrames")
        logger.warning("undecodable frame dropped", extra={"reason": str(exc)})
        return "invalid_frame"
    frame.best = best_reception(frame.receptions)
    frame.region = region_for_prefix(frame.best.topic_prefix)
    return None


def check_size(frame: Frame) -> str | None:
    """MHDR + MACPayload + MIC beyond the data rate's M is dropped (RP002 maximum payload size)."""
    size = len(frame.reception.phy_payload)
    try:
        too_large = size - 5 > frame.region.max_payload_size(frame.best.data_rate).m
    except LoRaWANError:
        too_large = False
    if too_large:
        frame.ports.count("FramesTooLarge")
        logger.warning(
            "frame larger than its data rate allows dropped", extra={"size": size, "dr": frame.best.data_rate}
        )
        return "too_large"
    return None


def by_frame_type(frame: Frame) -> str:
    """Step 3 or 4: a JoinRequest, a RejoinRequest or a data uplink goes on through its own steps."""
    if frame.phy.m_type == MType.JoinRequest:
        return join.handle_join(frame)
    if frame.phy.m_type in (MType.UnconfirmedDataUp, MType.ConfirmedDataUp):
        return data.handle_data(frame)
    if frame.phy.m_type == MType.RejoinRequest:
        return rejoin.handle_rejoin(frame)
    frame.ports.count("UnsupportedFrames")
    logger.info("frame type not handled", extra={"m_type": frame.phy.m_type.name})
    return "unsupported"


STEPS = (check_gateway, deduplicate, decode, check_size, by_frame_type)
