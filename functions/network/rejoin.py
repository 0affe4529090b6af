"""LoRaWAN 1.1 RejoinRequests (§6.2.4): not answered yet."""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.lorawan.phypayload import PHYPayload
from functions.network.events import Reception
from functions.network.observability import logger

if TYPE_CHECKING:
    from functions.network.uplink import Pipeline


def handle_rejoin(
    phy: PHYPayload, receptions: tuple[Reception, ...], dedup_id: str, pipeline: Pipeline
) -> str:
    pipeline.count("UnsupportedFrames")
    logger.info("RejoinRequest not handled yet")
    return "unsupported"
