"""The gateway bridge as an ECS Fargate service behind a Network Load Balancer on UDP 1700.

Gateways point their packet forwarder at the load balancer; the bridge speaks MQTT to IoT Core with
its own certificate, which the stack issues at deploy time into Secrets Manager (`BridgeCredential`).
Its IoT policy lets it use gateway topics only, never application topics.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CustomResource, Duration, Stack, custom_resources
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_iot as iot
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.iot import basic_ingest_resources

ROOT = Path(__file__).resolve().parent.parent
PROVISIONING = Path(__file__).resolve().parent / "provisioning"
UDP_PORT = 1700
HEALTH_PORT = 8080
BRIDGE_CLIENT_PREFIX = "loraless-bridge"


class BridgePolicy(Construct):
    """The bridge publishes for the gateways that reach it over UDP, and only on gateway topics: with
    Basic Ingest, also on `$aws/rules/<rule>/<prefix>/gateway/*/event/<kind>`, for the gateway-event
    rules only (never another rule, never another topic)."""

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
        gateways = [f"{prefix}/gateway/*" for prefix in region_prefixes]
        ingest = basic_ingest_resources(arn, basic_ingest, gateways)
        document = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    actions=["iot:Connect"], resources=[f"{arn}:client/{BRIDGE_CLIENT_PREFIX}-*"]
                ),
                iam.PolicyStatement(
                    actions=["iot:Publish"],
                    resources=[f"{arn}:topic/{g}/event/*" for g in gateways]
                    + [f"{arn}:topic/{g}/state/*" for g in gateways]
                    + [f"{arn}:topic/{p}/bridge/${{iot:ClientId}}/state/*" for p in region_prefixes]
                    + ingest,
                ),
                iam.PolicyStatement(
                    actions=["iot:Subscribe"],
                    resources=[f"{arn}:topicfilter/{g}/command/*" for g in gateways],
                ),
                iam.PolicyStatement(
                    actions=["iot:Receive"], resources=[f"{arn}:topic/{g}/command/*" for g in gateways]
                ),
            ]
        )
        self.policy = iot.CfnPolicy(self, "Policy", policy_document=document)


class BridgeCredential(Construct):
    """The bridge's certificate and key, issued by IoT Core at deploy time with the bridge policy attached
    and written into `secret` as the fields the task reads (infra/provisioning/bridge_credential.py).

    Rotation: deploy with another `bridge_credential_serial` context value; the new certificate's id
    changes the task definition, so ECS replaces the tasks, then CloudFormation deletes the old one.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        policy: iot.CfnPolicy,
        secret: secretsmanager.ISecret,
        serial: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        arn = f"arn:{stack.partition}:iot:{stack.region}:{stack.account}"
        self.handler = handler = lambda_.Function(
            self,
            "Handler",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            code=lambda_.Code.from_asset(str(PROVISIONING), exclude=["__pycache__", "*.pyc", "__init__.py"]),
            handler="bridge_credential.on_event",
            timeout=Duration.minutes(1),
            description="Issues the bridge's IoT certificate into its secret (custom resource)",
            log_group=logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_MONTH),
        )
        handler.add_to_role_policy(
            iam.PolicyStatement(actions=["iot:CreateKeysAndCertificate"], resources=["*"])
        )
        # Authorized against the certificate (not the policy): the service authorization reference.
        handler.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iot:AttachPolicy", "iot:DetachPolicy", "iot:DescribeCertificate",
                         "iot:UpdateCertificate", "iot:DeleteCertificate"],
                resources=[f"{arn}:cert/*"],
            )
        )  # fmt: skip
        secret.grant_write(handler)
        provider = custom_resources.Provider(self, "Provider", on_event_handler=handler)
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type="Custom::BridgeCredential",
            properties={"PolicyName": policy.ref, "SecretId": secret.secret_arn, "Serial": serial},
        )
        self.certificate_id = self.resource.get_att_string("CertificateId")


LAYOUTS = ("small", "ha")


class Bridge(Construct):
    """The bridge on Fargate (arm64), in one of two layouts (`bridge_layout` in cdk.json):

    - `small` (the default): one task (0.25 vCPU, 512 MB) in a public subnet with its own public IPv4
      address, which gateways send UDP to; no NAT gateway, no load balancer, no Container Insights.
      ~$11/month. It gives up: a stable address (a replaced task, on deploy, crash or host maintenance,
      comes back with another public IP, and gateways must be pointed at it again: infra/README.md shows
      how to find it), availability across zones (one task in one zone), and Basics Station (its TLS
      listeners live on the load balancer).
    - `ha`: two tasks (0.5 vCPU, 1 GB) in two zones behind a cross-zone NLB, in private subnets reaching
      AWS through one NAT gateway; one stable DNS name; a deploy starts new tasks before stopping old
      ones (minimum healthy 100%). ~$100/month.

    A gateway's PULL_DATA address lives in the task that received it; after a task is replaced the
    gateway's next PULL_DATA (every `keepalive_interval`, 10 s in Semtech's packet forwarder) registers it
    with the new task, and downlinks flow again (bench/README.md measures it).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        iot_endpoint: str,
        region_prefix: str,
        logs_bucket: s3.IBucket,
        policy: iot.CfnPolicy,
        credential_serial: str = "1",
        layout: str = "small",
        basic_ingest: dict[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if layout not in LAYOUTS:
            raise ValueError(f"bridge_layout must be one of {LAYOUTS}, not {layout!r}")
        self.layout = layout
        small = layout == "small"
        self.desired_count = 1 if small else 2
        subnets = [ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)]
        if not small:
            subnets.append(
                ec2.SubnetConfiguration(
                    name="tasks", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=24
                )
            )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=1 if small else 2,
            nat_gateways=0 if small else 1,
            subnet_configuration=subnets,
            flow_logs={"all": ec2.FlowLogOptions(traffic_type=ec2.FlowLogTrafficType.REJECT)},
        )
        cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=self.vpc,
            container_insights_v2=ecs.ContainerInsights.DISABLED if small else ecs.ContainerInsights.ENABLED,
        )
        self.cluster = cluster
        self.certificate = secretsmanager.Secret(
            self,
            "MqttCertificate",
            description="Bridge MQTT client certificate and key (JSON: certificate_pem, private_key), "
            "written by the BridgeCredential custom resource",
        )
        self.credential = BridgeCredential(
            self, "Credential", policy=policy, secret=self.certificate, serial=credential_serial
        )
        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=256 if small else 512,
            memory_limit_mib=512 if small else 1024,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        task.add_container(
            "Bridge",
            image=ecs.ContainerImage.from_asset(
                str(ROOT), file="functions/bridge/Dockerfile", platform=ecr_assets.Platform.LINUX_ARM64
            ),
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="bridge",
                log_group=logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_MONTH),
            ),
            environment={
                "BRIDGE_UDP_PORT": str(UDP_PORT),
                "BRIDGE_HEALTH_PORT": str(HEALTH_PORT),
                "BRIDGE_HEALTH_HOST": "0.0.0.0",  # the NLB checks it from the VPC (security group below)
                "BRIDGE_MQTT_ENDPOINT": iot_endpoint,
                "BRIDGE_MQTT_PORT": "8883",
                "BRIDGE_TOPIC_PREFIX": region_prefix,
                "BRIDGE_CLIENT_ID_PREFIX": BRIDGE_CLIENT_PREFIX,
                # a new certificate (rotation) is a new task definition: ECS replaces the tasks
                "BRIDGE_CERTIFICATE_ID": self.credential.certificate_id,
                **basic_ingest_environment(basic_ingest or {}),
            },
            secrets={
                "BRIDGE_MQTT_CERT_PEM": ecs.Secret.from_secrets_manager(self.certificate, "certificate_pem"),
                "BRIDGE_MQTT_KEY_PEM": ecs.Secret.from_secrets_manager(self.certificate, "private_key"),
            },
            port_mappings=[
                ecs.PortMapping(container_port=UDP_PORT, protocol=ecs.Protocol.UDP),
                ecs.PortMapping(container_port=HEALTH_PORT, protocol=ecs.Protocol.TCP),
            ],
            health_check=ecs.HealthCheck(
                command=["CMD", "python", "-m", "functions.bridge.healthcheck"],
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(30),
            ),
        )
        self.load_balancer: elbv2.NetworkLoadBalancer | None = None
        self.target_group: elbv2.NetworkTargetGroup | None = None
        task_security_group = ec2.SecurityGroup(
            self, "TaskSecurityGroup", vpc=self.vpc, allow_all_outbound=True, description="Bridge tasks"
        )
        self.task_security_group = task_security_group
        if small:
            # Gateways reach the task's public address directly; the health port stays closed (the
            # container's own health check reads it inside the task).
            task_security_group.add_ingress_rule(
                ec2.Peer.any_ipv4(), ec2.Port.udp(UDP_PORT), "Semtech UDP from gateways"
            )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=task,
            desired_count=self.desired_count,
            min_healthy_percent=100,
            max_healthy_percent=200,
            assign_public_ip=small,
            vpc_subnets=ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PUBLIC if small else ec2.SubnetType.PRIVATE_WITH_EGRESS
            ),
            security_groups=[task_security_group],
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        self.service.node.add_dependency(self.credential)
        if not small:
            self._load_balancer(task_security_group, logs_bucket)

    def _load_balancer(self, task_security_group: ec2.SecurityGroup, logs_bucket: s3.IBucket) -> None:
        """The HA layout's NLB: its own security group is the only source the tasks accept, although UDP
        keeps the gateways' addresses (client IP preservation is always on for UDP targets)."""
        nlb_security_group = ec2.SecurityGroup(
            self, "NlbSecurityGroup", vpc=self.vpc, allow_all_outbound=False, description="Bridge NLB"
        )
        nlb_security_group.add_ingress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.udp(UDP_PORT), "Semtech UDP from gateways"
        )
        task_security_group.add_ingress_rule(
            nlb_security_group, ec2.Port.udp(UDP_PORT), "Gateways via the NLB"
        )
        task_security_group.add_ingress_rule(
            nlb_security_group, ec2.Port.tcp(HEALTH_PORT), "NLB health checks"
        )
        nlb_security_group.add_egress_rule(task_security_group, ec2.Port.udp(UDP_PORT), "To the bridge tasks")
        nlb_security_group.add_egress_rule(task_security_group, ec2.Port.tcp(HEALTH_PORT), "Health checks")
        self.load_balancer = elbv2.NetworkLoadBalancer(
            self,
            "Nlb",
            vpc=self.vpc,
            internet_facing=True,
            cross_zone_enabled=True,
            security_groups=[nlb_security_group],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        )
        self.load_balancer.log_access_logs(logs_bucket, prefix="nlb")
        listener = self.load_balancer.add_listener("Udp", port=UDP_PORT, protocol=elbv2.Protocol.UDP)
        self.target_group = listener.add_targets(
            "Bridge",
            port=UDP_PORT,
            protocol=elbv2.Protocol.UDP,
            targets=[
                self.service.load_balancer_target(
                    container_name="Bridge", container_port=UDP_PORT, protocol=ecs.Protocol.UDP
                )
            ],
            health_check=elbv2.HealthCheck(
                protocol=elbv2.Protocol.HTTP,
                port=str(HEALTH_PORT),
                path="/",
                interval=Duration.seconds(10),
                healthy_threshold_count=2,
                unhealthy_threshold_count=2,
            ),
            deregistration_delay=Duration.seconds(30),
        )


def basic_ingest_environment(rules: dict[str, str]) -> dict[str, str]:
    """`BRIDGE_BASIC_INGEST=event/up=Loraless_GatewayUplink,...`: the bridge publishes those gateway events
    on `$aws/rules/<rule>/<topic>` (functions/bridge/config.py)."""
    if not rules:
        return {}
    return {"BRIDGE_BASIC_INGEST": ",".join(f"{kind}={rule}" for kind, rule in rules.items())}
