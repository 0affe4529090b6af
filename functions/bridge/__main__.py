"""`python -m functions.bridge`: run the gateway bridge (settings from the environment or flags)."""

import asyncio
import logging

from functions.bridge.app import BridgeApp
from functions.bridge.config import from_environment

logging.basicConfig(
    level=logging.INFO, format='{"time":"%(asctime)s","level":"%(levelname)s","msg":"%(message)s"}'
)
asyncio.run(BridgeApp(from_environment()).run())
