"""AWS CDK v2 definition of Loraless: one stack composed of constructs, one per concern."""
