"""What each function may touch, declared in one place: its tables, whether it seals or opens keys with
the stack's KMS key, and the IoT topics it publishes on. The stack turns each entry into one policy per
function; `tests/infra` checks every entry against the code the function imports, so a handler that
starts using another table fails a test until its line here says so.

Tables are named by their PynamoDB model (the table's construct id in `Storage`). Topic patterns take
`{prefix}` for each configured region prefix (ChirpStack topic layout).
"""

from __future__ import annotations

from dataclasses import dataclass

# Data-plane actions on a function's own tables (PynamoDB: get, batch_get, query, scan, save, update,
# delete; DescribeTable for its table metadata). No BatchWriteItem or transactions: no code uses them.
TABLE_ACTIONS = (
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan",
    "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable",
)  # fmt: skip
# Envelope encryption (functions/shared/envelope.py) calls GenerateDataKey to seal and Decrypt to open.
ENVELOPE_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")

GATEWAY_COMMANDS = "{prefix}/gateway/*/command/*"
GATEWAY_STATE = "{prefix}/gateway/*/state/*"
APPLICATION_TOPICS = "application/*"


@dataclass(frozen=True)
class Access:
    """One function's grants: `tables` read and written, `envelope` keys, `publish` topic patterns."""

    tables: tuple[str, ...]
    envelope: bool = False
    publish: tuple[str, ...] = ()


FUNCTION_ACCESS: dict[str, Access] = {
    # network server
    # What a network function needs of the application server's tables it reaches through the offers of
    # functions/shared/interface.py (queue and device facts; requeue; the gateway event log). The uplink
    # function delivers its frames' events itself (`ApplicationServer.deliver_event`): the application,
    # device profile and event log, and the application topics, as the NetworkEvents function.
    "Uplink": Access(
        tables=(
            "Application",
            "Device",
            "DeviceProfile",
            "DeviceQueueItem",
            "DeviceSession",
            "EventLogItem",
            "FrameLogItem",
            "Gateway",
            "MetricsBucket",
            "PendingDownlink",
            "UplinkCollection",
        ),
        envelope=True,
        publish=(GATEWAY_COMMANDS, APPLICATION_TOPICS),
    ),
    # DeviceSession: an item put back in the queue clears "known empty" (functions/network/queue_state.py)
    "TxAck": Access(
        tables=(
            "DeviceQueueItem",
            "DeviceSession",
            "FrameLogItem",
            "Gateway",
            "MetricsBucket",
            "PendingDownlink",
        )
    ),
    "GatewayEvents": Access(
        # a bridge's last will marks its gateways offline with a retained state/conn message
        tables=("EventLogItem", "FrameLogItem", "Gateway", "MetricsBucket"),
        publish=(GATEWAY_STATE,),
    ),
    "Downlink": Access(
        tables=(
            "Device",
            "DeviceQueueItem",
            "DeviceSession",
            "FrameLogItem",
            "Gateway",
            "MetricsBucket",
            "PendingDownlink",
        ),
        envelope=True,
        publish=(GATEWAY_COMMANDS,),
    ),
    # application server
    "Api": Access(
        tables=(
            "ApiKey",
            "Application",
            "Device",
            "DeviceProfile",
            "DeviceQueueItem",
            "DeviceSession",
            "EventLogItem",
            "FrameLogItem",
            "Gateway",
            "Membership",
            "MetricsBucket",
            "Organization",
            "StationCredentials",
            "Unique",
            "User",
        ),
        envelope=True,
    ),
    "JoinServer": Access(tables=("Device",), envelope=True),
    "NetworkEvents": Access(
        tables=("Application", "Device", "DeviceProfile", "EventLogItem"),
        envelope=True,
        publish=(APPLICATION_TOPICS,),
    ),
    # DeviceSession: an enqueue clears the session's "queue known empty" (functions/network/queue_state.py)
    "MqttDownlink": Access(
        tables=("Device", "DeviceProfile", "DeviceQueueItem", "DeviceSession"),
        envelope=True,
        publish=(APPLICATION_TOPICS,),
    ),
    "Webhook": Access(tables=("Application",), envelope=True),
}
