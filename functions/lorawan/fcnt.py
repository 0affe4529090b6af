"""Frame counters: the 32-bit value behind the 16 bits on the wire, and the replay / gap rules.

Only the low 16 bits of FCnt travel (1.1 §4.3.1.5); the receiver rebuilds the full counter from the one
it expects next. The rebuild picks the candidate closest to the expected value, so a retransmission
just below it is recognised as such rather than read as a jump of 65,535 frames (the rule ChirpStack's
`get_full_f_cnt_up` tests encode).
"""

from __future__ import annotations

from functions.lorawan.errors import EncodeError, FrameCounterGap, FrameCounterReplay

MAX_FCNT_GAP = 16384  # LoRaWAN 1.0.x MAX_FCNT_GAP; 1.0.4 and 1.1 dropped it, so it is a policy, not a rule
F_CNT_MASK = 0xFFFFFFFF


def full_f_cnt(f_cnt16: int, next_expected: int) -> int:
    """The 32-bit counter whose low 16 bits are `f_cnt16`, closest to `next_expected`."""
    if not 0 <= f_cnt16 <= 0xFFFF:
        raise EncodeError(f"a wire FCnt is 16 bits, got {f_cnt16}")
    if not 0 <= next_expected <= F_CNT_MASK + 1:
        raise EncodeError(f"an expected FCnt is 0..2^32, got {next_expected}")
    delta = ((f_cnt16 - (next_expected & 0xFFFF) + 0x8000) & 0xFFFF) - 0x8000
    full = next_expected + delta
    if full < 0:
        full += 0x10000
    return full & F_CNT_MASK


def check_f_cnt(full: int, next_expected: int, *, max_gap: int | None = MAX_FCNT_GAP) -> int:
    """Accept `full` if it is at least `next_expected` and (with a gap policy) not too far ahead.

    Returns how many frames were skipped (lost). Raises FrameCounterReplay for an old counter (a replay,
    or a retransmission the caller may want to treat as such) and FrameCounterGap beyond `max_gap`.
    """
    if full < next_expected:
        raise FrameCounterReplay(full, next_expected - 1)
    skipped = full - next_expected
    if max_gap is not None and skipped >= max_gap:
        raise FrameCounterGap(full, next_expected - 1, max_gap)
    return skipped
