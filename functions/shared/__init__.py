"""Glue the Lambdas share: settings, AWS clients, storage models, key envelopes, the NS<->AS interface."""
