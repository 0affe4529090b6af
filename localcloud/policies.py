"""The local broker's publish/receive rules, read from the synthesized template's IoT policies, so the
local cloud enforces what IoT Core enforces (the policy plugin, mosquitto_policy.c, applies them).

One rule per line: `<kind> <read|write|readwrite> <MQTT topic filter>`. A kind is the policy a thing's
certificate holds: `gateway` (GatewayPolicy), `application` (ApplicationPolicy), `bridge`
(BridgePolicy), and `cloud`, the local stand-in for IoT Core's own rules engine and data plane (every
topic). Policy variables become the plugin's: `${iot:Connection.Thing.ThingName}` -> `%u`,
`${iot:ClientId}` -> `%c`. IoT's `*` (any characters, `/` included) becomes `#` at the end of a topic
and `+` for a whole level elsewhere; anything else is refused rather than approximated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

KINDS = {"GatewayPolicy": "gateway", "ApplicationPolicy": "application", "BridgePolicy": "bridge"}
# `#` does not match topics that start with `$` (MQTT 3.1.1 §4.7.2): Basic Ingest's are named apart.
CLOUD_RULES = ("cloud readwrite #", "cloud readwrite $aws/rules/#")
# The shipped stack's Basic Ingest rules (infra/iot.py INGESTED, named `<stack>_<rule>`), for a broker
# started without a template.
DEFAULT_BASIC_INGEST = {
    "event/up": "Loraless_GatewayUplink",
    "event/ack": "Loraless_GatewayTxAck",
    "event/stats": "Loraless_GatewayStats",
}
_ACCESS = {"iot:Publish": "write", "iot:Receive": "read"}
_VARIABLES = {"${iot:Connection.Thing.ThingName}": "%u", "${iot:ClientId}": "%c"}


class PolicyError(ValueError):
    """A policy resource the local broker cannot express exactly."""


def _text(value: Any) -> str:
    """A resource ARN as text; the intrinsic parts (partition, region, account) become `?`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_text(part) for part in parts)
    return "?"


def topic_filter(resource: str) -> str:
    """`arn:...:topic/eu868/gateway/${...ThingName}/event/*` -> `eu868/gateway/%u/event/#`."""
    _, found, topic = resource.partition(":topic/")
    if not found:
        raise PolicyError(f"not a topic resource: {resource}")
    for variable, placeholder in _VARIABLES.items():
        topic = topic.replace(variable, placeholder)
    levels = topic.split("/")
    for index, level in enumerate(levels):
        if "*" not in level:
            continue
        if level != "*":
            raise PolicyError(f"a wildcard inside a topic level cannot be mirrored: {resource}")
        levels[index] = "#" if index == len(levels) - 1 else "+"
    return "/".join(levels)


def rules_from_template(template: Mapping[str, Any]) -> list[str]:
    """The rules of every IoT policy of the template, plus the cloud's own."""
    rules = list(CLOUD_RULES)
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IoT::Policy":
            continue
        kind = next((k for prefix, k in KINDS.items() if logical_id.startswith(prefix)), None)
        if kind is None:
            raise PolicyError(f"{logical_id}: no local kind for this policy")
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            for action in actions:
                if action not in _ACCESS:
                    continue  # Connect is checked by the plugin; Subscribe is filtered on delivery
                rules += [f"{kind} {_ACCESS[action]} {topic_filter(_text(r))}" for r in resources]
    return rules


def default_rules(
    region_prefixes: Iterable[str] = ("eu868",), basic_ingest: Mapping[str, str] = DEFAULT_BASIC_INGEST
) -> list[str]:
    """What rules_from_template gives for the stack's policies with these region prefixes, for a broker
    started without a template (tests/infra/test_stack_iot.py keeps the two equal)."""
    region_prefixes = list(region_prefixes)
    rules = list(CLOUD_RULES)
    for prefix in region_prefixes:
        own = f"{prefix}/gateway/%u"
        rules += [f"gateway write {own}/event/#", f"gateway write {own}/state/#"]
        rules += [f"gateway write $aws/rules/{rule}/{own}/{kind}" for kind, rule in basic_ingest.items()]
        rules += [
            f"bridge write $aws/rules/{rule}/{prefix}/gateway/+/{kind}" for kind, rule in basic_ingest.items()
        ]
    rules += [f"gateway read {prefix}/gateway/%u/command/#" for prefix in region_prefixes]
    rules += [
        "application read application/%u/#",
        "application write application/%u/device/+/command/down",
    ]
    rules += [f"bridge write {p}/gateway/+/event/#" for p in region_prefixes]
    rules += [f"bridge write {p}/gateway/+/state/#" for p in region_prefixes]
    rules += [f"bridge write {p}/bridge/%c/state/#" for p in region_prefixes]
    rules += [f"bridge read {p}/gateway/+/command/#" for p in region_prefixes]
    return rules
