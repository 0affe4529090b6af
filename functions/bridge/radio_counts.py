"""A gateway's traffic since its last stats report, per frequency, modulation and TX status, as
ChirpStack's gateway side (Concentratord) counts it into gw.GatewayStats: the network server draws the
gateway's dashboard from these reports, and writes nothing per frame a gateway hears."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

MAX_KEYS = 64  # frequencies or modulations per report: a gateway's channels, with room; more are not kept


def _add(counter: Counter[Any], key: Any) -> None:
    if key in counter or len(counter) < MAX_KEYS:
        counter[key] += 1


@dataclass
class RadioCounts:
    rx_frequency: Counter[int] = field(default_factory=Counter)
    rx_modulation: Counter[str] = field(default_factory=Counter)  # the modulation as JSON text
    tx_frequency: Counter[int] = field(default_factory=Counter)
    tx_modulation: Counter[str] = field(default_factory=Counter)
    tx_status: Counter[str] = field(default_factory=Counter)

    def uplink(self, tx_info: dict[str, Any]) -> None:
        """A frame forwarded (gw.UplinkFrame's txInfo: frequency and modulation)."""
        if isinstance(tx_info.get("frequency"), int):
            _add(self.rx_frequency, tx_info["frequency"])
        if isinstance(tx_info.get("modulation"), dict):
            _add(self.rx_modulation, json.dumps(tx_info["modulation"], sort_keys=True))

    def downlink(self, tx_info: dict[str, Any]) -> None:
        """A downlink item handed to the gateway (gw.DownlinkFrameItem's txInfo)."""
        if isinstance(tx_info.get("frequency"), int):
            _add(self.tx_frequency, tx_info["frequency"])
        if isinstance(tx_info.get("modulation"), dict):
            _add(self.tx_modulation, json.dumps(tx_info["modulation"], sort_keys=True))

    def status(self, status: str) -> None:
        """What the gateway did with a downlink item (gw.TxAckStatus name)."""
        _add(self.tx_status, status)

    def take(self) -> dict[str, Any]:
        """The gw.GatewayStats fields of what was counted (only those with counts), and start again."""
        out: dict[str, Any] = {}
        if self.rx_frequency:
            out["rxPacketsPerFrequency"] = {str(k): v for k, v in sorted(self.rx_frequency.items())}
        if self.rx_modulation:
            out["rxPacketsPerModulation"] = [
                {"modulation": json.loads(k), "count": v} for k, v in sorted(self.rx_modulation.items())
            ]
        if self.tx_frequency:
            out["txPacketsPerFrequency"] = {str(k): v for k, v in sorted(self.tx_frequency.items())}
        if self.tx_modulation:
            out["txPacketsPerModulation"] = [
                {"modulation": json.loads(k), "count": v} for k, v in sorted(self.tx_modulation.items())
            ]
        if self.tx_status:
            out["txPacketsPerStatus"] = dict(sorted(self.tx_status.items()))
        for counter in (self.rx_frequency, self.rx_modulation, self.tx_frequency, self.tx_modulation):
            counter.clear()
        self.tx_status.clear()
        return out
