"""The Loraless stack: every concern as one construct, wired together here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.api import Api
from infra.appserver import ApplicationServer
from infra.bridge import UDP_PORT, Bridge, BridgePolicy
from infra.dead_letters import DeadLetters
from infra.iot import ApplicationPolicy, DataEndpoint, GatewayPolicy, TopicRules
from infra.keys import Keys, SessionSecret
from infra.lambdas import SharedCode
from infra.monitoring import Monitoring
from infra.network import NetworkServer
from infra.storage import Storage, TableSpec
from infra.web import Web

# Data-plane actions on the tables, in one statement per function (a grant per table would overflow the
# role's policy size with this many tables); the account tables are the API's alone.
TABLE_ACTIONS = [
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan",
    "dynamodb:ConditionCheckItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem", "dynamodb:DescribeTable",
]  # fmt: skip
ACCOUNT_TABLES = frozenset({"User", "Unique", "Membership", "ApiKey"})


@dataclass(frozen=True)
class StackSettings:
    """Deploy-time choices, from `cdk.json` context or `-c key=value`."""

    region_prefixes: list[str] = field(default_factory=lambda: ["eu868"])
    bridge: bool = True
    web_origins: list[str] = field(default_factory=lambda: ["*"])
    # SHA-256 of the administrator API key (`python -c "from functions.appserver.auth import new_api_key;
    # print(new_api_key())"`); without it the API refuses every request.
    admin_api_key_sha256: str = ""
    # Frames from gateways no organization registered are refused, as ChirpStack refuses them; true lets
    # any gateway in (a private test network).
    allow_unknown_gateways: bool = False


class LoralessStack(Stack):
    """IoT Core in front, Lambdas in the middle, DynamoDB behind; the bridge and the web UI at the edges."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StackSettings,
        tables: list[TableSpec],
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.settings = settings
        key = Keys(self, "Keys").key
        dead_letters = DeadLetters(self, "DeadLetters", key=key).queue
        storage = Storage(self, "Storage", key=key, specs=tables)
        self.storage = storage
        endpoint = DataEndpoint(self, "IotEndpoint").address
        shared = SharedCode(self, "Code")
        environment = {
            **storage.environment,
            "KMS_KEY_ID": key.key_arn,
            "IOT_DATA_ENDPOINT": f"https://{endpoint}",
            "REGION_PREFIXES": ",".join(settings.region_prefixes),
            "ALLOW_UNKNOWN_GATEWAYS": "true" if settings.allow_unknown_gateways else "false",
        }
        network = NetworkServer(
            self, "Network", shared=shared, dead_letters=dead_letters, environment=environment
        )
        appserver = ApplicationServer(
            self, "AppServer", shared=shared, dead_letters=dead_letters, environment=environment
        )
        api_function = appserver.functions["Api"]
        sessions = SessionSecret(self, "Sessions", key=key).secret
        sessions.grant_read(api_function)
        api_function.add_environment("JWT_SECRET_ARN", sessions.secret_arn)
        if settings.web_origins != ["*"]:
            api_function.add_environment("LORALESS_WEB_ORIGIN", settings.web_origins[0])
        application_policy = ApplicationPolicy(self, "ApplicationPolicy").policy
        api_function.add_environment("APPLICATION_POLICY_NAME", application_policy.ref)
        api_function.add_to_role_policy(
            iam.PolicyStatement(actions=["iot:CreateCertificateFromCsr"], resources=["*"])
        )
        api_function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iot:CreateThing", "iot:AttachThingPrincipal"],
                resources=[f"arn:{self.partition}:iot:{self.region}:{self.account}:thing/*"],
            )
        )
        api_function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iot:AttachPolicy"],
                resources=[
                    f"arn:{self.partition}:iot:{self.region}:{self.account}:policy/{application_policy.ref}"
                ],
            )
        )
        if settings.admin_api_key_sha256:
            appserver.functions["Api"].add_environment(
                "LORALESS_ADMIN_API_KEY_SHA256", settings.admin_api_key_sha256
            )
        self.invoked = self._wire(network, appserver)
        functions = {**network.functions, **appserver.functions}
        stack_arn = f"arn:{self.partition}:iot:{self.region}:{self.account}"
        indexed = {spec.construct_id for spec in tables if spec.schema.get("global_secondary_indexes")}
        for name, function in functions.items():
            allowed = {
                t: table for t, table in storage.tables.items() if name == "Api" or t not in ACCOUNT_TABLES
            }
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=TABLE_ACTIONS,
                    resources=[table.table_arn for table in allowed.values()]
                    + [f"{table.table_arn}/index/*" for t, table in allowed.items() if t in indexed],
                )
            )
            key.grant(function, "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")
        for function in network.functions.values():
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["iot:Publish"],
                    resources=[
                        f"{stack_arn}:topic/{p}/gateway/*/command/*" for p in settings.region_prefixes
                    ],
                )
            )
        for function in appserver.functions.values():
            function.add_to_role_policy(
                iam.PolicyStatement(actions=["iot:Publish"], resources=[f"{stack_arn}:topic/application/*"])
            )

        TopicRules(
            self, "Rules", rules=network.topic_rules() + appserver.topic_rules(), dead_letters=dead_letters
        )
        gateway_policy = GatewayPolicy(self, "GatewayPolicy", region_prefixes=settings.region_prefixes)

        logs_bucket = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        api = Api(self, "Api", function=appserver.functions["Api"], allow_origins=settings.web_origins)
        web = Web(self, "Web", logs_bucket=logs_bucket, api_url=api.rest_api.url)
        Monitoring(self, "Monitoring", key=key, functions=functions, dead_letters=dead_letters)

        CfnOutput(
            self, "IotEndpointAddress", value=endpoint, description="MQTT endpoint (port 8883, mutual TLS)"
        )
        CfnOutput(self, "ApiUrl", value=api.rest_api.url, description="REST API base URL")
        CfnOutput(self, "WebUrl", value=f"https://{web.distribution.distribution_domain_name}")
        CfnOutput(
            self,
            "GatewayPolicyName",
            value=gateway_policy.policy.ref,
            description="Attach to each gateway's certificate; the gateway's thing name is its gateway id",
        )
        if settings.bridge:
            BridgePolicy(self, "BridgePolicy", region_prefixes=settings.region_prefixes)
            bridge = Bridge(
                self,
                "Bridge",
                iot_endpoint=endpoint,
                region_prefix=settings.region_prefixes[0],
                logs_bucket=logs_bucket,
            )
            CfnOutput(
                self,
                "UdpAddress",
                value=f"{bridge.load_balancer.load_balancer_dns_name}:{UDP_PORT}",
                description="Each packet forwarder's server_address and serv_port_up/serv_port_down",
            )
            CfnOutput(self, "BridgeCertificateSecret", value=bridge.certificate.secret_name)

    def _wire(self, network: NetworkServer, appserver: ApplicationServer) -> list[lambda_.Function]:
        """The network server calls the join server and hands events to the application server; the
        application server asks the network server to send class C downlinks."""
        calls = [
            (network.functions["Uplink"], appserver.functions["JoinServer"], "JOIN_SERVER_FUNCTION"),
            (network.functions["Uplink"], appserver.functions["NetworkEvents"], "NETWORK_EVENTS_FUNCTION"),
            (network.functions["TxAck"], appserver.functions["NetworkEvents"], "NETWORK_EVENTS_FUNCTION"),
            (network.functions["Downlink"], appserver.functions["NetworkEvents"], "NETWORK_EVENTS_FUNCTION"),
            (appserver.functions["Api"], network.functions["Downlink"], "DOWNLINK_FUNCTION"),
            (appserver.functions["MqttDownlink"], network.functions["Downlink"], "DOWNLINK_FUNCTION"),
            (appserver.functions["NetworkEvents"], appserver.functions["Webhook"], "WEBHOOK_FUNCTION"),
        ]
        for caller, callee, variable in calls:
            callee.grant_invoke(caller)
            caller.add_environment(variable, callee.function_name)
        return list({id(callee): callee for _, callee, _ in calls}.values())
