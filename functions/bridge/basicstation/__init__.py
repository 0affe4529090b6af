"""LoRa Basics Station gateways: the LNS protocol (discovery and the per-gateway WebSocket) and CUPS,
mapped onto the same ChirpStack gateway messages on MQTT as the Semtech UDP side."""
