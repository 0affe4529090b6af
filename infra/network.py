"""The network server's Lambdas (functions/network/) and the IoT rules that start them."""

from __future__ import annotations

from aws_cdk import Duration

from infra.iot import TopicRule
from infra.lambdas import FunctionGroup, FunctionSpec

# Memory buys CPU in proportion (1,769 MB = one vCPU) and is billed for the whole call, which for the
# uplink function is mostly the 200 ms de-duplication wait: ~11-20 ms of CPU per call (bench/cost.py). At
# 256 MB (0.14 vCPU) that CPU takes ~4x longer than at 1 GB, +60-100 ms to a ~300 ms call (billed a third
# of the GB-s), against an RX1 deadline 3 s after the uplink; a cold start (~0.8 s of imports at 1 GB)
# takes ~3-5 s there, which a confirmed uplink's RX1 then misses (RX2 and the JoinAccept's 6 s window
# remain). `function_memory` in cdk.json sets any function's memory, e.g. {"Uplink": 1024}.
UPLINK = FunctionSpec(
    name="Uplink",
    handler="functions.network.handlers.uplink.handler",
    description="Dedup, authenticate and act on one gateway reception (JoinRequest, data, rejoin)",
    service="network",
    memory_size=256,
)
TX_ACK = FunctionSpec(
    name="TxAck",
    handler="functions.network.handlers.tx_ack.handler",
    description="Gateway TX acknowledgements: RX2 retry on TOO_LATE/COLLISION, txack events",
    service="network",
    memory_size=256,
)
GATEWAY_EVENTS = FunctionSpec(
    name="GatewayEvents",
    handler="functions.network.handlers.gateway_events.handler",
    description="Gateway statistics and connection state",
    service="network",
    memory_size=256,
)
DOWNLINK = FunctionSpec(
    name="Downlink",
    handler="functions.network.handlers.downlink.handler",
    description="Send queued downlinks that need no uplink: class C, and retransmissions",
    service="network",
    timeout=Duration.seconds(30),
    sampled_callers=True,  # the API's enqueue of a class C downlink invokes it
)
SPECS = (UPLINK, TX_ACK, GATEWAY_EVENTS, DOWNLINK)


class NetworkServer(FunctionGroup):
    """Creates the network-server functions and describes the IoT rules that feed them."""

    SPECS = SPECS

    def topic_rules(self) -> list[TopicRule]:
        """Gateway events by topic suffix, as ChirpStack's MQTT backend dispatches them."""
        gateway = "'+/gateway/+/{}'"
        fields = "*, topic(1) AS topic_prefix, topic(3) AS topic_gateway_id, timestamp() AS received_at"
        return [
            TopicRule(
                "GatewayUplink",
                f"SELECT {fields} FROM {gateway.format('event/up')}",
                self.functions[UPLINK.name],
                "Gateway uplink frames to the network server",
            ),
            TopicRule(
                "GatewayTxAck",
                f"SELECT {fields} FROM {gateway.format('event/ack')}",
                self.functions[TX_ACK.name],
                "Gateway downlink acknowledgements",
            ),
            TopicRule(
                "GatewayStats",
                f"SELECT {fields} FROM {gateway.format('event/stats')}",
                self.functions[GATEWAY_EVENTS.name],
                "Gateway statistics",
            ),
            TopicRule(
                "BridgeState",
                "SELECT *, topic(1) AS topic_prefix FROM '+/bridge/+/state/conn'",
                self.functions[GATEWAY_EVENTS.name],
                "Bridge processes' state and last will: their gateways go offline with them",
            ),
            TopicRule(
                "GatewayConnState",
                f"SELECT {fields} FROM {gateway.format('state/conn')}",
                self.functions[GATEWAY_EVENTS.name],
                "Gateway connection state (retained, last will)",
            ),
        ]
