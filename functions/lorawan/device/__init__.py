"""The reference end-device model: what a real LoRaWAN device does with frames, as pure state."""

from functions.lorawan.device.device import Downlink, EndDevice, Uplink, abp, otaa
from functions.lorawan.device.session import DeviceSession

__all__ = ["DeviceSession", "Downlink", "EndDevice", "Uplink", "abp", "otaa"]
