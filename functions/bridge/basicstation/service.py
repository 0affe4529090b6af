"""The Basics Station side of a bridge process, built from its settings: the LNS WebSocket server and,
when a port is given, CUPS. TLS is terminated here when a server certificate is configured (local
cloud, self-hosting) or by the load balancer in front (AWS: NLB TLS listeners)."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from functions.bridge.basicstation.cups import CupsServer
from functions.bridge.basicstation.directory import Directory, DynamoDirectory
from functions.bridge.basicstation.lns import StationLNS
from functions.bridge.basicstation.router_config import Filters, parse_join_eui_ranges, parse_net_ids
from functions.bridge.config import BridgeConfig
from functions.bridge.metrics import Metrics
from functions.bridge.server import Publisher

log = logging.getLogger("loraless.bridge.station")


@dataclass
class StationService:
    config: BridgeConfig
    lns: StationLNS
    cups: CupsServer | None
    ssl_context: ssl.SSLContext | None
    lns_address: tuple[str, int] | None = None
    cups_address: tuple[str, int] | None = None

    @classmethod
    def from_config(
        cls,
        config: BridgeConfig,
        *,
        publisher: Publisher,
        metrics: Metrics,
        directory: Directory | None = None,
    ) -> StationService | None:
        if config.station_port is None:
            return None
        directory = directory or DynamoDirectory()
        filters = Filters(
            net_ids=parse_net_ids(config.station_net_ids),
            join_eui_ranges=parse_join_eui_ranges(config.station_join_eui_ranges),
        )
        lns = StationLNS(
            topic_prefix=config.topic_prefix, publisher=publisher, metrics=metrics, directory=directory,
            filters=filters, public_uri=config.station_public_uri,
        )  # fmt: skip
        context = None
        if config.station_tls_cert and config.station_tls_key:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(config.station_tls_cert, config.station_tls_key)
        cups = None
        if config.cups_port is not None:
            if not (config.station_public_uri and config.cups_public_uri and config.station_trust):
                raise ValueError("CUPS needs the public LNS and CUPS URIs and the trust (CA PEM) to hand out")
            trust = x509.load_pem_x509_certificate(config.station_trust.read_bytes())
            cups = CupsServer(
                directory=directory, metrics=metrics, cups_uri=config.cups_public_uri,
                tc_uri=config.station_public_uri, trust_der=trust.public_bytes(serialization.Encoding.DER),
            )  # fmt: skip
        return cls(config, lns, cups, context)

    async def start(self, host: str) -> None:
        assert self.config.station_port is not None
        self.lns_address = await self.lns.start(host, self.config.station_port, self.ssl_context)
        log.info("Basics Station LNS on %s:%d (%s)", *self.lns_address, "wss" if self.ssl_context else "ws")
        if self.cups is not None and self.config.cups_port is not None:
            self.cups_address = await self.cups.start(host, self.config.cups_port, self.ssl_context)
            log.info("Basics Station CUPS on %s:%d", *self.cups_address)

    async def stop(self) -> None:
        await self.lns.stop()
        if self.cups is not None:
            await self.cups.stop()
