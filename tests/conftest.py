"""Shared fixtures: a real Mosquitto (`broker`), DynamoDB on moto server (`dynamodb`), the deployment's
administrator key for the API (`admin_key`)."""

pytest_plugins = ["tests.support.mosquitto", "tests.support.dynamodb", "tests.support.api"]
