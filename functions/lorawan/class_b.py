"""Class B timing: ping-slot periods and the pseudo-random ping offset.

LoRaWAN 1.0.4 §11 (Class B downlink slot timing): a beacon period of 128 s starts with
BEACON_RESERVED (2.12 s) and is cut into 4096 slots of 30 ms; a device with Periodicity p opens
PingNb = 2^(7 - p) ping slots, one every PingPeriod = 2^(5 + p) slots, starting at a per-period
offset that the device and the network compute alike from the beacon time and DevAddr (§11.2).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .errors import InvalidPingPeriod
from .types import DevAddr

BEACON_PERIOD_S = 128
BEACON_RESERVED_S = 2.12
SLOT_LEN_S = 0.030
PING_SLOTS_PER_PERIOD = 4096


def ping_period(periodicity: int) -> int:
    """PingPeriod in slots for PingSlotInfoReq's Periodicity 0..7: 2^(5 + p), 32 (about every
    second) up to 4096 (once per beacon period) (LoRaWAN 1.0.4 §11.2)."""
    if not 0 <= periodicity <= 7:
        raise InvalidPingPeriod(f"periodicity {periodicity} is not in 0..7")
    return 1 << (5 + periodicity)


def ping_offset(beacon_time: int, dev_addr: DevAddr, ping_period: int) -> int:
    """The ping offset for one beacon period (LoRaWAN 1.0.4 §11.2 slot randomization).

    Rand = aes128_encrypt(16 x 0x00, BeaconTime (4 octets LE) | DevAddr (4 octets LE) | 8 x 0x00);
    offset = (Rand[0] + 256 * Rand[1]) mod ping_period. `beacon_time` is the beacon's Time
    field: seconds since the GPS epoch, modulo 2^32.
    """
    if ping_period not in {1 << n for n in range(5, 13)}:
        raise InvalidPingPeriod(f"ping period {ping_period} is not 2^(5 + periodicity)")
    block = (beacon_time % (1 << 32)).to_bytes(4, "little") + dev_addr.to_wire() + bytes(8)
    encryptor = Cipher(algorithms.AES(bytes(16)), modes.ECB()).encryptor()
    rand = encryptor.update(block) + encryptor.finalize()
    return (rand[0] + 256 * rand[1]) % ping_period


def ping_slot_starts(beacon_time: int, dev_addr: DevAddr, periodicity: int) -> list[float]:
    """Seconds after the beacon's start at which the device's ping slots open in that period."""
    period = ping_period(periodicity)
    offset = ping_offset(beacon_time, dev_addr, period)
    return [
        BEACON_RESERVED_S + (offset + n * period) * SLOT_LEN_S for n in range(PING_SLOTS_PER_PERIOD // period)
    ]
