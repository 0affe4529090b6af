"""Basics Station on the bridge's Fargate service: TLS listeners for the LNS and CUPS on the bridge's
Network Load Balancer, terminated there with a certificate from ACM (`station_certificate_arn`, for the
domain gateways use, `station_domain`), forwarded as TCP to the bridge's ports. The bridge reads and
writes the station credentials table (and nothing else of the stack's tables) and may decrypt the
sealed tokens CUPS hands out. Kept apart from infra/bridge.py, which it only extends.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from constructs import Construct

from functions.shared.station_credentials import StationCredentials
from functions.shared.tables import table_env
from infra.bridge import HEALTH_PORT, Bridge

LNS_PORT, CUPS_PORT = 3001, 3002  # in the container
LNS_LISTENER, CUPS_LISTENER = 8887, 443  # on the load balancer, as The Things Stack's
AMAZON_ROOT_CA_FILE = "/etc/ssl/certs/Amazon_Root_CA_1.pem"
OPEN_FILES = 65536  # one descriptor per gateway session; the default 1,024 would cap a task near 1,000


class StationListeners(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, bridge: Bridge, table: dynamodb.ITable, key: kms.IKey,
        certificate_arn: str, domain: str,
    ) -> None:  # fmt: skip
        super().__init__(scope, construct_id)
        load_balancer = bridge.load_balancer
        if load_balancer is None:
            raise ValueError("Basics Station needs the bridge's load balancer (bridge_layout: ha)")
        host = domain or load_balancer.load_balancer_dns_name
        self.lns_uri = f"wss://{host}:{LNS_LISTENER}"
        self.cups_uri = f"https://{host}:{CUPS_LISTENER}"
        task = bridge.service.task_definition
        container = task.find_container("Bridge")
        assert container is not None
        container.add_port_mappings(
            ecs.PortMapping(container_port=LNS_PORT, protocol=ecs.Protocol.TCP),
            ecs.PortMapping(container_port=CUPS_PORT, protocol=ecs.Protocol.TCP),
        )
        container.add_ulimits(
            ecs.Ulimit(name=ecs.UlimitName.NOFILE, soft_limit=OPEN_FILES, hard_limit=OPEN_FILES)
        )
        environment = {
            "BRIDGE_STATION_PORT": str(LNS_PORT),
            "BRIDGE_CUPS_PORT": str(CUPS_PORT),
            "BRIDGE_STATION_PUBLIC_URI": self.lns_uri,
            "BRIDGE_CUPS_PUBLIC_URI": self.cups_uri,
            # ACM's public certificates chain to Amazon Root CA 1: what CUPS tells gateways to trust (the
            # container installs Debian's ca-certificates, see functions/bridge/Dockerfile).
            "BRIDGE_STATION_TRUST": AMAZON_ROOT_CA_FILE,
            table_env(StationCredentials): table.table_name,
            "KMS_KEY_ID": key.key_arn,
        }
        for name, value in environment.items():
            container.add_environment(name, value)
        table.grant_read_write_data(task.task_role)
        key.grant(task.task_role, "kms:Decrypt")
        # As for UDP (infra/bridge.py): the internet reaches the NLB's security group on the listener
        # ports, and the tasks accept the container ports from the NLB's group only.
        (nlb_group,) = load_balancer.connections.security_groups
        (task_group,) = bridge.service.connections.security_groups
        for listener_port, container_port, what in (
            (LNS_LISTENER, LNS_PORT, "LNS"),
            (CUPS_LISTENER, CUPS_PORT, "CUPS"),
        ):
            nlb_group.add_ingress_rule(
                ec2.Peer.any_ipv4(), ec2.Port.tcp(listener_port), f"Basics Station {what}"
            )
            task_group.add_ingress_rule(
                nlb_group, ec2.Port.tcp(container_port), f"Basics Station {what} via the NLB"
            )
            nlb_group.add_egress_rule(
                task_group, ec2.Port.tcp(container_port), f"Basics Station {what} to the tasks"
            )
        certificate = elbv2.ListenerCertificate.from_arn(certificate_arn)
        for listener_port, container_port, name in (
            (LNS_LISTENER, LNS_PORT, "Lns"),
            (CUPS_LISTENER, CUPS_PORT, "Cups"),
        ):
            listener = load_balancer.add_listener(
                name, port=listener_port, protocol=elbv2.Protocol.TLS, certificates=[certificate],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            )  # fmt: skip
            target = bridge.service.load_balancer_target(
                container_name="Bridge", container_port=container_port
            )
            listener.add_targets(
                name,
                port=container_port,
                protocol=elbv2.Protocol.TCP,
                targets=[target],
                health_check=elbv2.HealthCheck(
                    protocol=elbv2.Protocol.HTTP,
                    port=str(HEALTH_PORT),
                    path="/",
                    interval=Duration.seconds(10),
                ),
                deregistration_delay=Duration.seconds(30),
            )
