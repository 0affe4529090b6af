"""The device session item stays under DynamoDB's 1 KB write unit in steady state (issue 16): it is written
on every uplink, and each started KB is a write unit ($0.625 per million). Sizes are counted as DynamoDB
bills them (`bench/item_size.py`) on the item as the model serializes it, for realistic sessions: a full ADR
history, typical MAC state, 1.0.x and 1.1 keys sealed with a data key of the size KMS returns."""

from __future__ import annotations

import secrets
import uuid

import pytest

from bench.item_size import KB, item_size, number_size, value_size
from functions.lorawan.adr import HISTORY_LENGTH, UplinkRecord
from functions.network import session_keys
from functions.network.mac.state import MacState
from functions.network.models import DeviceSession
from functions.shared import envelope
from functions.shared.interface import HourCounters

DEV_EUI = "0004a30b001c0530"
# What a KMS GenerateDataKey (AES_256) returns as CiphertextBlob for a symmetric key: 184 bytes as observed
# on AWS (the local master key wraps in 60). The session pays for it on every write.
KMS_WRAPPED_KEY_BYTES = 184
# Room left for attributes still to come, in a typical session.
HEADROOM = 64
HOUR = 1_796_083_200


def hour_counters(region: str, uplinks: int = 6, hour: int = HOUR) -> HourCounters:
    """A device sending every 10 minutes, late in the hour: each uplink on another channel, one downlink;
    SNR in quarters of a dB (`frame_recording.device_counters`)."""
    first = 868_100_000 if region == "EU868" else 903_900_000
    step = 200_000
    counters: dict[str, float] = {"up": uplinks, "dr_5": uplinks, "rssi": -97 * uplinks,
                                  "snr": -7.25 * uplinks, "down": 1}  # fmt: skip
    counters |= {f"f_{first + i * step}": 1 for i in range(uplinks)}
    return HourCounters(hour, 0xDEADBEEF, counters)


@pytest.fixture
def kms_sized_envelope(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sealing as on AWS, in size: a data key wrapped into KMS's 184 bytes (nothing opens these blobs)."""
    monkeypatch.setattr(envelope.SETTINGS, "local_master_key", "11" * 32, raising=False)
    monkeypatch.setattr(envelope, "_KEYS", envelope._DataKeys())
    monkeypatch.setattr(
        envelope,
        "_wrap_data_key",
        lambda _context: (secrets.token_bytes(32), secrets.token_bytes(KMS_WRAPPED_KEY_BYTES), "kms"),
    )


def keys(mac_version: str) -> dict[str, str]:
    if mac_version.startswith("1.1"):
        names = ("f_nwk_s_int_key", "s_nwk_s_int_key", "nwk_s_enc_key", "app_s_key")
        return {name: secrets.token_hex(16) for name in names}
    nwk = secrets.token_hex(16)
    return {
        "f_nwk_s_int_key": nwk,
        "s_nwk_s_int_key": nwk,
        "nwk_s_enc_key": nwk,
        "app_s_key": secrets.token_hex(16),
    }


def steady_session(
    mac_version: str, region: str = "EU868", channels: list[int] | None = None
) -> DeviceSession:
    """A device a year into its session: counters in the ten thousands, the anti-replay window full, a full
    ADR history, the channels its last LinkADRAns acknowledged, a DevStatusAns, the gateway it was last
    heard by; no request pending."""
    f_cnt = 52_000
    state = {
        "applied": {"enabled_channels": channels if channels is not None else list(range(8))},
        "dev_status": {"f_cnt": f_cnt - 150, "at": 1_796_000_000},
    }
    if mac_version.startswith("1.1"):
        state |= {"rj_count0_next": 3, "rj_count1_next": 2}
    session = DeviceSession(
        DEV_EUI,
        dev_addr="260b1c05",
        mac_version=mac_version,
        region=region,
        net_keys=session_keys.seal_network_keys(keys(mac_version), dev_eui=DEV_EUI),
        last_seen_at=1_796_086_400,
        f_cnt_up=f_cnt,
        f_cnt_up_seen=2**64 - 1,
        n_f_cnt_down=1_234 if mac_version.startswith("1.1") else 0,
        a_f_cnt_down=4_321,
        dr=5,
        tx_power_index=3,
        rx1_delay=1,
        rx2_dr=3 if region == "EU868" else 8,
        rx2_frequency=869_525_000 if region == "EU868" else 923_300_000,
        uplink_history=[
            UplinkRecord(f_cnt - HISTORY_LENGTH + i, -7.25 + i / 10, 3, 1 + i % 3)
            for i in range(HISTORY_LENGTH)
        ],
        mac_state=MacState.from_json(state),
        last_gateway_id="0016c001ff10a235",
        last_topic_prefix=region.lower(),
        battery=254,
        margin=-12,
        queue_empty=True,  # steady state of a device nobody sends anything to (issue 16)
        joined_at_ms=1_764_800_000_123,
        last_deduplication_id=str(uuid.uuid4()),
        hour_counters=hour_counters(region),
    )
    session.version = 52_000
    return session


def test_the_size_rule_is_dynamodbs() -> None:
    """The examples of DynamoDB's item-size page, and the base-100 digit pairs numbers are stored in."""
    assert number_size("0") == 1 and number_size("7") == 2 and number_size("12") == 2
    assert number_size("123") == 3 and number_size("1000") == 2 and number_size("-7.25") == 3
    assert number_size("869525000") == 5  # 08 69 52 50, trailing zero pairs dropped
    assert value_size({"B": "AAECAw=="}) == 4  # binary by its raw bytes, not its base64
    assert value_size({"BOOL": True}) == value_size({"NULL": True}) == 1
    assert value_size({"L": []}) == value_size({"M": {}}) == 3
    # a map element: one byte, its name, its value
    assert value_size({"M": {"ab": {"S": "xyz"}}}) == 3 + 1 + 2 + 3
    assert item_size({"name": {"S": "héllo"}, "n": {"N": "12"}}) == 4 + 6 + 1 + 2


@pytest.mark.parametrize(
    ("mac_version", "region", "channels", "headroom"),
    [
        ("1.0.3", "EU868", None, HEADROOM),
        ("1.1.0", "EU868", None, HEADROOM),
        ("1.0.4", "US915", [*range(8, 16), 65], HEADROOM),  # sub-band 2
        ("1.1.0", "US915", list(range(72)), 0),  # every channel acknowledged: the longest list, still 1 KB
    ],
)
def test_a_steady_session_is_one_write_unit(
    kms_sized_envelope: None, mac_version: str, region: str, channels: list[int] | None, headroom: int
) -> None:
    item = steady_session(mac_version, region, channels).serialize()
    assert item_size(item) <= KB - headroom, {name: item_size({name: value}) for name, value in item.items()}


def test_the_hours_counters_add_a_few_dozen_bytes(kms_sized_envelope: None) -> None:
    """What carrying the hour's counters costs each save (issue 16: it spares a bucket update per uplink),
    and the save that closes an hour, which carries the finished one too until the next save."""
    item = steady_session("1.1.0", "US915", list(range(72))).serialize()
    # name, header (format, hour, token); up, dr_5, rssi, snr, down; six frequencies (code, 100 kHz, count)
    assert item_size({"hc": item["hc"]}) == 2 + 9 + 2 + 3 + 3 + 3 + 2 + 6 * 4 == 48
    closing = steady_session("1.0.3")
    closing.closed_hour, closing.hour_counters = closing.hour_counters, hour_counters("EU868", 1, HOUR + 3600)
    assert item_size(closing.serialize()) <= KB - HEADROOM


def test_what_the_items_size_is_made_of(kms_sized_envelope: None) -> None:
    """The parts that made it 2 KB before: the history (was ~1,200 bytes), the sealed keys (~670), JSON."""
    item = steady_session("1.1.0").serialize()
    assert item_size({"uh": item["uh"]}) == 2 + 1 + 8 * HISTORY_LENGTH
    # format, backend, length, the wrapped key, nonce; flags and four keys; the GCM tag
    assert item_size({"nk": item["nk"]}) == 2 + 4 + KMS_WRAPPED_KEY_BYTES + 12 + 1 + 4 * 16 + 16
    assert ": " not in item["ms"]["S"] and ", " not in item["ms"]["S"]
    assert "pm" not in item and "rg" not in item and "di" not in item  # defaults are not written


def test_the_packed_session_reads_back_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(envelope.SETTINGS, "local_master_key", "11" * 32, raising=False)
    for mac_version in ("1.0.3", "1.1.0"):
        session = steady_session(mac_version)
        read = DeviceSession.from_raw_data(session.serialize())
        for name in DeviceSession.get_attributes():
            assert getattr(read, name) == getattr(session, name), name
        assert read.uplink_history[0] == UplinkRecord(52_000 - 20, -7.25, 3, 1)
        assert read.uplink_history[-1].max_snr == pytest.approx(-5.35)
        opened = session_keys.session_keys(read)
        if mac_version == "1.0.3":  # one NwkSKey for all three
            assert len({opened[k] for k in session_keys.NETWORK_KEYS}) == 1
        else:
            assert len({opened[k] for k in (*session_keys.NETWORK_KEYS, "app_s_key")}) == 4
