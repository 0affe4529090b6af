"""API Gateway, web hosting, encryption, alarms, and the cdk-nag / cfn-lint verdicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def _of_type(resources: dict[str, dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in resources.values() if r["Type"] == kind]


def test_api_stage_is_throttled_traced_and_access_logged(resources: Any) -> None:
    (stage,) = _of_type(resources, "AWS::ApiGateway::Stage")
    assert stage["StageName"] == "v1"
    assert stage["TracingEnabled"] is True
    assert "DestinationArn" in stage["AccessLogSetting"]
    (settings,) = stage["MethodSettings"]
    assert (
        settings["ThrottlingRateLimit"] > 0
        and settings["ThrottlingBurstLimit"] >= settings["ThrottlingRateLimit"]
    )


def test_web_bucket_is_private_and_only_cloudfront_reads_it(resources: Any) -> None:
    buckets = _of_type(resources, "AWS::S3::Bucket")
    assert buckets and all(
        b["PublicAccessBlockConfiguration"]
        == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        for b in buckets
    )
    (distribution,) = _of_type(resources, "AWS::CloudFront::Distribution")
    config = distribution["DistributionConfig"]
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert _of_type(resources, "AWS::CloudFront::OriginAccessControl")


def test_queue_and_alarm_topic_are_encrypted_with_the_stack_key(resources: Any) -> None:
    (key,) = _of_type(resources, "AWS::KMS::Key")
    assert key["EnableKeyRotation"] is True
    queues = _of_type(resources, "AWS::SQS::Queue")
    assert queues and all("KmsMasterKeyId" in q for q in queues)
    assert all("KmsMasterKeyId" in t for t in _of_type(resources, "AWS::SNS::Topic"))


def test_every_function_has_error_and_throttle_alarms(resources: Any) -> None:
    functions = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function" and "functions." in str(r["Properties"])
    ]
    alarms = _of_type(resources, "AWS::CloudWatch::Alarm")
    names = [a["MetricName"] for a in alarms if "MetricName" in a]
    assert names.count("Errors") == len(functions)
    assert names.count("Throttles") == len(functions)
    assert "ApproximateNumberOfMessagesVisible" in names


def test_outputs_tell_the_user_where_things_are(synthesized: Any) -> None:
    outputs = synthesized.template["Outputs"].keys()
    assert {"IotEndpointAddress", "ApiUrl", "WebUrl", "GatewayPolicyName", "UsersTable", "UniqueTable",
            "AlarmTopicArn"} <= outputs  # fmt: skip
    bridge = {"BridgeCertificateSecret", "BridgeCluster", "BridgeService"}
    assert bridge <= outputs if synthesized.name == "shipped" else not bridge & outputs
    # the small layout's address is the task's own: a command finds it (the HA layout's NLB has a name)
    assert ("UdpAddressLookup" in outputs) == (synthesized.name == "shipped")
    assert "UdpAddress" not in outputs


def test_the_ha_layout_outputs_the_load_balancers_name(ha: Any) -> None:
    assert {"UdpAddress", "BridgeCluster"} <= ha.template["Outputs"].keys()
    assert "UdpAddressLookup" not in ha.template["Outputs"]


def test_cdk_nag_aws_solutions_passes(synthesized: Any) -> None:
    """build_app adds the AwsSolutions pack; the session's synthesis raised on any unacknowledged finding,
    and the validation report CDK wrote beside the template says the same."""
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    (plugin,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert plugin["conclusion"] == "success" and plugin["violations"] == []
    assert plugin["suppressedViolations"]  # each with its reason in infra/suppressions.py


def test_cfn_lint_finds_no_errors(synthesized: Any, tmp_path: Path) -> None:
    """cfn-lint exits non-zero on warnings CDK itself generates (W3005), so judge the errors only."""
    from cfnlint.api import ManualArgs, lint

    path = tmp_path / "template.json"
    path.write_text(json.dumps(synthesized.template))
    # The regions where IoT Core, Fargate and CloudFront all exist (cn-*/gov lack some of them).
    config = ManualArgs(regions=["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"])
    errors = [m for m in lint(path.read_text(), config=config) if m.rule.id.startswith("E")]
    assert errors == [], [str(m) for m in errors]


@pytest.mark.parametrize("kind", ["AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table"])
def test_tables_when_present_are_on_demand_recoverable_and_encrypted(resources: Any, kind: str) -> None:
    for table in _of_type(resources, kind):
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        replica = table.get("Replicas", [table])[0]
        assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert table["SSESpecification"]["SSEEnabled"] is True


def test_every_model_has_its_table_with_keys_indexes_and_ttl(resources: Any) -> None:
    from functions.appserver.models import APPLICATION_TABLES
    from functions.network.models import NETWORK_TABLES
    from functions.shared.tables import table_env

    assert len(_of_type(resources, "AWS::DynamoDB::Table")) == len((*NETWORK_TABLES, *APPLICATION_TABLES))
    functions = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function" and "functions." in str(r)
    ]
    for function in functions:
        variables = function["Environment"]["Variables"]
        for model in (*NETWORK_TABLES, *APPLICATION_TABLES):
            table = resources[variables[table_env(model)]["Ref"]]["Properties"]
            schema = model._get_schema()
            expected = [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]}
                        for k in sorted(schema["key_schema"], key=lambda k: k["KeyType"])]  # fmt: skip
            assert table["KeySchema"] == expected  # HASH first, as DynamoDB requires
            indexes = [i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])]
            assert indexes == [i["index_name"] for i in schema["global_secondary_indexes"]]
            ttl = model._ttl_attribute()
            assert table.get("TimeToLiveSpecification", {}).get("AttributeName") == (
                ttl.attr_name if ttl else None
            )
