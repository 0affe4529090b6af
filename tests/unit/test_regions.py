"""Hand-written RP002-1.0.4 table checks for every region, and the Region interface itself."""

import pytest

from functions.lorawan.errors import InvalidChannel, InvalidDataRate, InvalidTxPower, UnknownRegion
from functions.lorawan.regions import (
    ALL_REGIONS,
    AS923_1,
    AS923_2,
    AS923_3,
    AS923_4,
    AU915,
    CN470_20A,
    CN470_20B,
    CN470_26A,
    CN470_26B,
    CN779,
    EU433,
    EU868,
    IN865,
    KR920,
    RU864,
    US915,
    CN470Plan,
    FSKModulation,
    LoRaModulation,
    LRFHSSModulation,
    MaxPayload,
    Region,
    cn470_for_join_frequency,
    get_region,
)
from functions.lorawan.types import DevAddr

# --- lookup ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("EU868", EU868),
        ("eu868", EU868),
        ("US915", US915),
        ("au915", AU915),
        ("AS923", AS923_1),
        ("AS923-1", AS923_1),
        ("as923", AS923_1),
        ("AS923-2", AS923_2),
        ("as923_2", AS923_2),
        ("as923-3", AS923_3),
        ("AS923_4", AS923_4),
        ("KR920", KR920),
        ("in865", IN865),
        ("RU864", RU864),
        ("CN470", CN470_20A),
        ("cn470_26b", CN470_26B),
        ("CN470-20B", CN470_20B),
        ("EU433", EU433),
        ("cn779", CN779),
        (" Eu868 ", EU868),
    ],
)
def test_get_region_accepts_common_names_and_chirpstack_ids(name: str, expected: object) -> None:
    assert get_region(name) is expected


@pytest.mark.parametrize("name", ["", "EU869", "US902-928", "AS923-5", "IL915", "ISM2400"])
def test_get_region_rejects_unknown(name: str) -> None:
    with pytest.raises(UnknownRegion):
        get_region(name)


# --- EU868 §2.4 --------------------------------------------------------------------------------


def test_eu868_tables() -> None:
    assert EU868.data_rate(5).modulation == LoRaModulation(7, 125_000)
    assert EU868.data_rate(6).modulation == LoRaModulation(7, 250_000)
    assert EU868.data_rate(7).modulation == FSKModulation(50_000)
    assert EU868.data_rate(10).modulation == LRFHSSModulation("1/3", 336_000)
    assert EU868.max_payload_size(5) == MaxPayload(250, 242)
    assert EU868.max_payload_size(5).n == 242
    assert EU868.max_payload_size(0) == MaxPayload(59, 51)
    assert EU868.max_payload_size(3) == MaxPayload(123, 115)
    assert EU868.max_payload_size(8) == MaxPayload(58, 50)
    assert EU868.rx1_data_rate(5, 2) == 3
    assert EU868.rx1_data_rate(2, 5) == 0
    assert EU868.tx_power_dbm(0) == 16.0
    assert EU868.tx_power_dbm(7) == 2.0
    assert EU868.tx_power_dbm(3, max_eirp=14) == 8
    assert EU868.class_b.beacon_frequencies == (869_525_000,)
    assert EU868.beacon_frequency(123 * 128) == 869_525_000
    assert EU868.ping_slot_frequency(DevAddr.parse("01020304"), 0) == 869_525_000
    assert EU868.cf_list_type == 0
    assert EU868.max_adr_dr == 5


def test_eu868_lr_fhss_is_uplink_only() -> None:
    assert EU868.data_rate_index(LRFHSSModulation("2/3", 137_000)) == 9
    with pytest.raises(InvalidDataRate):
        EU868.data_rate_index(LRFHSSModulation("2/3", 137_000), uplink=False)


def test_errors_for_undefined_values() -> None:
    with pytest.raises(InvalidDataRate):
        EU868.data_rate(12)
    with pytest.raises(InvalidDataRate):
        EU868.max_payload_size(15)
    with pytest.raises(InvalidDataRate):
        EU868.rx1_data_rate(5, 6)
    with pytest.raises(InvalidDataRate):
        EU868.rx1_data_rate(13, 0)
    with pytest.raises(InvalidTxPower):
        EU868.tx_power_dbm(8)
    with pytest.raises(InvalidDataRate):
        EU868.data_rate_index(LoRaModulation(7, 500_000))
    with pytest.raises(InvalidChannel):
        EU868.uplink_channel_index(868_700_000)


# --- US915 §2.5 --------------------------------------------------------------------------------


def test_us915_tables() -> None:
    assert US915.data_rate(4).modulation == LoRaModulation(8, 500_000)
    assert US915.data_rate(0).modulation == LoRaModulation(10, 125_000)
    assert US915.data_rate(13).modulation == LoRaModulation(7, 500_000)
    assert US915.data_rate(5).modulation == LRFHSSModulation("1/3", 1_523_000)
    with pytest.raises(InvalidDataRate):
        US915.data_rate(7)  # RFU
    # Same SF/BW, different DR by direction.
    assert US915.data_rate_index(LoRaModulation(8, 500_000)) == 4
    assert US915.data_rate_index(LoRaModulation(8, 500_000), uplink=False) == 12
    assert US915.max_payload_size(0) == MaxPayload(19, 11)
    assert US915.max_payload_size(2) == MaxPayload(133, 125)
    assert US915.max_payload_size(8) == MaxPayload(61, 53)
    assert US915.max_payload_size(9) == MaxPayload(137, 129)
    assert US915.rx1_data_rate(0, 0) == 10
    assert US915.rx1_data_rate(4, 3) == 11
    assert US915.tx_power_dbm(0) == 30
    assert US915.tx_power_dbm(14) == 2
    assert len(US915.uplink_channels()) == 72
    assert US915.uplink_channels()[64].frequency == 903_000_000
    assert US915.rx1_frequency(902_300_000) == 923_300_000
    assert US915.rx1_frequency(903_000_000) == 923_300_000
    assert US915.rx1_frequency(914_200_000) == 927_500_000
    assert US915.rx2.frequency == 923_300_000 and US915.rx2.dr == 8
    assert US915.max_adr_dr == 3
    with pytest.raises(InvalidChannel):
        US915.rx1_frequency(868_100_000)


def test_us915_beacon_hops_over_the_downlink_channels() -> None:
    assert US915.beacon_frequency(0) == 923_300_000
    assert US915.beacon_frequency(128) == 923_900_000
    assert US915.beacon_frequency(8 * 128 + 5) == 923_300_000
    dev_addr = DevAddr.from_int(3)
    assert US915.ping_slot_frequency(dev_addr, 128) == 923_300_000 + 4 * 600_000


# --- AU915 §2.8 --------------------------------------------------------------------------------


def test_au915_dwell_time_limits() -> None:
    assert AU915.max_payload_size(0) == MaxPayload(59, 51)
    for dr in (0, 1):
        with pytest.raises(InvalidDataRate):
            AU915.max_payload_size(dr, dwell_time=True)
    assert AU915.max_payload_size(2, dwell_time=True) == MaxPayload(19, 11)
    assert AU915.max_payload_size(3, dwell_time=True) == MaxPayload(61, 53)
    assert AU915.max_payload_size(4, dwell_time=True) == MaxPayload(133, 125)
    assert AU915.max_payload_size(5, dwell_time=True) == MaxPayload(250, 242)
    assert AU915.max_payload_size(8, dwell_time=True) == MaxPayload(61, 53)


def test_au915_tables() -> None:
    assert AU915.data_rate(6).modulation == LoRaModulation(8, 500_000)
    assert AU915.data_rate(7).modulation == LRFHSSModulation("1/3", 1_523_000)
    assert AU915.rx1_data_rate(0, 0) == 8
    assert AU915.rx1_data_rate(5, 0) == 13
    assert AU915.rx1_data_rate(6, 5) == 9
    assert AU915.rx1_frequency(915_200_000) == 923_300_000
    assert AU915.rx1_frequency(915_900_000, 64) == 923_300_000
    assert AU915.rx1_frequency(927_100_000) == 927_500_000
    assert AU915.uplink_channels()[71].frequency == 927_100_000
    assert AU915.class_b.beacon_dr == 8
    assert AU915.supports_tx_param_setup


# --- AS923 §2.10 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "offset"),
    [(AS923_1, 0), (AS923_2, -1_800_000), (AS923_3, -6_600_000), (AS923_4, -5_900_000)],
    ids=["AS923-1", "AS923-2", "AS923-3", "AS923-4"],
)
def test_as923_frequency_offsets(region: Region, offset: int) -> None:
    assert region is get_region(region.name)
    channels = [ch.frequency for ch in region.uplink_channels()]
    assert channels == [923_200_000 + offset, 923_400_000 + offset]
    assert region.rx2.frequency == 923_200_000 + offset
    assert region.rx2.dr == 2
    assert region.class_b.beacon_frequencies == (923_400_000 + offset,)


def test_as923_2_is_minus_1_8_mhz() -> None:
    assert AS923_2.rx2.frequency == 921_400_000
    assert AS923_2.uplink_channels()[1].frequency == 921_600_000


def test_as923_dwell_and_rx1() -> None:
    assert AS923_1.max_payload_size(2) == MaxPayload(123, 115)
    assert AS923_1.max_payload_size(2, dwell_time=True) == MaxPayload(19, 11)
    with pytest.raises(InvalidDataRate):
        AS923_1.max_payload_size(1, dwell_time=True)
    assert AS923_1.rx1_data_rate(5, 0) == 5
    assert AS923_1.rx1_data_rate(5, 6) == 6  # effective offset -1
    assert AS923_1.rx1_data_rate(5, 7) == 7  # effective offset -2
    assert AS923_1.rx1_data_rate(6, 7) == 7  # capped at DR7
    assert AS923_1.rx1_data_rate(3, 5) == 0
    assert AS923_1.rx1_data_rate(3, 5, dwell_time=True) == 2  # DownlinkDwellTime floor DR2
    assert AS923_1.rx1_data_rate(0, 7, dwell_time=True) == 2
    assert AS923_1.supports_tx_param_setup


# --- the other dynamic plans ---------------------------------------------------------------------


def test_kr920() -> None:
    assert [ch.frequency for ch in KR920.uplink_channels()] == [922_100_000, 922_300_000, 922_500_000]
    assert KR920.rx2.frequency == 921_900_000 and KR920.rx2.dr == 0
    assert KR920.default_max_eirp == 14
    with pytest.raises(InvalidDataRate):
        KR920.data_rate(6)
    assert KR920.class_b.beacon_frequencies == (923_100_000,)


def test_in865() -> None:
    assert [ch.frequency for ch in IN865.uplink_channels()] == [865_062_500, 865_402_500, 865_985_000]
    assert IN865.rx2.frequency == 866_550_000 and IN865.rx2.dr == 2
    with pytest.raises(InvalidDataRate):
        IN865.data_rate(6)
    assert IN865.data_rate(7).modulation == FSKModulation(50_000)
    assert IN865.rx1_data_rate(4, 7) == 5  # DR6 is RFU, so DR4 + 2 stops at DR5
    assert IN865.rx1_data_rate(7, 1) == 5
    assert IN865.class_b.beacon_dr == 4
    assert IN865.tx_power_dbm(10) == 10


def test_ru864() -> None:
    assert [ch.frequency for ch in RU864.uplink_channels()] == [868_900_000, 869_100_000]
    assert RU864.rx2.frequency == 869_100_000
    assert RU864.class_b.beacon_frequencies == (869_100_000,)
    assert RU864.class_b.ping_slot_frequencies == (868_900_000,)


def test_eu433_and_cn779() -> None:
    assert EU433.rx2.frequency == 434_665_000
    assert EU433.default_max_eirp == 12.15
    assert len(EU433.tx_power_offsets) == 6
    assert CN779.rx2.frequency == 786_000_000
    assert CN779.class_b.beacon_frequencies == (785_000_000,)
    assert [ch.frequency for ch in CN779.uplink_channels()] == [779_500_000, 779_700_000, 779_900_000]


# --- CN470 §2.9 --------------------------------------------------------------------------------


def test_cn470_channel_plans() -> None:
    a20 = [ch.frequency for ch in CN470_20A.uplink_channels()]
    assert len(a20) == 64 and a20[0] == 470_300_000 and a20[31] == 476_500_000
    assert a20[32] == 503_500_000 and a20[63] == 509_700_000
    assert CN470_20A.rx1_frequency(470_300_000) == 483_900_000
    assert CN470_20A.rx1_frequency(503_500_000) == 490_300_000
    b20 = [ch.frequency for ch in CN470_20B.uplink_channels()]
    assert b20[0] == 476_900_000 and b20[32] == 496_900_000
    assert CN470_20B.rx1_frequency(477_100_000) == 477_100_000
    assert len(CN470_26A.uplink_channels()) == 48
    assert CN470_26A.rx1_frequency(470_300_000) == 490_100_000
    assert CN470_26A.rx1_frequency(475_100_000) == 490_100_000  # channel 24 -> 24 mod 24 = 0
    assert CN470_26B.rx1_frequency(489_700_000) == 504_700_000
    assert (CN470_20A.rx2.frequency, CN470_20B.rx2.frequency) == (486_900_000, 498_300_000)
    assert (CN470_26A.rx2.frequency, CN470_26B.rx2.frequency) == (492_500_000, 502_500_000)
    assert all(r.rx2.dr == 1 for r in (CN470_20A, CN470_20B, CN470_26A, CN470_26B))


def test_cn470_tables() -> None:
    with pytest.raises(InvalidDataRate):
        CN470_20A.max_payload_size(0)
    assert CN470_20A.max_payload_size(1) == MaxPayload(31, 23)
    assert CN470_20A.max_payload_size(3) == MaxPayload(192, 184)
    assert CN470_20A.rx1_data_rate(3, 5) == 1
    assert CN470_20A.data_rate(6).modulation == LoRaModulation(7, 500_000)
    assert CN470_20A.default_max_eirp == 19.15


def test_cn470_join_channels_pick_the_plan() -> None:
    assert cn470_for_join_frequency(470_900_000).plan is CN470Plan.A20
    assert cn470_for_join_frequency(470_900_000).rx2.frequency == 485_300_000
    assert cn470_for_join_frequency(504_100_000).rx2.frequency == 491_700_000
    assert cn470_for_join_frequency(504_100_000, otaa=False).rx2.frequency == 486_900_000
    assert cn470_for_join_frequency(499_900_000).plan is CN470Plan.B20
    assert cn470_for_join_frequency(499_900_000).rx2.frequency == 498_300_000
    assert cn470_for_join_frequency(479_900_000).rx2.frequency == 478_300_000
    assert cn470_for_join_frequency(478_300_000).plan is CN470Plan.A26
    assert cn470_for_join_frequency(488_300_000).plan is CN470Plan.B26
    with pytest.raises(InvalidChannel):
        cn470_for_join_frequency(470_500_000)


def test_cn470_class_b() -> None:
    assert CN470_26A.beacon_frequency(0) == 494_900_000
    assert CN470_26B.ping_slot_frequency(DevAddr.from_int(7), 999) == 504_900_000
    joined = cn470_for_join_frequency(472_500_000)  # 20 MHz plan A, join index 1 -> channels 8-15
    assert joined.beacon_frequency(0) == 483_900_000 + 8 * 200_000
    assert joined.ping_slot_frequency(DevAddr.from_int(3), 128) == 483_900_000 + 12 * 200_000
    b20 = cn470_for_join_frequency(499_900_000)  # plan B, join index 1 -> channel 55, pings 32-63
    assert b20.beacon_frequency(0) == 496_900_000 + 23 * 200_000
    assert b20.ping_slot_frequency(DevAddr.from_int(40), 0) == 496_900_000 + 8 * 200_000


# --- properties of every region --------------------------------------------------------------------


@pytest.mark.parametrize("region", ALL_REGIONS, ids=lambda r: r.name)
def test_every_region_is_consistent(region: Region) -> None:
    for dr in region.data_rates.values():
        # Every DR maps back to itself from its modulation, in its direction.
        direction = dr.uplink
        assert (
            region.data_rate(region.data_rate_index(dr.modulation, uplink=direction)).modulation
            == dr.modulation
        )
    for dr, m in region.max_mac_payload.items():
        assert region.max_payload_size(dr).n == m - 8
    for up_dr, row in region.rx1_dr_table.items():
        assert region.data_rate(up_dr).uplink
        assert all(region.data_rate(rx1).downlink for rx1 in row)
    for index, channel in enumerate(region.uplink_channels()):
        assert region.uplink_channel_index(channel.frequency) == index
        assert region.rx1_frequency(channel.frequency) > 0
    assert region.data_rate(region.rx2.dr).downlink
    assert region.join_channels
    assert region.tx_power_offsets[0] == 0
    assert region.timing.receive_delay2 == region.timing.receive_delay1 + 1
