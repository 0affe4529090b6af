"""Simulated gateways and devices a user can run against a bridge: `python -m functions.simulator`."""
