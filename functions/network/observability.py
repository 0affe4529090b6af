"""One Powertools Logger and the metric names of the network server.

Every module of `functions/network/` logs through `logger`, so the keys a handler appends (`dev_eui`,
`dev_addr`, `gateway_id`) are on every line of one uplink's processing. Metrics are counted through a
`Count` callback (the handler's Powertools `Metrics`, a Counter in tests). Key material never reaches a
log line: sessions and JoinAns keep keys out of their reprs, and log lines name devices, not keys.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools import Logger

logger = Logger()  # service from POWERTOOLS_SERVICE_NAME ("network" on AWS)
Count = Callable[[str], None]

# Metric names (namespace "Loraless"), one count each.
METRICS = {
    "Uplinks": "data uplinks accepted",
    "Joins": "JoinRequests accepted (JoinAccept sent)",
    "JoinsRejected": "JoinRequests the join server refused (MIC, DevNonce reuse, unknown device)",
    "StaleJoins": "JoinRequests older than the one that made the current session (a backlog reordered them)",
    "Rejoins": "RejoinRequests answered with a JoinAccept",
    "RejoinsRejected": "RejoinRequests refused (MIC, RJcount replay, no 1.1 session, join server)",
    "DedupDrops": "receptions folded into another invocation's frame (duplicates and late copies)",
    "DedupLate": "copies that arrived after the frame was claimed (a subset of DedupDrops)",
    "InvalidUplinks": "events that are not a usable gw.UplinkFrame (bad JSON, unknown region prefix)",
    "InvalidFrames": "PHYPayloads that do not decode",
    "FramesTooLarge": "uplinks larger than their data rate allows",
    "UnsupportedFrames": "proprietary frames and other message types",
    "UnknownDevAddr": "data uplinks whose DevAddr has no session",
    "MICFailures": "frames whose MIC no session verifies",
    "Replays": "frame counters seen before or older than the window (a `log` event for data uplinks); "
    "RJcounts not newer than the last",
    "LateUplinks": "uplinks overtaken by a newer one, accepted once within the window (no downlink)",
    "Retransmissions": "identical data frames a gateway heard again (NbTrans, lost ACK): checked once",
    "UnknownGateways": "frames from gateways no organization registered (refused unless allowed)",
    "ConcurrentUpdates": "invocations that lost the conditional session write",
    "InvalidMACCommands": "MAC command sequences that do not decode, or sit in FOpts and FPort 0",
    "UnexpectedMACAnswers": "answers to requests that were not pending",
    "MACNacks": "requests the device refused (some status bit clear)",
    "MACRetries": "requests sent again because the device did not answer",
    "MACRequestsDropped": "requests given up after MAX_ATTEMPTS unanswered sends",
    "MACCommandsDeferred": "commands that did not fit this downlink (requests wait for the next)",
    "MACAnswersDropped": "answers that did not fit this downlink (the device asks again)",
    "Downlinks": "class A downlinks published (data and JoinAccept answers excluded)",
    "DownlinksRX1": "TX acks: sent in RX1",
    "DownlinksRX2": "TX acks: sent in RX2",
    "DownlinksClassC": "class C downlinks published",
    "TxErrors": "TX acks: not sent in any window",
    "DownlinksUnacknowledged": "confirmed downlinks the device never acknowledged (`ack` false, given up)",
    "DownlinksExpired": "queued downlinks dropped unsent at their expiresAt (`log` EXPIRED)",
    "DownlinksTooLate": "downlinks (and JoinAccepts) not sent: no receive window could still be met "
    "(a queued payload stays queued)",
    "DownlinksRX2Only": "downlinks sent with the RX2 item only: RX1 could no longer be met",
    "DownlinksTooLarge": "queued payloads too large for the data rate (kept queued)",
    "GatewaysSkipped": "receptions not used for the downlink (gateway offline or recently TOO_LATE)",
}
