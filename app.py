#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth` / `npx cdk deploy` run this (see cdk.json)."""

from infra.app import build_app

app, _ = build_app()
app.synth()
