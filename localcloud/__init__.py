"""The local cloud: Loraless's functions, wired by the synthesized CDK template, on one machine."""
