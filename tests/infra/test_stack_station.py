"""Basics Station on AWS: with an ACM certificate in the context, the bridge's load balancer gets TLS
listeners for the LNS (8887) and CUPS (443) forwarding TCP to the bridge's ports, the task may read and
write the station credentials table only and decrypt sealed tokens, its file limit admits thousands of
sessions, and the API hands out the URIs; without one, nothing of it is made."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.conftest import NO_BUNDLING

ENV = {"account": "111122223333", "region": "eu-west-1"}
CERTIFICATE = "arn:aws:acm:eu-west-1:111122223333:certificate/0b7c1f1e-7a0e-4a57-9d5f-4f4c1f2a5e11"


@pytest.fixture(scope="module")
def station_template() -> dict[str, Any]:
    import aws_cdk as cdk

    from infra.app import build_app

    context = {
        **NO_BUNDLING, "bridge_layout": "ha", "station_certificate_arn": CERTIFICATE,
        "station_domain": "lns.example.com",
    }  # fmt: skip
    app, stack = build_app(context, nag=False, env=cdk.Environment(**ENV))
    return dict(app.synth().get_stack_by_name(stack.stack_name).template)


def _of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_tls_listeners_forward_to_the_bridge_ports(station_template: dict[str, Any]) -> None:
    listeners = _of_type(station_template, "AWS::ElasticLoadBalancingV2::Listener").values()
    tls = {
        item["Properties"]["Port"]: item["Properties"]
        for item in listeners
        if item["Properties"]["Protocol"] == "TLS"
    }
    assert set(tls) == {8887, 443}
    for listener in tls.values():
        assert listener["Certificates"] == [{"CertificateArn": CERTIFICATE}]
        assert listener["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    targets = _of_type(station_template, "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    groups = {item["Properties"]["Port"] for item in targets if item["Properties"]["Protocol"] == "TCP"}
    assert groups == {3001, 3002}
    rules = [r["Properties"] for r in _of_type(station_template, "AWS::EC2::SecurityGroupIngress").values()]
    rules += [r for g in _of_type(station_template, "AWS::EC2::SecurityGroup").values()
              for r in g["Properties"].get("SecurityGroupIngress", [])]  # fmt: skip
    from_internet = {r["FromPort"] for r in rules if r.get("CidrIp") == "0.0.0.0/0"}
    assert {8887, 443} <= from_internet  # on the NLB's group
    to_tasks = {r["FromPort"] for r in rules if "SourceSecurityGroupId" in r}
    assert {3001, 3002} <= to_tasks and not {3001, 3002} & from_internet  # tasks: from the NLB only


def test_the_task_gets_the_station_table_ports_and_file_limit(station_template: dict[str, Any]) -> None:
    (task,) = _of_type(station_template, "AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment["BRIDGE_STATION_PORT"] == "3001" and environment["BRIDGE_CUPS_PORT"] == "3002"
    assert environment["BRIDGE_STATION_PUBLIC_URI"] == "wss://lns.example.com:8887"
    assert environment["BRIDGE_CUPS_PUBLIC_URI"] == "https://lns.example.com:443"
    assert "STATION_CREDENTIALS_TABLE" in environment and "DEVICES_TABLE" not in environment
    assert {p["ContainerPort"] for p in container["PortMappings"]} >= {1700, 3001, 3002}
    assert container["Ulimits"] == [{"Name": "nofile", "SoftLimit": 65536, "HardLimit": 65536}]
    role = task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    policies = [p for p in _of_type(station_template, "AWS::IAM::Policy").values()
                if {"Ref": role} in p["Properties"]["Roles"]]  # fmt: skip
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    tables = [s["Resource"] for s in statements if any(str(a).startswith("dynamodb:") for a in s["Action"])]
    assert tables and all("StationCredentials" in str(r) for r in tables)  # that table only
    assert any("kms:Decrypt" in s["Action"] for s in statements)
    api = next(f for name, f in _of_type(station_template, "AWS::Lambda::Function").items() if "Api" in name)
    variables = api["Properties"]["Environment"]["Variables"]
    assert variables["STATION_LNS_URI"] == "wss://lns.example.com:8887"


def test_without_a_certificate_there_are_no_station_listeners() -> None:
    import aws_cdk as cdk

    from infra.app import build_app

    app, stack = build_app({**NO_BUNDLING, "bridge_layout": "ha"}, nag=False, env=cdk.Environment(**ENV))
    template = app.synth().get_stack_by_name(stack.stack_name).template
    listeners = _of_type(template, "AWS::ElasticLoadBalancingV2::Listener").values()
    assert {item["Properties"]["Protocol"] for item in listeners} == {"UDP"}


def test_the_small_layout_refuses_basics_station_rather_than_deploy_it_half() -> None:
    """Its TLS listeners need the HA layout's load balancer: the small layout says so at synth."""
    import aws_cdk as cdk

    from infra.app import build_app

    context = {**NO_BUNDLING, "bridge_layout": "small", "station_certificate_arn": CERTIFICATE}
    with pytest.raises(ValueError, match="bridge_layout=ha"):
        build_app(context, nag=False, env=cdk.Environment(**ENV))
