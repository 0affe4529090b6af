"""What the application server offers the uplink function (`functions.shared.interface.EventDelivery`):
delivering its frames' events in the same invocation, as the NetworkEvents function delivers those of
the other network functions. One Lambda request and one hop fewer per uplink (bench/README.md, "Cost per
million uplinks"), as ChirpStack v4 runs its network and application servers in one process."""

from __future__ import annotations

from functions.appserver.integration import handle_network_event
from functions.shared import aws
from functions.shared.interface import NetworkEvent


def deliver_event(event: NetworkEvent) -> None:
    handle_network_event(event, aws.publish)
