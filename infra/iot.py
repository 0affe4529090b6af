"""IoT Core wiring: the topic rules that start the Lambdas, the per-gateway policy, the data endpoint.

Topics follow ChirpStack Gateway Bridge v4 (`{region}/gateway/{gateway_id}/event|command|state/...`) and
the ChirpStack application integration (`application/{application_id}/device/{dev_eui}/...`), so gateways
and applications built for ChirpStack work unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack, custom_resources
from aws_cdk import aws_iam as iam
from aws_cdk import aws_iot as iot
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

SQL_VERSION = "2016-03-23"
# Gateway events that may arrive by Basic Ingest, by topic suffix, and the rule each one starts
# (infra/network.py). State messages stay on the broker: they are retained, which Basic Ingest cannot do.
INGESTED = {"event/up": "GatewayUplink", "event/ack": "GatewayTxAck", "event/stats": "GatewayStats"}


def basic_ingest_topic(rule_name: str, topic: str) -> str:
    """Where a message for one rule goes when the broker is skipped: `$aws/rules/<rule>/<topic>`; the rule
    sees `<topic>` (its `topic(n)` counts from there) and IoT Core bills no message (AWS IoT developer
    guide, "Reducing messaging costs with Basic Ingest")."""
    return f"$aws/rules/{rule_name}/{topic}"


def basic_ingest_resources(
    arn: str, basic_ingest: dict[str, str] | None, gateway_topics: list[str]
) -> list[str]:
    """The Basic Ingest topics a publisher of `gateway_topics` (`<prefix>/gateway/<id or *>`) may use:
    each gateway event kind (`event/up`, ...) to its own rule only."""
    return [
        f"{arn}:topic/{basic_ingest_topic(rule, f'{gateway}/{kind}')}"
        for kind, rule in (basic_ingest or {}).items()
        for gateway in gateway_topics
    ]


@dataclass(frozen=True)
class TopicRule:
    """One IoT rule: `sql` selects the messages, `function` receives each one as its event."""

    name: str
    sql: str
    function: lambda_.IFunction
    description: str


class TopicRules(Construct):
    """Every rule invokes its Lambda asynchronously; a rule that cannot deliver sends to the DLQ."""

    def __init__(
        self, scope: Construct, construct_id: str, *, rules: list[TopicRule], dead_letters: sqs.IQueue
    ) -> None:
        super().__init__(scope, construct_id)
        error_role = iam.Role(self, "ErrorActionRole", assumed_by=iam.ServicePrincipal("iot.amazonaws.com"))
        dead_letters.grant_send_messages(error_role)
        self.rules: dict[str, iot.CfnTopicRule] = {}
        # Named (not generated) so that the Basic Ingest topics `$aws/rules/<name>/...` are known at synth.
        prefix = "".join(c if c.isalnum() else "_" for c in Stack.of(self).stack_name)
        self.names: dict[str, str] = {rule.name: f"{prefix}_{rule.name}" for rule in rules}
        for rule in rules:
            cfn = iot.CfnTopicRule(
                self,
                rule.name,
                rule_name=self.names[rule.name],
                topic_rule_payload=iot.CfnTopicRule.TopicRulePayloadProperty(
                    sql=rule.sql,
                    aws_iot_sql_version=SQL_VERSION,
                    description=rule.description,
                    rule_disabled=False,
                    actions=[
                        iot.CfnTopicRule.ActionProperty(
                            lambda_=iot.CfnTopicRule.LambdaActionProperty(
                                function_arn=rule.function.function_arn
                            )
                        )
                    ],
                    error_action=iot.CfnTopicRule.ActionProperty(
                        sqs=iot.CfnTopicRule.SqsActionProperty(
                            queue_url=dead_letters.queue_url, role_arn=error_role.role_arn, use_base64=False
                        )
                    ),
                ),
            )
            rule.function.add_permission(
                f"Invoke{rule.name}",
                principal=iam.ServicePrincipal("iot.amazonaws.com"),
                source_arn=cfn.attr_arn,
                source_account=Stack.of(self).account,
            )
            self.rules[rule.name] = cfn


class GatewayPolicy(Construct):
    """Each gateway (a thing named by its gateway id) may use its own topics and nothing else.

    The policy variable `${iot:Connection.Thing.ThingName}` binds the topics to the certificate's thing,
    so one gateway's certificate cannot publish another gateway's uplinks or read its downlinks.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        region_prefixes: list[str],
        basic_ingest: dict[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        arn = f"arn:{stack.partition}:iot:{stack.region}:{stack.account}"
        thing = "${iot:Connection.Thing.ThingName}"
        own = [f"{prefix}/gateway/{thing}" for prefix in region_prefixes]
        ingest = basic_ingest_resources(arn, basic_ingest, own)
        document = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    actions=["iot:Connect"],
                    resources=[f"{arn}:client/{thing}"],
                    conditions={"Bool": {"iot:Connection.Thing.IsAttached": "true"}},
                ),
                iam.PolicyStatement(
                    actions=["iot:Publish"],
                    resources=[f"{arn}:topic/{t}/event/*" for t in own]
                    + [f"{arn}:topic/{t}/state/*" for t in own]
                    + ingest,
                ),
                iam.PolicyStatement(
                    actions=["iot:Subscribe"], resources=[f"{arn}:topicfilter/{t}/command/*" for t in own]
                ),
                iam.PolicyStatement(
                    actions=["iot:Receive"], resources=[f"{arn}:topic/{t}/command/*" for t in own]
                ),
            ]
        )
        self.policy = iot.CfnPolicy(self, "Policy", policy_document=document)


class ApplicationPolicy(Construct):
    """An application's MQTT client (a thing named by the application id, certificate issued through the
    API) may read its application's events and send its devices' downlink commands, nothing else."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        arn = f"arn:{stack.partition}:iot:{stack.region}:{stack.account}"
        own = "application/${iot:Connection.Thing.ThingName}"
        document = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    actions=["iot:Connect"],
                    resources=[f"{arn}:client/${{iot:Connection.Thing.ThingName}}"],
                    conditions={"Bool": {"iot:Connection.Thing.IsAttached": "true"}},
                ),
                iam.PolicyStatement(actions=["iot:Subscribe"], resources=[f"{arn}:topicfilter/{own}/*"]),
                iam.PolicyStatement(actions=["iot:Receive"], resources=[f"{arn}:topic/{own}/*"]),
                iam.PolicyStatement(
                    actions=["iot:Publish"], resources=[f"{arn}:topic/{own}/device/*/command/down"]
                ),
            ]
        )
        self.policy = iot.CfnPolicy(self, "Policy", policy_document=document)


class DataEndpoint(Construct):
    """The account's `iot:Data-ATS` endpoint, looked up at deploy time for the functions that publish."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        lookup = custom_resources.AwsCustomResource(
            self,
            "Lookup",
            on_update=custom_resources.AwsSdkCall(
                service="Iot",
                action="describeEndpoint",
                parameters={"endpointType": "iot:Data-ATS"},
                physical_resource_id=custom_resources.PhysicalResourceId.of("iot-data-ats-endpoint"),
            ),
            policy=custom_resources.AwsCustomResourcePolicy.from_sdk_calls(
                resources=custom_resources.AwsCustomResourcePolicy.ANY_RESOURCE
            ),
            install_latest_aws_sdk=False,
        )
        self.address = lookup.get_response_field("endpointAddress")
