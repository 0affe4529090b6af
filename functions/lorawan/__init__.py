"""Loraless protocol core: LoRaWAN 1.0.x/1.1 frames, crypto, MAC commands, regions, ADR, airtime.

Pure Python with no AWS, no I/O and no logging, so every other part (bridge, network server,
application server, simulator) can share it and tests can drive it with vectors alone.
"""
