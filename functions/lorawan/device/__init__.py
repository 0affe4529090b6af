"""The reference end-device model: what a real LoRaWAN device does with frames, as pure state."""

from functions.lorawan.device.device import Downlink, EndDevice, Uplink, abp, otaa
from functions.lorawan.device.session import EndDeviceSession

__all__ = ["EndDeviceSession", "Downlink", "EndDevice", "Uplink", "abp", "otaa"]
