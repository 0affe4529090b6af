"""Every error the protocol core raises.

One module so callers can catch `LoRaWANError` for any bad input and the specific class
for a specific rule; each carries what a log line needs and never a key.
"""

from __future__ import annotations


class LoRaWANError(ValueError):
    """Base class: input that is not valid LoRaWAN (or not valid for this operation)."""


class DecodeError(LoRaWANError):
    """Bytes that cannot be decoded as the wire structure asked for."""


class EncodeError(LoRaWANError):
    """Field values that cannot be encoded (out of range, wrong length)."""


class InvalidLength(DecodeError):
    """A buffer or field of the wrong length."""

    def __init__(self, what: str, got: int, expected: str) -> None:
        super().__init__(f"{what}: got {got} bytes, expected {expected}")
        self.what = what
        self.got = got
        self.expected = expected


class InvalidHex(DecodeError):
    """Text that should be hex of a given length and is not."""


class InvalidMIC(LoRaWANError):
    """The message integrity code does not match (wrong key, tampered frame or wrong counter)."""


class FrameCounterReplay(LoRaWANError):
    """A frame counter that is not newer than the last one accepted."""

    def __init__(self, received: int, last: int) -> None:
        super().__init__(f"frame counter {received} is not newer than {last}")
        self.received = received
        self.last = last


class FrameCounterGap(LoRaWANError):
    """A frame counter further ahead than MAX_FCNT_GAP allows (LoRaWAN 1.0.x §4.3.1.5)."""

    def __init__(self, received: int, last: int, max_gap: int) -> None:
        super().__init__(f"frame counter {received} is more than {max_gap} ahead of {last}")
        self.received = received
        self.last = last
        self.max_gap = max_gap


class UnknownMACCommand(DecodeError):
    """A CID that is neither known nor proprietary: parsing stops here (LoRaWAN 1.1 §5)."""

    def __init__(self, cid: int, uplink: bool) -> None:
        direction = "uplink" if uplink else "downlink"
        super().__init__(f"unknown {direction} MAC command CID 0x{cid:02x}")
        self.cid = cid
        self.uplink = uplink


class UnknownRegion(LoRaWANError):
    """A region name that is not one of RP002-1.0.x's."""


class InvalidDataRate(LoRaWANError):
    """A data-rate index that the region does not define."""


class InvalidChannel(LoRaWANError):
    """A channel or frequency that the region does not allow."""


class InvalidTxPower(LoRaWANError):
    """A TXPower index that the region's TXPower table does not define."""


class InvalidPingPeriod(LoRaWANError):
    """A class B ping period that is not 2^(5 + periodicity) slots for periodicity 0..7."""


class TruncatedMACCommand(InvalidLength):
    """A MAC command whose payload runs past the end of FOpts / FRMPayload (LoRaWAN 1.1 §5)."""

    def __init__(self, name: str, cid: int, got: int, expected: int) -> None:
        super().__init__(f"{name} (CID 0x{cid:02x}) payload", got, str(expected))
        self.name = name
        self.cid = cid


class UnexpectedCID(DecodeError):
    """Bytes handed to one MAC command's decoder that start with another command's CID."""

    def __init__(self, name: str, expected: int, got: int | None) -> None:
        seen = "no CID" if got is None else f"CID 0x{got:02x}"
        super().__init__(f"{name} has CID 0x{expected:02x}, got {seen}")
        self.name = name
        self.expected = expected
        self.got = got
