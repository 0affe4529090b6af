"""The deploy rehearsal: the template `cdk deploy` makes from the shipped `cdk.json` (fixture `shipped`:
bridge on, cdk-nag on, account and region as the CLI sets them, bundles built), checked for each defect
that once kept a first deploy from working (issue 12)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from tests.infra.conftest import ACCOUNT, REGION, Synthesized


def _of_type(resources: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def _one(resources: dict[str, dict[str, Any]], kind: str) -> tuple[str, dict[str, Any]]:
    (item,) = _of_type(resources, kind).items()
    return item


def test_the_app_cdk_deploy_runs_is_the_one_synthesized_here(shipped: Synthesized) -> None:
    cdk_json = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())
    assert cdk_json["app"].endswith("python app.py")
    assert shipped.context["bridge"] is True
    assert shipped.artifact.environment.account == ACCOUNT and shipped.artifact.environment.region == REGION
    assert len(shipped.template["Resources"]) > 100


def test_the_bridge_credential_is_issued_into_the_fields_the_task_reads(
    shipped_resources: dict[str, Any],
) -> None:
    (credential_id, credential) = _one(shipped_resources, "Custom::BridgeCredential")
    (secret_id,) = [n for n, r in _of_type(shipped_resources, "AWS::SecretsManager::Secret").items()
                    if n.startswith("BridgeMqttCertificate")]  # fmt: skip
    properties = credential["Properties"]
    assert properties["SecretId"] == {"Ref": secret_id}
    policy = shipped_resources[properties["PolicyName"]["Ref"]]
    assert policy["Type"] == "AWS::IoT::Policy"
    (_, task) = _one(shipped_resources, "AWS::ECS::TaskDefinition")
    (container,) = task["Properties"]["ContainerDefinitions"]
    secrets = {s["Name"]: json.dumps(s["ValueFrom"]) for s in container["Secrets"]}
    assert (
        secret_id in secrets["BRIDGE_MQTT_CERT_PEM"]
        and ":certificate_pem::" in secrets["BRIDGE_MQTT_CERT_PEM"]
    )
    assert secret_id in secrets["BRIDGE_MQTT_KEY_PEM"] and ":private_key::" in secrets["BRIDGE_MQTT_KEY_PEM"]
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment["BRIDGE_CERTIFICATE_ID"] == {"Fn::GetAtt": [credential_id, "CertificateId"]}
    (_, service) = _one(shipped_resources, "AWS::ECS::Service")
    assert any(d.startswith("BridgeCredential") for d in service.get("DependsOn", [])), service.get(
        "DependsOn"
    )


def test_the_container_is_arm64_healthchecked_and_its_context_small(shipped: Synthesized) -> None:
    (_, task) = _one(dict(shipped.template["Resources"]), "AWS::ECS::TaskDefinition")
    assert task["Properties"]["RuntimePlatform"] == {
        "CpuArchitecture": "ARM64",
        "OperatingSystemFamily": "LINUX",
    }
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert container["HealthCheck"]["Command"] == ["CMD", "python", "-m", "functions.bridge.healthcheck"]
    manifest = json.loads(next(shipped.outdir.glob("Loraless.assets.json")).read_text())
    (image,) = manifest["dockerImages"].values()
    assert image["source"]["platform"] == "linux/arm64"
    context = shipped.outdir / image["source"]["directory"]
    files = [p for p in context.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    assert size < 5_000_000, f"{size} bytes in the image's build context"
    names = {p.relative_to(context).parts[0] for p in files}
    assert names <= {"pyproject.toml", "uv.lock", "functions", ".dockerignore"}, names
    dockerfile = (context / "functions/bridge/Dockerfile").read_text()
    assert "USER bridge" in dockerfile and "HEALTHCHECK" in dockerfile


def test_the_small_bridge_is_one_task_reached_on_udp_1700_only(shipped_resources: dict[str, Any]) -> None:
    """The shipped layout: one task with a public address in a public subnet, no NAT gateway, no load
    balancer; the internet reaches UDP 1700 and nothing else (the health port stays inside the task)."""
    (_, service) = _one(shipped_resources, "AWS::ECS::Service")
    properties = service["Properties"]
    assert properties["DesiredCount"] == 1
    assert properties["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }
    network = properties["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "ENABLED"
    for subnet in network["Subnets"]:
        table = subnet["Ref"].rsplit("Subnet", 1)[0]
        routes = [r["Properties"] for r in _of_type(shipped_resources, "AWS::EC2::Route").values()
                  if r["Properties"]["RouteTableId"]["Ref"].startswith(table)]  # fmt: skip
        assert routes and all("GatewayId" in r for r in routes), routes  # the internet gateway
    assert not _of_type(shipped_resources, "AWS::EC2::NatGateway")
    assert not _of_type(shipped_resources, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    (task_group,) = network["SecurityGroups"]
    inline = shipped_resources[task_group["Fn::GetAtt"][0]]["Properties"].get("SecurityGroupIngress", [])
    ingress = _of_type(shipped_resources, "AWS::EC2::SecurityGroupIngress").values()
    separate = [r["Properties"] for r in ingress if r["Properties"]["GroupId"] == task_group]
    rules = inline + separate
    assert rules and all(
        (r["IpProtocol"], r["FromPort"], r["ToPort"]) == ("udp", 1700, 1700) for r in rules
    ), rules
    (_, task) = _one(shipped_resources, "AWS::ECS::TaskDefinition")
    assert (task["Properties"]["Cpu"], task["Properties"]["Memory"]) == ("256", "512")
    (_, cluster) = _one(shipped_resources, "AWS::ECS::Cluster")
    assert {"Name": "containerInsights", "Value": "disabled"} in cluster["Properties"]["ClusterSettings"]


def test_the_ha_bridge_stays_up_and_only_the_nlb_reaches_it(ha_resources: dict[str, Any]) -> None:
    shipped_resources = ha_resources  # `bridge_layout: ha`
    (_, service) = _one(shipped_resources, "AWS::ECS::Service")
    properties = service["Properties"]
    configuration = properties["DeploymentConfiguration"]
    assert properties["DesiredCount"] >= 2 and configuration["MinimumHealthyPercent"] == 100
    assert configuration["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    network = properties["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    for subnet in network["Subnets"]:
        subnet_id = subnet["Ref"]
        assert shipped_resources[subnet_id]["Properties"]["MapPublicIpOnLaunch"] is False
        table = subnet_id.rsplit("Subnet", 1)[0]
        routes = [r["Properties"] for r in _of_type(shipped_resources, "AWS::EC2::Route").values()
                  if r["Properties"]["RouteTableId"]["Ref"].startswith(table)]  # fmt: skip
        assert routes and all("NatGatewayId" in r and "GatewayId" not in r for r in routes), routes
    (_, balancer) = _one(shipped_resources, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = {a["Key"]: a["Value"] for a in balancer["Properties"]["LoadBalancerAttributes"]}
    assert attributes["load_balancing.cross_zone.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    (nlb_group,) = balancer["Properties"]["SecurityGroups"]
    (_, target_group) = _one(shipped_resources, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert (
        target_group["Properties"]["Protocol"] == "UDP" and target_group["Properties"]["TargetType"] == "ip"
    )
    assert target_group["Properties"]["HealthCheckProtocol"] == "HTTP"
    (task_group,) = network["SecurityGroups"]
    task_group_id = task_group["Fn::GetAtt"][0]
    inline = shipped_resources[task_group_id]["Properties"].get("SecurityGroupIngress", [])
    assert inline == []
    ingress = [r["Properties"] for r in _of_type(shipped_resources, "AWS::EC2::SecurityGroupIngress").values()
               if r["Properties"]["GroupId"] == task_group]  # fmt: skip
    assert ingress and all(rule["SourceSecurityGroupId"] == nlb_group for rule in ingress), ingress
    assert not any("CidrIp" in rule for rule in ingress)


def test_alarms_reach_a_person_through_a_key_cloudwatch_may_use(shipped_resources: dict[str, Any]) -> None:
    (key_id, key) = _one(shipped_resources, "AWS::KMS::Key")
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [
        s for s in statements if s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"
    ]
    assert cloudwatch and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cloudwatch[0]["Action"])
    (topic_id, topic) = _one(shipped_resources, "AWS::SNS::Topic")
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    alarms = [a["Properties"] for a in _of_type(shipped_resources, "AWS::CloudWatch::Alarm").values()]
    assert all(a["AlarmActions"] == [{"Ref": topic_id}] for a in alarms)
    metrics = {a.get("MetricName") for a in alarms}
    assert {
        "CPUUtilization",
        "5XXError",
        "ApproximateNumberOfMessagesVisible",
        "Errors",
        "Throttles",
    } <= metrics
    (running,) = [
        a for a in alarms if a.get("MetricName") == "CPUUtilization"
    ]  # the small layout's task count
    assert running["Statistic"] == "SampleCount" and running["TreatMissingData"] == "breaching"
    assert running["ComparisonOperator"] == "LessThanThreshold" and running["Threshold"] == 1


def test_the_ha_layout_alarms_on_container_insights_and_the_nlb(ha_resources: dict[str, Any]) -> None:
    metrics = {
        a["Properties"].get("MetricName") for a in _of_type(ha_resources, "AWS::CloudWatch::Alarm").values()
    }
    assert {"RunningTaskCount", "UnHealthyHostCount"} <= metrics


def test_an_alarm_email_subscribes_its_address() -> None:
    """Beside the shipped context (no address): the same app with `alarm_email` set."""
    from infra.app import build_app

    context = {"aws:cdk:bundling-stacks": [], "bridge": "false", "alarm_email": "ops@example.com"}
    app, stack = build_app(context, nag=False)
    template = app.synth().get_stack_by_name(stack.stack_name).template
    (_, subscription) = _one(template["Resources"], "AWS::SNS::Subscription")
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "ops@example.com"


def _assets(shipped: Synthesized) -> dict[str, Path]:
    """Lambda code assets by the handler that runs from them (the layer under "layer"), found through
    the S3 key each resource names and the asset manifest CDK writes beside the template."""
    manifest = json.loads((shipped.outdir / "Loraless.assets.json").read_text())
    by_key = {
        destination["objectKey"]: shipped.outdir / asset["source"]["path"]
        for asset in manifest["files"].values()
        for destination in asset["destinations"].values()
    }
    resources = shipped.template["Resources"]
    found: dict[str, Path] = {}
    for resource in resources.values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Function" and "S3Key" in properties.get("Code", {}):
            found[properties["Handler"]] = by_key[properties["Code"]["S3Key"]]
            if properties["Handler"].startswith("functions."):
                (layer,) = properties["Layers"]
                found["layer"] = by_key[resources[layer["Ref"]]["Properties"]["Content"]["S3Key"]]
    return found


def _elf_machine(path: Path) -> int:
    with path.open("rb") as handle:
        header = handle.read(20)
    return struct.unpack("<H", header[18:20])[0]


def test_lambda_bundles_are_arm64_and_carry_bytecode(shipped: Synthesized) -> None:
    assets = _assets(shipped)
    layer = assets["layer"] / "python"
    shared = [p for h, p in assets.items() if h.startswith("functions.")]
    assert len(set(shared)) == 1  # one code asset, many handlers
    libraries = list(layer.rglob("*.so")) + list(layer.rglob("*.so.*"))
    assert libraries and {_elf_machine(p) for p in libraries} == {183}  # EM_AARCH64
    for root in (layer, shared[0] / "functions"):
        sources = list(root.rglob("*.py"))
        compiled = list(root.rglob("__pycache__/*.cpython-313.pyc"))
        assert len(compiled) >= 0.95 * len(sources), (root, len(compiled), len(sources))
        flags = {struct.unpack("<I", p.read_bytes()[4:8])[0] for p in compiled[:200]}
        assert flags == {0b01}, flags  # PEP 552: hash-based, unchecked (zip times never match)


def test_without_a_region_the_shipped_app_says_what_to_set(monkeypatch: Any) -> None:
    """`cdk synth` with no region anywhere (no AWS_REGION, no profile region): a message, not an NLB error."""
    import pytest

    from infra.app import build_app, shipped_context

    monkeypatch.delenv("CDK_DEFAULT_REGION", raising=False)
    with pytest.raises(ValueError, match="AWS_REGION"):
        build_app({**shipped_context(), "aws:cdk:bundling-stacks": []}, nag=False)
