"""A reference LoRaWAN end-device (class A, OTAA or ABP, 1.0.x or 1.1), as a state machine with no I/O.

It builds JoinRequests and uplinks, accepts JoinAccepts and downlinks, and answers MAC commands the way
the specification asks a device to. The network-server tests drive it as a real device would be driven,
and the simulator sends its frames through a packet forwarder.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from functions.lorawan import security
from functions.lorawan.cflist import CFListChannelMask, CFListFrequencies, decode_cf_list
from functions.lorawan.device.mac import handle_downlink_commands
from functions.lorawan.device.session import EndDeviceSession
from functions.lorawan.errors import DecodeError, FrameCounterReplay, InvalidMIC, LoRaWANError
from functions.lorawan.fcnt import full_f_cnt
from functions.lorawan.fhdr import FHDR, FCtrl
from functions.lorawan.join import JoinRequest
from functions.lorawan.keys import (
    join_server_keys,
    session_keys_1_0,
    session_keys_1_1,
    session_keys_1_1_opt_neg_unset,
)
from functions.lorawan.mac_commands import (
    DeviceTimeReq,
    LinkCheckReq,
    MACCommand,
    RekeyInd,
    ResetInd,
    decode_mac_commands,
    encode_mac_commands,
)
from functions.lorawan.phypayload import MHDR, MType, PHYPayload
from functions.lorawan.regions import Region
from functions.lorawan.regions.base import Channel
from functions.lorawan.types import EUI64, AES128Key

MAX_F_OPTS = 15


@dataclass(frozen=True)
class Uplink:
    """A frame ready for the air, with the radio settings the device chose."""

    phy_payload: bytes
    frequency: int
    data_rate: int
    channel: int
    f_cnt: int


@dataclass(frozen=True)
class Downlink:
    """What the device made of a downlink addressed to it."""

    f_port: int | None
    payload: bytes
    ack: bool
    f_pending: bool
    mac_commands: list[MACCommand]
    confirmed: bool


@dataclass
class EndDevice:
    """Create with `otaa(...)` or `abp(...)`; `lorawan_version` is "1.0.x" style ("1.0.3", "1.1.0")."""

    dev_eui: EUI64
    join_eui: EUI64
    region: Region
    lorawan_version: str = "1.0.3"
    app_key: AES128Key | None = None
    nwk_key: AES128Key | None = None
    session: EndDeviceSession | None = None
    dev_nonce: int = 0
    data_rate: int = 0
    tx_power_index: int = 0
    nb_trans: int = 1
    adr: bool = True
    battery: int = 255
    last_downlink_snr: float = 0.0
    rx1_delay: int = 1
    rx1_dr_offset: int = 0
    rx2_data_rate: int = 0
    rx2_frequency: int = 0
    max_duty_cycle: int = 0
    uplink_dwell_time: bool = False
    adr_ack_limit: int = 64
    adr_ack_delay: int = 32
    adr_ack_cnt: int = 0
    channels: dict[int, Channel] = field(default_factory=dict)
    enabled_channels: frozenset[int] = frozenset()
    downlink_frequencies: dict[int, int] = field(default_factory=dict)
    pending_answers: list[MACCommand] = field(default_factory=list)
    link_check: tuple[int, int] | None = None
    network_time: float | None = None
    forced_rejoin_type: int | None = None
    ping_slot_confirmed: bool = False
    awaiting_conf: bool = False
    awaiting_ack: int | None = None  # FCntUp of a confirmed uplink not yet acknowledged
    conf_f_cnt: int = 0  # FCntDown of the last confirmed downlink, echoed by 1.1 in the next uplink MIC
    ack_next: bool = False
    _pending_join: JoinRequest | None = None
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if not self.channels:
            self.channels = dict(enumerate(self.region.uplink_channel_list))
        if not self.enabled_channels:
            self.enabled_channels = frozenset(self.channels)
        self.rx1_delay = self.region.timing.receive_delay1
        self.rx2_data_rate = self.region.rx2.dr
        self.rx2_frequency = self.region.rx2.frequency
        self.adr_ack_limit = self.region.timing.adr_ack_limit
        self.adr_ack_delay = self.region.timing.adr_ack_delay

    @property
    def lorawan_1_1(self) -> bool:
        return self.lorawan_version.startswith("1.1")

    @property
    def defined_channels(self) -> frozenset[int]:
        return frozenset(self.channels)

    # -- activation ---------------------------------------------------------------------------

    def join_request(self) -> Uplink:
        """A JoinRequest on a random join channel. DevNonce counts up from 0 (1.0.4 and 1.1 require a
        counter; earlier 1.0 devices used random nonces, which the network must accept too)."""
        root = self.nwk_key if self.lorawan_1_1 else self.app_key
        if root is None:
            raise LoRaWANError("an OTAA device needs its root key")
        request = JoinRequest(self.join_eui, self.dev_eui, self.dev_nonce)
        self.dev_nonce = (self.dev_nonce + 1) & 0xFFFF
        self._pending_join = request
        phy = PHYPayload(MHDR(MType.JoinRequest), request)
        phy = phy.with_mic(security.join_request_mic(phy, root))
        channels = self.region.join_channel_list
        index = self.rng.randrange(len(channels))
        channel = channels[index]
        # ADR's range caps the 125 kHz channels; a channel whose only DR lies above it (US915/AU915's
        # 500 kHz join channels, DR4/DR6) still joins at that DR.
        dr = self.rng.randint(
            channel.min_dr, max(channel.min_dr, min(channel.max_dr, self.region.max_adr_dr))
        )
        return Uplink(phy.to_bytes(), channel.frequency, dr, index, 0)

    def accept_join(self, phy_payload: bytes) -> bool:
        """Take a JoinAccept answering the last JoinRequest; False (state unchanged) when it is not ours."""
        request = self._pending_join
        if request is None:
            return False
        try:
            phy = PHYPayload.from_bytes(phy_payload)
            if self.lorawan_1_1:
                assert self.nwk_key is not None and self.app_key is not None
                js = join_server_keys(self.nwk_key, self.dev_eui)
                accept, _, valid = security.open_join_accept(
                    phy, encryption_key=self.nwk_key, mic_key=self.nwk_key, join_eui=self.join_eui,
                    dev_nonce=request.dev_nonce,
                )  # fmt: skip
                if accept.dl_settings.opt_neg:
                    accept, _, valid = security.open_join_accept(
                        phy, encryption_key=self.nwk_key, mic_key=js.js_int_key, join_eui=self.join_eui,
                        dev_nonce=request.dev_nonce,
                    )  # fmt: skip
            else:
                assert self.app_key is not None
                accept, _, valid = security.open_join_accept(
                    phy, encryption_key=self.app_key, mic_key=self.app_key
                )
        except LoRaWANError:
            return False
        if not valid:
            return False
        if self.lorawan_1_1 and accept.dl_settings.opt_neg:
            assert self.nwk_key is not None and self.app_key is not None
            keys11 = session_keys_1_1(
                self.nwk_key, self.app_key, accept.join_nonce, self.join_eui, request.dev_nonce
            )
            self.session = EndDeviceSession.from_1_1(accept.dev_addr, keys11)
            self.awaiting_conf = True  # RekeyInd until RekeyConf (1.1 §5.10)
        elif self.lorawan_1_1:
            assert self.nwk_key is not None
            keys = session_keys_1_1_opt_neg_unset(
                self.nwk_key, accept.join_nonce, accept.net_id, request.dev_nonce
            )
            self.session = EndDeviceSession.from_1_1(accept.dev_addr, keys, lorawan_1_1=False)
        else:
            assert self.app_key is not None
            self.session = EndDeviceSession.from_1_0(
                accept.dev_addr,
                session_keys_1_0(self.app_key, accept.join_nonce, accept.net_id, request.dev_nonce),
            )
        self._pending_join = None
        self.rx1_dr_offset = accept.dl_settings.rx1_dr_offset
        self.rx2_data_rate = accept.dl_settings.rx2_dr
        self.rx1_delay = accept.rx1_delay_seconds
        self.pending_answers.clear()
        self.adr_ack_cnt = 0
        if accept.cf_list is not None:
            self._apply_cf_list(accept.cf_list)
        return True

    def _apply_cf_list(self, data: bytes) -> None:
        cf_list = decode_cf_list(data)
        if isinstance(cf_list, CFListFrequencies):
            first = len(self.region.uplink_channel_list)
            for offset, frequency in enumerate(cf_list.frequencies):
                if frequency:
                    default = self.region.uplink_channel_list[0]
                    self.channels[first + offset] = Channel(frequency, default.min_dr, default.max_dr)
            self.enabled_channels = frozenset(self.channels)
        elif isinstance(cf_list, CFListChannelMask):
            self.enabled_channels = frozenset(
                bit + 16 * block
                for block, mask in enumerate(cf_list.ch_masks)
                for bit in range(16)
                if mask >> bit & 1
            ) & frozenset(self.channels)

    # -- uplinks ------------------------------------------------------------------------------

    def uplink(
        self,
        f_port: int | None,
        payload: bytes = b"",
        *,
        confirmed: bool = False,
        link_check: bool = False,
        device_time: bool = False,
    ) -> Uplink:
        """The next data uplink; pending MAC answers ride in FOpts (or FPort 0 when they do not fit)."""
        session = self._require_session()
        commands = list(self.pending_answers)
        if self.awaiting_conf and self.lorawan_1_1:
            commands.insert(0, RekeyInd(minor=1))
        if link_check:
            commands.append(LinkCheckReq())
        if device_time:
            commands.append(DeviceTimeReq())
        f_opts = encode_mac_commands(commands)
        frm = payload
        if len(f_opts) > MAX_F_OPTS:
            if f_port not in (None, 0):
                raise LoRaWANError("MAC answers exceed FOpts; send them alone on FPort 0 first")
            f_port, frm, f_opts = 0, f_opts, b""
        self.pending_answers.clear()
        adr_ack_req = self._adr_backoff()
        f_ctrl = FCtrl(adr=self.adr, adr_ack_req=adr_ack_req, ack=self.ack_next)
        f_cnt = session.f_cnt_up
        m_type = MType.ConfirmedDataUp if confirmed else MType.UnconfirmedDataUp
        phy = security.data_frame(
            m_type, FHDR(session.dev_addr, f_ctrl, f_cnt, f_opts), f_port=f_port, frm_payload=frm
        )
        phy = security.encrypt_data_frame(
            phy, f_cnt=f_cnt, app_s_key=session.app_s_key, nwk_s_enc_key=session.nwk_s_enc_key,
            lorawan_1_1=session.lorawan_1_1,
        )  # fmt: skip
        index = self.rng.choice(sorted(self.enabled_channels))
        channel = self.channels[index]
        if session.lorawan_1_1:
            mic = security.uplink_mic_1_1(
                phy, session.f_nwk_s_int_key, session.s_nwk_s_int_key, f_cnt, conf_f_cnt=self.conf_f_cnt,
                tx_dr=self.data_rate, tx_ch=index,
            )  # fmt: skip
        else:
            mic = security.data_mic_1_0(phy, session.nwk_s_key, f_cnt)
        session.f_cnt_up = f_cnt + 1
        self.ack_next = False
        self.awaiting_ack = f_cnt if confirmed else None
        return Uplink(phy.with_mic(mic).to_bytes(), channel.frequency, self.data_rate, index, f_cnt)

    def _adr_backoff(self) -> bool:
        """ADR_ACK_CNT rules (1.0.4 §4.3.1.1): ask after ADR_ACK_LIMIT uplinks without a downlink, then
        step the data rate down every ADR_ACK_DELAY more."""
        if not self.adr:
            return False
        self.adr_ack_cnt += 1
        over = self.adr_ack_cnt - self.adr_ack_limit
        if over > 0 and over % self.adr_ack_delay == 0:
            if self.tx_power_index > 0:
                self.tx_power_index = 0
            elif self.data_rate > 0:
                self.data_rate -= 1
            else:
                self.enabled_channels = frozenset(self.channels)
        return self.adr_ack_cnt >= self.adr_ack_limit

    # -- downlinks ----------------------------------------------------------------------------

    def downlink(self, phy_payload: bytes, *, snr: float = 0.0) -> Downlink:
        """Accept a downlink: address, MIC and counter checked; MAC commands answered in the next uplink.

        Raises DecodeError / InvalidMIC / FrameCounterReplay for frames a device must drop.
        """
        session = self._require_session()
        phy = PHYPayload.from_bytes(phy_payload)
        if not phy.m_type.is_data or phy.uplink:
            raise DecodeError(f"{phy.m_type.name} is not a data downlink")
        mac = phy.mac_payload
        if mac.fhdr.dev_addr != session.dev_addr:
            raise DecodeError(f"downlink for {mac.fhdr.dev_addr}, not {session.dev_addr}")
        application = session.lorawan_1_1 and mac.f_port is not None and mac.f_port > 0
        expected = session.a_f_cnt_down if application or not session.lorawan_1_1 else session.n_f_cnt_down
        f_cnt = full_f_cnt(mac.fhdr.f_cnt, expected)
        if not session.fresh_down and f_cnt < expected:
            raise FrameCounterReplay(f_cnt, expected - 1)
        if session.lorawan_1_1:
            valid = security.downlink_mic_1_1(
                phy, session.s_nwk_s_int_key, f_cnt, conf_f_cnt=self.awaiting_ack or 0
            ) == phy.mic  # fmt: skip
        else:
            valid = security.data_mic_1_0(phy, session.nwk_s_key, f_cnt) == phy.mic
        if not valid:
            raise InvalidMIC("downlink MIC does not match this session")
        if application or not session.lorawan_1_1:
            session.a_f_cnt_down = f_cnt + 1
        else:
            session.n_f_cnt_down = f_cnt + 1
        session.fresh_down = False
        self.last_downlink_snr = snr
        self.adr_ack_cnt = 0
        f_opts = mac.fhdr.f_opts
        if session.lorawan_1_1 and f_opts:
            f_opts = security.decrypt_f_opts(phy, session.nwk_s_enc_key, f_cnt)
        commands = decode_mac_commands(f_opts, uplink=False)
        payload = b""
        if mac.f_port is not None and mac.frm_payload:
            key = session.nwk_s_enc_key if mac.f_port == 0 else session.app_s_key
            payload = security.decrypt_frm_payload(phy, key, f_cnt)
            if mac.f_port == 0:
                commands, payload = decode_mac_commands(payload, uplink=False), b""
        self.pending_answers += handle_downlink_commands(self, commands)
        if mac.fhdr.f_ctrl.ack:
            self.awaiting_ack = None
        confirmed = phy.m_type == MType.ConfirmedDataDown
        if confirmed:
            self.ack_next = True
            self.conf_f_cnt = f_cnt
        return Downlink(
            mac.f_port, payload, mac.fhdr.f_ctrl.ack, mac.fhdr.f_ctrl.f_pending, commands, confirmed
        )

    def reset_indication(self) -> None:
        """An ABP 1.1 device announces a reset with ResetInd in every uplink until ResetConf (1.1 §5.1)."""
        self.pending_answers.insert(0, ResetInd(minor=1))
        self.awaiting_conf = True

    def rx1(self, uplink: Uplink) -> tuple[int, int]:
        """(frequency, data rate) of the RX1 window after `uplink`."""
        frequency = self.downlink_frequencies.get(uplink.channel) or self.region.rx1_frequency(
            uplink.frequency, uplink.channel
        )
        return frequency, self.region.rx1_data_rate(uplink.data_rate, self.rx1_dr_offset)

    def rx2(self) -> tuple[int, int]:
        return self.rx2_frequency, self.rx2_data_rate

    def _require_session(self) -> EndDeviceSession:
        if self.session is None:
            raise LoRaWANError("the device has not joined yet")
        return self.session


def otaa(
    dev_eui: EUI64, join_eui: EUI64, region: Region, *, app_key: AES128Key, nwk_key: AES128Key | None = None,
    lorawan_version: str = "1.0.3", seed: int | None = None,
) -> EndDevice:  # fmt: skip
    """An OTAA device; for 1.1 give both root keys (for 1.0.x only the AppKey exists)."""
    if lorawan_version.startswith("1.1") and nwk_key is None:
        raise LoRaWANError("a LoRaWAN 1.1 device has a NwkKey as well as an AppKey")
    return EndDevice(
        dev_eui, join_eui, region, lorawan_version, app_key=app_key, nwk_key=nwk_key, rng=random.Random(seed)
    )


def abp(
    dev_eui: EUI64,
    region: Region,
    session: EndDeviceSession,
    *,
    lorawan_version: str = "1.0.3",
    seed: int | None = None,
) -> EndDevice:
    """An ABP device with its session keys and counters provisioned."""
    return EndDevice(
        dev_eui, EUI64(bytes(8)), region, lorawan_version, session=session, rng=random.Random(seed)
    )
