"""cdk-nag AwsSolutions findings we accept, each one named exactly and with the reason a reviewer needs.

cdk-nag 3 acknowledges findings one by one (`RuleId[FindingId]`), so a new wildcard anywhere in the
stack fails synthesis until someone looks at it and adds it here with a reason.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Acknowledgment, CfnResource, Stack, Token, Validations
from aws_cdk import aws_lambda as lambda_

PACK = "AwsSolutions::"

STACK_WIDE = {
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSLambdaBasicExecutionRole]": "The managed basic-execution policy only lets a function write logs.",
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AmazonAPIGatewayPushToCloudWatchLogs]": "API Gateway's account-level logging role, as AWS documents it.",
    "AwsSolutions-IAM5[Resource::*]": (
        "X-Ray PutTraceSegments/PutTelemetryRecords, iot:DescribeEndpoint and iot:CreateCertificateFromCsr "
        "have no resource-level form."
    ),
    "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": (
        "Sending to the KMS-encrypted dead-letter queue needs GenerateDataKey* on the stack's own key only."
    ),
    "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": (
        "CDK's grant for a KMS-encrypted queue adds ReEncrypt* on the stack's own key only."
    ),
    "AwsSolutions-L1": "Functions pin python3.13, the runtime the whole test suite runs on; a newer one "
    "is a deliberate change made with the tests, not a silent one.",
    "AwsSolutions-APIG4": "Authorization is done in the API function (JWT or hashed API key, checked against "
    "the organization of every object) so that the local cloud and AWS enforce the same rules.",
    "AwsSolutions-COG4": "Users and API keys live in Loraless itself, as in ChirpStack, not in Cognito.",
    "AwsSolutions-APIG3": "WAF is an optional paid add-on; stage throttling bounds abuse by default.",
    "AwsSolutions-SMG4": "No rotation function: the bridge certificate is issued by IoT Core and rotated by "
    "issuing a new one; rotating the session-signing key would log every user out, so it is rotated by "
    "hand (a new secret value) when needed.",
    "AwsSolutions-CFR1": "No geo restriction: operators and their users are worldwide.",
    "AwsSolutions-CFR2": "WAF is optional for a static single-page app that holds no data of its own.",
    "AwsSolutions-CFR4": "The default *.cloudfront.net certificate cannot pin TLSv1.2; with a custom domain, "
    "set minimum_protocol_version (the README's deploy section shows how).",
}

# CDK's BucketDeployment (the web interface's files into its bucket): its handler's role, made by CDK.
WEB_DEPLOYMENT_WHY = (
    "CDK's BucketDeployment copies the web build from the CDK assets bucket into the web bucket; its role's "
    "wildcards are CDK's, scoped to those two buckets."
)
WEB_DEPLOYMENT_FINDINGS = (
    "Action::s3:GetObject*",
    "Action::s3:GetBucket*",
    "Action::s3:List*",
    "Action::s3:DeleteObject*",
    "Action::s3:Abort*",
    "Resource::<WebBucketE51352C0.Arn>/*",
)

# Only when the bridge (Fargate + NLB) is part of the stack.
BRIDGE = {
    "AwsSolutions-ECS2": "Environment variables hold endpoints and ports only; the MQTT certificate and key "
    "reach the container as ECS secrets from Secrets Manager.",
    "AwsSolutions-EC23": "UDP 1700 must be reachable by gateways on the internet: at the NLB's security "
    "group (ha layout, the tasks accept traffic from that group only) or at the task's (small layout, "
    "UDP 1700 only).",
}
# Only with the small bridge layout (infra/bridge.py).
SMALL_BRIDGE = {
    "AwsSolutions-ECS4": "Container Insights costs ~$7.50/month, half the small layout's budget; the "
    "alarm on running tasks reads the service's free AWS/ECS metrics instead.",
}


def _nag_text(value: str, pseudo: str) -> str:
    """cdk-nag names a resource by its resolved text: a pseudo parameter it cannot resolve appears as
    `<AWS::Region>`; a stack with an environment (as `cdk deploy` makes it) has the literal value."""
    return f"<AWS::{pseudo}>" if Token.is_unresolved(value) else value


def _location(stack: Stack) -> tuple[str, str, str]:
    return (
        _nag_text(stack.partition, "Partition"),
        _nag_text(stack.region, "Region"),
        _nag_text(stack.account, "AccountId"),
    )


def iot_arn(stack: Stack) -> str:
    partition, region, account = _location(stack)
    return f"arn:{partition}:iot:{region}:{account}"


def located(stack: Stack) -> dict[str, str]:
    """Findings whose resource names carry the stack's partition, region and account."""
    partition, region, account = _location(stack)
    iot = iot_arn(stack)
    assets = f"arn:{partition}:s3:::cdk-hnb659fds-assets-{account}-{region}/*"
    rules = {f"AwsSolutions-IAM5[{finding}]": WEB_DEPLOYMENT_WHY for finding in WEB_DEPLOYMENT_FINDINGS}
    rules[f"AwsSolutions-IAM5[Resource::{assets}]"] = WEB_DEPLOYMENT_WHY
    rules[f"AwsSolutions-IAM5[Resource::{iot}:thing/*]"] = (
        "The API makes one thing per application (named by its id) for the application's MQTT certificate."
    )
    rules[f"AwsSolutions-IAM5[Resource::{iot}:topic/application/*]"] = (
        "The application server publishes per-application, per-device event topics under application/."
    )
    rules[f"AwsSolutions-IAM5[Resource::{iot}:cert/*]"] = (
        "A certificate is created in the same call (the API's CreateCertificateFromCsr, the bridge "
        "credential's CreateKeysAndCertificate), so its id cannot be named; AttachPolicy is also bound to "
        "the one policy, and a certificate whose attachment fails is deleted."
    )
    return rules


def suppress(
    stack: Stack,
    *,
    invoked: Iterable[lambda_.Function],
    region_prefixes: Iterable[str],
    bridge: bool,
    bridge_layout: str = "ha",
    indexed_tables: Iterable[CfnResource] = (),
) -> None:
    """Acknowledge the findings we accept on `stack`, with their reasons."""
    rules = dict(STACK_WIDE) | located(stack) | (BRIDGE if bridge else {})
    if bridge and bridge_layout == "small":
        rules |= SMALL_BRIDGE
    iot = iot_arn(stack)
    for prefix in region_prefixes:
        rules[f"AwsSolutions-IAM5[Resource::{iot}:topic/{prefix}/gateway/*/command/*]"] = (
            "The network server sends downlinks to whichever gateway heard the device (one region prefix)."
        )
        rules[f"AwsSolutions-IAM5[Resource::{iot}:topic/{prefix}/gateway/*/state/*]"] = (
            "When a bridge's last will arrives, the network server marks that bridge's gateways offline."
        )
    for function in invoked:
        resource = function.node.default_child
        assert isinstance(resource, CfnResource)
        logical_id = stack.resolve(stack.get_logical_id(resource))
        rules[f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]"] = (
            "Invoke permission on one function including its versions and aliases (CDK's grant_invoke)."
        )
    for table in indexed_tables:
        logical_id = stack.resolve(stack.get_logical_id(table))
        rules[f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/index/*]"] = (
            "Queries on this table's own secondary indexes (each function's one table statement)."
        )
    Validations.of(stack).acknowledge(
        *[Acknowledgment(id=PACK + rule, reason=why) for rule, why in rules.items()]
    )
