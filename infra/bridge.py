"""The gateway bridge as an ECS Fargate service behind a Network Load Balancer on UDP 1700.

Gateways point their packet forwarder at the load balancer; the bridge speaks MQTT to IoT Core with
its own certificate (kept in Secrets Manager, filled in after deploy, see the README). Its IoT policy
lets it use gateway topics only, never application topics.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_iot as iot
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

ROOT = Path(__file__).resolve().parent.parent
UDP_PORT = 1700
HEALTH_PORT = 8080
BRIDGE_CLIENT_PREFIX = "loraless-bridge"


class BridgePolicy(Construct):
    """The bridge publishes for the gateways that reach it over UDP, and only on gateway topics."""

    def __init__(self, scope: Construct, construct_id: str, *, region_prefixes: list[str]) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        arn = f"arn:{stack.partition}:iot:{stack.region}:{stack.account}"
        gateways = [f"{prefix}/gateway/*" for prefix in region_prefixes]
        document = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    actions=["iot:Connect"], resources=[f"{arn}:client/{BRIDGE_CLIENT_PREFIX}-*"]
                ),
                iam.PolicyStatement(
                    actions=["iot:Publish"],
                    resources=[f"{arn}:topic/{g}/event/*" for g in gateways]
                    + [f"{arn}:topic/{g}/state/*" for g in gateways]
                    + [f"{arn}:topic/{p}/bridge/${{iot:ClientId}}/state/*" for p in region_prefixes],
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


class Bridge(Construct):
    """One task by default: a gateway's PULL_DATA address lives in the process that received it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        iot_endpoint: str,
        region_prefix: str,
        logs_bucket: s3.IBucket,
        desired_count: int = 1,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
            flow_logs={"all": ec2.FlowLogOptions(traffic_type=ec2.FlowLogTrafficType.REJECT)},
        )
        cluster = ecs.Cluster(
            self, "Cluster", vpc=self.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        self.certificate = secretsmanager.Secret(
            self,
            "MqttCertificate",
            description="Bridge MQTT client certificate and key (JSON: certificate_pem, private_key)",
        )
        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=512,
            memory_limit_mib=1024,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        task.add_container(
            "Bridge",
            image=ecs.ContainerImage.from_asset(str(ROOT), file="functions/bridge/Dockerfile"),
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="bridge",
                log_group=logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_MONTH),
            ),
            environment={
                "BRIDGE_UDP_PORT": str(UDP_PORT),
                "BRIDGE_HEALTH_PORT": str(HEALTH_PORT),
                "BRIDGE_MQTT_ENDPOINT": iot_endpoint,
                "BRIDGE_MQTT_PORT": "8883",
                "BRIDGE_TOPIC_PREFIX": region_prefix,
                "BRIDGE_CLIENT_ID_PREFIX": BRIDGE_CLIENT_PREFIX,
            },
            secrets={
                "BRIDGE_MQTT_CERT_PEM": ecs.Secret.from_secrets_manager(self.certificate, "certificate_pem"),
                "BRIDGE_MQTT_KEY_PEM": ecs.Secret.from_secrets_manager(self.certificate, "private_key"),
            },
            port_mappings=[
                ecs.PortMapping(container_port=UDP_PORT, protocol=ecs.Protocol.UDP),
                ecs.PortMapping(container_port=HEALTH_PORT, protocol=ecs.Protocol.TCP),
            ],
        )
        security_group = ec2.SecurityGroup(self, "TaskSecurityGroup", vpc=self.vpc, allow_all_outbound=True)
        security_group.add_ingress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.udp(UDP_PORT), "Semtech UDP from gateways"
        )
        security_group.add_ingress_rule(
            ec2.Peer.ipv4(self.vpc.vpc_cidr_block), ec2.Port.tcp(HEALTH_PORT), "NLB health checks"
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=task,
            desired_count=desired_count,
            assign_public_ip=True,
            security_groups=[security_group],
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        self.load_balancer = elbv2.NetworkLoadBalancer(self, "Nlb", vpc=self.vpc, internet_facing=True)
        self.load_balancer.log_access_logs(logs_bucket, prefix="nlb")
        listener = self.load_balancer.add_listener("Udp", port=UDP_PORT, protocol=elbv2.Protocol.UDP)
        listener.add_targets(
            "Bridge",
            port=UDP_PORT,
            protocol=elbv2.Protocol.UDP,
            targets=[
                self.service.load_balancer_target(
                    container_name="Bridge", container_port=UDP_PORT, protocol=ecs.Protocol.UDP
                )
            ],
            health_check=elbv2.HealthCheck(
                protocol=elbv2.Protocol.TCP, port=str(HEALTH_PORT), interval=Duration.seconds(10)
            ),
        )
