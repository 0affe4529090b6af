"""Time on air of LoRa and FSK frames.

LoRa follows the SX127x datasheet / Semtech AN1200.13 formula: preamble + 4.25 symbols, then
8 + max(ceil((8 PL - 4 SF + 28 + 16 CRC - 20 IH) / (4 (SF - 2 DE))) (CR + 4), 0) symbols.
LoRaWAN uplinks carry the payload CRC and downlinks do not (LoRaWAN 1.0.4 §3.2); low data rate
optimisation (DE) is on for SF11/SF12 at 125 kHz and SF12 at 250 kHz, where a symbol lasts
16 ms or more. Computed in exact fractions, so microsecond results carry no float error.
"""

from __future__ import annotations

import math
from fractions import Fraction

from .errors import InvalidDataRate
from .regions.base import FSKModulation, LoRaModulation, LRFHSSModulation, Modulation

_CODING_RATES = {"4/5": 1, "4/6": 2, "4/7": 3, "4/8": 4}


def _cr(coding_rate: str) -> int:
    try:
        return _CODING_RATES[coding_rate]
    except KeyError:
        raise InvalidDataRate(f"LoRa coding rate {coding_rate!r} is not one of 4/5..4/8") from None


def _check_lora(spreading_factor: int, bandwidth: int) -> None:
    if not 5 <= spreading_factor <= 12:
        raise InvalidDataRate(f"spreading factor {spreading_factor} is not in 5..12")
    if bandwidth <= 0:
        raise InvalidDataRate(f"bandwidth {bandwidth} Hz is not positive")


def low_data_rate_optimize_required(spreading_factor: int, bandwidth: int) -> bool:
    """True where a symbol lasts 16 ms or more: SF11/SF12 at 125 kHz, SF12 at 250 kHz."""
    return Fraction(1 << spreading_factor, bandwidth) >= Fraction(16, 1000)


def lora_symbol_time(spreading_factor: int, bandwidth: int) -> float:
    """One LoRa symbol in seconds: 2^SF / BW."""
    _check_lora(spreading_factor, bandwidth)
    return float(Fraction(1 << spreading_factor, bandwidth))


def lora_payload_symbols(
    payload_size: int,
    spreading_factor: int,
    coding_rate: str = "4/5",
    *,
    explicit_header: bool = True,
    crc: bool = True,
    low_data_rate_optimize: bool = False,
) -> int:
    """Symbols after the preamble (header, payload and CRC), AN1200.13 eq. 5."""
    if not 0 <= payload_size <= 255:
        raise InvalidDataRate(f"LoRa payload of {payload_size} bytes is not in 0..255")
    numerator = 8 * payload_size - 4 * spreading_factor + 28 + 16 * crc - 20 * (not explicit_header)
    denominator = 4 * (spreading_factor - 2 * low_data_rate_optimize)
    return 8 + max(math.ceil(numerator / denominator) * (_cr(coding_rate) + 4), 0)


def _lora_us(
    payload_size: int,
    spreading_factor: int,
    bandwidth: int,
    *,
    coding_rate: str,
    preamble_symbols: int,
    explicit_header: bool,
    crc: bool,
    low_data_rate_optimize: bool | None,
) -> Fraction:
    _check_lora(spreading_factor, bandwidth)
    if low_data_rate_optimize is None:
        low_data_rate_optimize = low_data_rate_optimize_required(spreading_factor, bandwidth)
    symbols = Fraction(4 * preamble_symbols + 17, 4) + lora_payload_symbols(
        payload_size,
        spreading_factor,
        coding_rate,
        explicit_header=explicit_header,
        crc=crc,
        low_data_rate_optimize=low_data_rate_optimize,
    )
    return symbols * Fraction((1 << spreading_factor) * 1_000_000, bandwidth)


def lora_time_on_air(
    payload_size: int,
    spreading_factor: int,
    bandwidth: int,
    *,
    coding_rate: str = "4/5",
    preamble_symbols: int = 8,
    explicit_header: bool = True,
    crc: bool = True,
    low_data_rate_optimize: bool | None = None,
) -> float:
    """Seconds on air of a LoRa frame of `payload_size` PHYPayload bytes.

    `low_data_rate_optimize=None` chooses it as the radio must (see module docstring).
    """
    return float(
        _lora_us(
            payload_size,
            spreading_factor,
            bandwidth,
            coding_rate=coding_rate,
            preamble_symbols=preamble_symbols,
            explicit_header=explicit_header,
            crc=crc,
            low_data_rate_optimize=low_data_rate_optimize,
        )
        / 1_000_000
    )


def _fsk_us(payload_size: int, bitrate: int, preamble_bytes: int, crc: bool) -> Fraction:
    if bitrate <= 0:
        raise InvalidDataRate(f"FSK bit rate {bitrate} is not positive")
    if not 0 <= payload_size <= 255:
        raise InvalidDataRate(f"FSK payload of {payload_size} bytes is not in 0..255")
    # RP002-1.0.4 §2.4.1: preamble, 3-byte sync word, length byte, payload, 16-bit CRC.
    octets = preamble_bytes + 3 + 1 + payload_size + (2 if crc else 0)
    return Fraction(octets * 8 * 1_000_000, bitrate)


def fsk_time_on_air(
    payload_size: int, bitrate: int = 50_000, *, preamble_bytes: int = 5, crc: bool = True
) -> float:
    """Seconds on air of an FSK frame (LoRaWAN FSK: 5 preamble octets, CRC on both ways)."""
    return float(_fsk_us(payload_size, bitrate, preamble_bytes, crc) / 1_000_000)


def _modulation_us(
    payload_size: int, modulation: Modulation, uplink: bool, preamble_symbols: int
) -> Fraction:
    if isinstance(modulation, LoRaModulation):
        return _lora_us(
            payload_size,
            modulation.spreading_factor,
            modulation.bandwidth,
            coding_rate=modulation.coding_rate,
            preamble_symbols=preamble_symbols,
            explicit_header=True,
            crc=uplink,  # LoRaWAN 1.0.4 §3.2: uplinks carry the CRC, downlinks do not
            low_data_rate_optimize=None,
        )
    if isinstance(modulation, FSKModulation):
        return _fsk_us(payload_size, modulation.bitrate, 5, True)
    assert isinstance(modulation, LRFHSSModulation)
    raise InvalidDataRate(f"time on air of {modulation} is not modelled")


def time_on_air(
    payload_size: int, modulation: Modulation, *, uplink: bool = True, preamble_symbols: int = 8
) -> float:
    """Seconds on air of a LoRaWAN frame (PHYPayload bytes) sent with a region's data rate."""
    return float(_modulation_us(payload_size, modulation, uplink, preamble_symbols) / 1_000_000)


def time_on_air_us(
    payload_size: int, modulation: Modulation, *, uplink: bool = True, preamble_symbols: int = 8
) -> int:
    """Like `time_on_air`, in whole microseconds (rounded up, as duty-cycle budgets want)."""
    return math.ceil(_modulation_us(payload_size, modulation, uplink, preamble_symbols))
