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


# The anti-replay window (as IPsec's, RFC 4303 §3.4.3, and DTLS's, RFC 6347 §4.1.2.6): besides the next
# expected counter, a bitmap of which of the WINDOW counters below it were accepted. A frame that was
# overtaken by a newer one (Lambda's asynchronous invocations and retries give no order) is accepted
# once, late; a counter seen before, or older than the window, is a replay.
REPLAY_WINDOW = 64
_WINDOW_MASK = (1 << REPLAY_WINDOW) - 1
ALL_SEEN = _WINDOW_MASK  # a session that recorded no window: nothing below its next counter is accepted


def accept_f_cnt(full: int, next_expected: int, seen: int | None) -> tuple[int, int, bool]:
    """Accept `full` against the next expected counter and the window `seen` (bit i: counter
    `next_expected - 1 - i` was accepted; None: every one was). Returns the new next expected counter,
    the new window, and whether the frame is late (older than one already accepted). Raises
    FrameCounterReplay for a counter accepted before or older than the window."""
    window = ALL_SEEN if seen is None else seen & _WINDOW_MASK
    if full >= next_expected:
        shift = full - next_expected + 1
        window = ((window << shift) | 1) & _WINDOW_MASK if shift < REPLAY_WINDOW else 1
        return full + 1, window, False
    age = next_expected - 1 - full
    if age >= REPLAY_WINDOW or window >> age & 1:
        raise FrameCounterReplay(full, next_expected - 1)
    return next_expected, window | 1 << age, True
