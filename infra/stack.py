"""The Loraless stack: every concern as one construct, wired together here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import CfnOutput, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_xray as xray
from constructs import Construct

from infra.access import ENVELOPE_ACTIONS, FUNCTION_ACCESS, TABLE_ACTIONS, Access
from infra.api import Api
from infra.appserver import ApplicationServer
from infra.basicstation import StationListeners
from infra.bridge import UDP_PORT, Bridge, BridgePolicy
from infra.dead_letters import DeadLetters
from infra.iot import INGESTED, ApplicationPolicy, DataEndpoint, GatewayPolicy, TopicRules
from infra.keys import Keys, SessionSecret
from infra.lambdas import Observability, SharedCode
from infra.monitoring import Monitoring
from infra.network import NetworkServer
from infra.storage import Storage, TableSpec
from infra.web import Web


@dataclass(frozen=True)
class StackSettings:
    """Deploy-time choices, from `cdk.json` context or `-c key=value`."""

    region_prefixes: list[str] = field(default_factory=lambda: ["eu868"])
    bridge: bool = True
    web_origins: list[str] = field(default_factory=lambda: ["*"])
    # SHA-256 of the administrator API key (`python -c "from functions.appserver.auth import new_api_key;
    # print(new_api_key())"`); without it the API refuses every request.
    admin_api_key_sha256: str = ""
    # Basics Station LNS and CUPS on the bridge's load balancer (infra/basicstation.py): an ACM
    # certificate for the name gateways use; without it the bridge serves Semtech UDP only.
    station_certificate_arn: str = ""
    station_domain: str = ""
    # Where alarms go: an e-mail address subscribed to the alarm topic (AWS asks it to confirm once).
    alarm_email: str = ""
    # Change it (`-c bridge_credential_serial=2`) to rotate the bridge's IoT certificate on the next deploy.
    bridge_credential_serial: str = "1"
    # Frames from gateways no organization registered are refused, as ChirpStack refuses them; true lets
    # any gateway in (a private test network).
    allow_unknown_gateways: bool = False
    # Lambda log level (`WARN`: warnings and errors only; `INFO`: also Lambda's start/report lines, the
    # functions' per-frame lines and the EMF metrics) and X-Ray tracing (`PassThrough` or `Active`):
    # infra/lambdas.py, `Observability`.
    log_level: str = "WARN"
    tracing: str = "PassThrough"
    # With `tracing: Active`: the share of calls past the first each second that X-Ray records.
    xray_sampling_rate: float = 0.01
    # Memory per function name, over the FunctionSpecs' (e.g. {"Uplink": 1024}).
    function_memory: dict[str, int] = field(default_factory=dict)
    # Gateway events (up, ack, stats) reach their rules through Basic Ingest (`$aws/rules/<rule>/...`), which
    # IoT Core does not bill as messages; they are then not on the broker for MQTT subscribers
    # (infra/README.md, "Basic Ingest").
    basic_ingest: bool = True
    # The bridge: `small` (one task with a public address, no NAT, no load balancer) or `ha` (two tasks in
    # two zones behind a Network Load Balancer): infra/bridge.py, infra/README.md.
    bridge_layout: str = "small"
    # A CloudWatch dashboard ($3/month beyond the free tier's three dashboards).
    dashboard: bool = False
    # How long the network server collects a frame's copies from several gateways (ChirpStack's
    # `deduplication_delay`, 200 ms), and how long before a receive window opens a downlink must leave
    # (functions/network/README.md, "Downlinks that would miss their window": a slow backhaul raises it).
    dedup_window_ms: int = 200
    downlink_margin_ms: int = 500


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
            "DEDUP_WINDOW_MS": str(settings.dedup_window_ms),
            "DOWNLINK_MARGIN_MS": str(settings.downlink_margin_ms),
        }
        observability = Observability(log_level=settings.log_level, tracing=settings.tracing)
        if observability.tracing_mode == lambda_.Tracing.ACTIVE:
            self._sampling_rule(settings.xray_sampling_rate)
        groups = {
            "shared": shared, "dead_letters": dead_letters, "environment": environment,
            "observability": observability, "memory": settings.function_memory,
        }  # fmt: skip
        network = NetworkServer(self, "Network", **groups)  # type: ignore[arg-type]
        appserver = ApplicationServer(self, "AppServer", **groups)  # type: ignore[arg-type]
        api_function = appserver.functions["Api"]
        sessions = SessionSecret(self, "Sessions", key=key).secret
        sessions.grant_read(api_function)
        api_function.add_environment("JWT_SECRET_ARN", sessions.secret_arn)
        if settings.web_origins != ["*"]:
            api_function.add_environment("LORALESS_WEB_ORIGIN", settings.web_origins[0])
        application_policy = ApplicationPolicy(self, "ApplicationPolicy").policy
        api_function.add_environment("APPLICATION_POLICY_NAME", application_policy.ref)
        self._grant_application_certificates(api_function)
        if settings.admin_api_key_sha256:
            appserver.functions["Api"].add_environment(
                "LORALESS_ADMIN_API_KEY_SHA256", settings.admin_api_key_sha256
            )
        self.invoked = self._wire(network, appserver)
        functions = {**network.functions, **appserver.functions}
        for name, function in functions.items():
            self._grant(function, FUNCTION_ACCESS[name], storage=storage, key=key, tables=tables)

        rules = TopicRules(
            self, "Rules", rules=network.topic_rules() + appserver.topic_rules(), dead_letters=dead_letters
        )
        # Basic Ingest: gateway events go straight to their rule; the bridge (and a gateway speaking MQTT
        # itself) may publish there for gateway topics only, and for these rules only.
        ingest = {kind: rules.names[rule] for kind, rule in INGESTED.items()} if settings.basic_ingest else {}
        gateway_policy = GatewayPolicy(
            self, "GatewayPolicy", region_prefixes=settings.region_prefixes, basic_ingest=ingest
        )

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
        bridge = None
        # Also without the Fargate bridge: a bridge run elsewhere (on site, or the local cloud's, whose
        # broker enforces the policies of this template) holds a certificate with this policy.
        bridge_policy = BridgePolicy(
            self, "BridgePolicy", region_prefixes=settings.region_prefixes, basic_ingest=ingest
        )
        CfnOutput(
            self,
            "BridgePolicyName",
            value=bridge_policy.policy.ref,
            description="Attach to the bridge's certificate; its client ids start with loraless-bridge-",
        )
        if settings.bridge:
            if Token.is_unresolved(self.region):
                raise ValueError(
                    "the bridge's load balancer logs need a concrete region: run cdk with one "
                    "(AWS_REGION, or a profile that has a region), or deploy with -c bridge=false"
                )
            bridge = Bridge(
                self,
                "Bridge",
                iot_endpoint=endpoint,
                region_prefix=settings.region_prefixes[0],
                logs_bucket=logs_bucket,
                policy=bridge_policy.policy,
                credential_serial=settings.bridge_credential_serial,
                layout=settings.bridge_layout,
                basic_ingest=ingest,
            )
            self.invoked.append(bridge.credential.handler)  # by the custom resource provider
            if settings.station_certificate_arn:
                if bridge.load_balancer is None:
                    raise ValueError(
                        "Basics Station's TLS listeners live on the bridge's load balancer: deploy with "
                        "-c bridge_layout=ha to serve it (the small layout has none)"
                    )
                station = StationListeners(
                    self, "BasicsStation", bridge=bridge, table=storage.tables["StationCredentials"], key=key,
                    certificate_arn=settings.station_certificate_arn, domain=settings.station_domain,
                )  # fmt: skip
                appserver.functions["Api"].add_environment("STATION_LNS_URI", station.lns_uri)
                appserver.functions["Api"].add_environment("STATION_CUPS_URI", station.cups_uri)
                CfnOutput(
                    self, "BasicsStationLns", value=station.lns_uri, description="Basics Station tc.uri"
                )
                CfnOutput(
                    self, "BasicsStationCups", value=station.cups_uri, description="Basics Station cups.uri"
                )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            key=key,
            functions=functions,
            dead_letters=dead_letters,
            api=api.rest_api,
            bridge=bridge,
            alarm_email=settings.alarm_email,
            custom_metrics=observability.application_log_level.value in ("TRACE", "DEBUG", "INFO"),
            dashboard=settings.dashboard,
        )
        self._outputs(endpoint, api, web, gateway_policy, storage, bridge)

    def _sampling_rule(self, rate: float) -> None:
        """Active tracing at low volume records every call ($5 per million traces, more than all else per
        uplink): this rule, ahead of X-Ray's default (1/s, then 5 %), keeps one trace a second and `rate` of
        the rest for this stack's functions and API."""
        xray.CfnSamplingRule(
            self,
            "Sampling",
            sampling_rule=xray.CfnSamplingRule.SamplingRuleProperty(
                rule_name=f"{self.stack_name}-sampling"[:32],
                priority=100,
                fixed_rate=rate,
                reservoir_size=1,
                service_name=f"{self.stack_name}*",
                service_type="*",
                host="*",
                http_method="*",
                url_path="*",
                resource_arn="*",
                version=1,
            ),
        )

    def _outputs(
        self,
        endpoint: str,
        api: Api,
        web: Web,
        gateway_policy: GatewayPolicy,
        storage: Storage,
        bridge: Bridge | None,
    ) -> None:
        """What an operator needs after `cdk deploy` (infra/README.md walks through them)."""
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
        CfnOutput(
            self,
            "UsersTable",
            value=storage.tables["User"].table_name,
            description="USERS_TABLE for `python -m functions.appserver.bootstrap` (first administrator)",
        )
        CfnOutput(
            self,
            "UniqueTable",
            value=storage.tables["Unique"].table_name,
            description="UNIQUE_TABLE for `python -m functions.appserver.bootstrap` (first administrator)",
        )
        CfnOutput(
            self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn, description="Alarm notifications"
        )
        if bridge is not None and bridge.load_balancer is not None:
            CfnOutput(
                self,
                "UdpAddress",
                value=bridge.load_balancer.load_balancer_dns_name,
                description=f"Packet forwarders: server_address (serv_port_up/down {UDP_PORT})",
            )
        if bridge is not None and bridge.load_balancer is None:
            CfnOutput(
                self,
                "UdpAddressLookup",
                value="aws ec2 describe-network-interfaces --filters Name=group-id,Values="
                f"{bridge.task_security_group.security_group_id} "
                "--query NetworkInterfaces[].Association.PublicIp --output text",
                description=f"Prints the bridge task's public IPv4 (UDP {UDP_PORT}); it changes when the "
                "task is replaced (small layout)",
            )
        if bridge is not None:
            CfnOutput(self, "BridgeCertificateSecret", value=bridge.certificate.secret_name)
            CfnOutput(self, "BridgeCertificateId", value=bridge.credential.certificate_id)
            CfnOutput(self, "BridgeCluster", value=bridge.cluster.cluster_name)
            CfnOutput(self, "BridgeService", value=bridge.service.service_name)

    def _grant(
        self,
        function: lambda_.Function,
        access: Access,
        *,
        storage: Storage,
        key: kms.IKey,
        tables: list[TableSpec],
    ) -> None:
        """One table statement (a grant per table would overflow the role's policy size), the envelope
        key actions, and publishing on the function's own topics (infra/access.py declares them)."""
        indexed = {spec.construct_id for spec in tables if spec.schema.get("global_secondary_indexes")}
        own = [storage.tables[name] for name in access.tables]
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=list(TABLE_ACTIONS),
                resources=[table.table_arn for table in own]
                + [f"{storage.tables[n].table_arn}/index/*" for n in access.tables if n in indexed],
            )
        )
        if access.envelope:
            key.grant(function, *ENVELOPE_ACTIONS)
        if access.publish:
            arn = f"arn:{self.partition}:iot:{self.region}:{self.account}"
            topics = sorted(
                {t.format(prefix=p) for t in access.publish for p in self.settings.region_prefixes}
            )
            function.add_to_role_policy(
                iam.PolicyStatement(actions=["iot:Publish"], resources=[f"{arn}:topic/{t}" for t in topics])
            )

    def _grant_application_certificates(self, function: lambda_.Function) -> None:
        """`POST /applications/{id}/integrations/mqtt/certificate` (functions/appserver/mqtt_credentials.py):
        IoT authorizes AttachPolicy against the certificate; a certificate whose attachment fails is
        detached, deactivated and deleted, so none is left behind."""
        arn = f"arn:{self.partition}:iot:{self.region}:{self.account}"
        certificates = f"{arn}:cert/*"
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["iot:CreateCertificateFromCsr"], resources=["*"])
        )
        # AttachPolicy, AttachThingPrincipal and their Detach* are authorized against the certificate (the
        # service authorization reference lists cert and thinggroup only, not the policy or the thing).
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["iot:CreateThing"], resources=[f"{arn}:thing/*"])
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iot:AttachPolicy", "iot:AttachThingPrincipal", "iot:DetachThingPrincipal",
                         "iot:UpdateCertificate", "iot:DeleteCertificate"],
                resources=[certificates],
            )
        )  # fmt: skip

    def _wire(self, network: NetworkServer, appserver: ApplicationServer) -> list[lambda_.Function]:
        """The network server calls the join server and hands events to the application server (the uplink
        function delivers its own, and hands them to the application's webhook); the application server
        asks the network server to send class C downlinks."""
        calls = [
            (network.functions["Uplink"], appserver.functions["JoinServer"], "JOIN_SERVER_FUNCTION"),
            (network.functions["Uplink"], appserver.functions["Webhook"], "WEBHOOK_FUNCTION"),
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
