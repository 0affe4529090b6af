"""Shared fixtures: a real Mosquitto (`broker`) and DynamoDB on moto server (`dynamodb`)."""

pytest_plugins = ["tests.support.mosquitto", "tests.support.dynamodb"]
