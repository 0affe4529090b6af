"""The application server's Lambdas (functions/appserver/): API, join server, events and integrations."""

from __future__ import annotations

from aws_cdk import Duration

from infra.iot import TopicRule
from infra.lambdas import FunctionGroup, FunctionSpec

API = FunctionSpec(
    name="Api",
    handler="functions.appserver.handlers.api.handler",
    description="REST API behind API Gateway: tenants, users, applications, devices, gateways",
    service="appserver",
    memory_size=1024,
    timeout=Duration.seconds(29),
    sampled_callers=True,  # API Gateway traces its stage
)
JOIN_SERVER = FunctionSpec(
    name="JoinServer",
    handler="functions.appserver.handlers.join_server.handler",
    description="Join server: JoinReq/JoinAns (LoRaWAN Backend Interfaces) from the root keys",
    service="join-server",
)
NETWORK_EVENTS = FunctionSpec(
    name="NetworkEvents",
    handler="functions.appserver.handlers.network_events.handler",
    description="Events from the network server: decrypt, decode, publish to applications",
    service="appserver",
    memory_size=256,  # ~10 ms of CPU per event (bench/cost.py); heavy JavaScript codecs want more CPU
    timeout=Duration.seconds(30),
    sampled_callers=True,  # the class C downlink the API asks for sends its txack here
)
MQTT_DOWNLINK = FunctionSpec(
    name="MqttDownlink",
    handler="functions.appserver.handlers.mqtt_downlink.handler",
    description="Downlinks that applications publish on application/{id}/device/{dev_eui}/command/down",
    service="appserver",
)
WEBHOOK = FunctionSpec(
    name="Webhook",
    handler="functions.appserver.handlers.webhook.handler",
    description="HTTP integration: POSTs one event to the application's webhook (async; retries, DLQ)",
    service="appserver",
    timeout=Duration.seconds(15),  # a 5 s HTTP timeout, the DynamoDB read and KMS decrypt of the secret
    sampled_callers=True,  # NetworkEvents' deliveries
)
SPECS = (API, JOIN_SERVER, NETWORK_EVENTS, MQTT_DOWNLINK, WEBHOOK)


class ApplicationServer(FunctionGroup):
    """Creates the application-server functions and the rule for MQTT downlink commands."""

    SPECS = SPECS

    def topic_rules(self) -> list[TopicRule]:
        """ChirpStack's application command topic; the topic names the device, the payload the data."""
        return [
            TopicRule(
                "ApplicationDownlink",
                "SELECT *, topic(2) AS topic_application_id, topic(4) AS topic_dev_eui "
                "FROM 'application/+/device/+/command/down'",
                self.functions[MQTT_DOWNLINK.name],
                "Application downlinks over MQTT",
            )
        ]
