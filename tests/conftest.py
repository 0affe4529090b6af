"""Shared fixtures: a real Mosquitto (`broker`) for the tests that need one."""

pytest_plugins = ["tests.support.mosquitto"]
