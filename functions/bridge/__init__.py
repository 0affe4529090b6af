"""The gateway bridge: Semtech UDP packet forwarder <-> ChirpStack-compatible JSON over MQTT."""
