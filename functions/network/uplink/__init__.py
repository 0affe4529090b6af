"""The uplink pipeline: one gateway reception in; after de-duplication the frame is a JoinRequest
(`join.py`), a RejoinRequest (`rejoin.py`) or a data uplink (`data.py`), each a list of named steps over
one typed context (`context.py`). Every rejection is counted by name and changes no state.
`functions/network/README.md` draws the flow with the steps' names."""

from functions.network.uplink.context import Ports
from functions.network.uplink.pipeline import handle_reception

__all__ = ["Ports", "handle_reception"]
