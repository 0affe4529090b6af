"""Frame-level security: MICs, payload and FOpts encryption, and JoinAccept sealing, applied to
`PHYPayload` objects. The primitives are in `crypto`; this module knows which key, counter and block
each message type uses, so callers (network server, join server, device model, CLI) do not.
"""

from __future__ import annotations

import hmac
from dataclasses import replace

from functions.lorawan import crypto
from functions.lorawan.errors import DecodeError, EncodeError, InvalidMIC
from functions.lorawan.fhdr import FHDR
from functions.lorawan.join import JoinAccept
from functions.lorawan.macpayload import MACPayload
from functions.lorawan.phypayload import MHDR, EncryptedJoinAccept, MType, PHYPayload
from functions.lorawan.types import EUI64, AES128Key

JOIN_REQUEST_TYPE = 0xFF  # JoinReqType in the 1.1 JoinAccept MIC when answering a JoinRequest


def _direction(phy: PHYPayload) -> int:
    return crypto.UPLINK if phy.uplink else crypto.DOWNLINK


def data_mic_1_0(phy: PHYPayload, nwk_s_key: AES128Key, f_cnt: int) -> bytes:
    """1.0.x MIC of a data frame; `f_cnt` is the full 32-bit counter."""
    mac = phy.mac_payload
    return crypto.data_mic_1_0(nwk_s_key, _direction(phy), mac.fhdr.dev_addr, f_cnt, phy.mic_input())


def uplink_mic_1_1(
    phy: PHYPayload,
    f_nwk_s_int_key: AES128Key,
    s_nwk_s_int_key: AES128Key,
    f_cnt: int,
    *,
    conf_f_cnt: int = 0,
    tx_dr: int,
    tx_ch: int,
) -> bytes:
    """1.1 uplink MIC. ConfFCnt counts only when the frame's ACK bit is set (1.1 §4.4.2); lora-packet also
    uses it for FPort 0 without ACK, which the spec does not say."""
    mac = phy.mac_payload
    conf = conf_f_cnt if mac.fhdr.f_ctrl.ack else 0
    return crypto.uplink_mic_1_1(
        f_nwk_s_int_key, s_nwk_s_int_key, mac.fhdr.dev_addr, f_cnt, phy.mic_input(), conf_f_cnt=conf,
        tx_dr=tx_dr, tx_ch=tx_ch,
    )  # fmt: skip


def downlink_mic_1_1(
    phy: PHYPayload, s_nwk_s_int_key: AES128Key, f_cnt: int, *, conf_f_cnt: int = 0
) -> bytes:
    """1.1 downlink MIC; ConfFCnt (the acknowledged uplink's counter) only when ACK is set."""
    mac = phy.mac_payload
    conf = conf_f_cnt if mac.fhdr.f_ctrl.ack else 0
    return crypto.downlink_mic_1_1(
        s_nwk_s_int_key, mac.fhdr.dev_addr, f_cnt, phy.mic_input(), conf_f_cnt=conf
    )


def join_request_mic(phy: PHYPayload, key: AES128Key) -> bytes:
    """MIC of a JoinRequest with AppKey (1.0) or NwkKey (1.1)."""
    if phy.m_type != MType.JoinRequest:
        raise DecodeError(f"{phy.m_type.name} is not a JoinRequest")
    return crypto.join_request_mic(key, phy.mic_input())


def rejoin_request_mic(phy: PHYPayload, key: AES128Key) -> bytes:
    """MIC of a RejoinRequest: SNwkSIntKey for types 0/2, JSIntKey for type 1 (1.1 §6.2.4.1)."""
    if phy.m_type != MType.RejoinRequest:
        raise DecodeError(f"{phy.m_type.name} is not a RejoinRequest")
    return crypto.rejoin_request_mic(key, phy.mic_input())


def verify(expected: bytes, actual: bytes) -> None:
    """Constant-time MIC comparison; raises InvalidMIC (with no key material) when they differ."""
    if not hmac.compare_digest(expected, actual):
        raise InvalidMIC(f"MIC {actual.hex()} does not match")


def decrypt_frm_payload(phy: PHYPayload, key: AES128Key, f_cnt: int) -> bytes:
    """FRMPayload in clear; the caller passes AppSKey, or NwkSKey/NwkSEncKey for FPort 0."""
    mac = phy.mac_payload
    return crypto.decrypt_frm_payload(key, _direction(phy), mac.fhdr.dev_addr, f_cnt, mac.frm_payload)


def decrypt_f_opts(phy: PHYPayload, nwk_s_enc_key: AES128Key, f_cnt: int) -> bytes:
    """1.1 FOpts in clear. A downlink with FPort > 0 carries AFCntDown: the errata's counter byte is 0x02."""
    mac = phy.mac_payload
    counter = crypto.FOPTS_NETWORK_COUNTER
    if not phy.uplink and mac.f_port is not None and mac.f_port > 0:
        counter = crypto.FOPTS_APPLICATION_COUNTER
    return crypto.decrypt_f_opts(
        nwk_s_enc_key, _direction(phy), mac.fhdr.dev_addr, f_cnt, mac.fhdr.f_opts, counter=counter
    )


def encrypt_data_frame(
    phy: PHYPayload, *, f_cnt: int, app_s_key: AES128Key, nwk_s_enc_key: AES128Key, lorawan_1_1: bool
) -> PHYPayload:
    """Encrypt FRMPayload (AppSKey, or the network key for FPort 0) and, for 1.1, FOpts; MIC not yet set."""
    mac = phy.mac_payload
    key = nwk_s_enc_key if mac.f_port == 0 else app_s_key
    direction = _direction(phy)
    frm = crypto.encrypt_frm_payload(key, direction, mac.fhdr.dev_addr, f_cnt, mac.frm_payload)
    f_opts = mac.fhdr.f_opts
    if lorawan_1_1 and f_opts:
        f_opts = decrypt_f_opts(phy, nwk_s_enc_key, f_cnt)  # XOR: encrypting is decrypting
    fhdr = replace(mac.fhdr, f_opts=f_opts)
    return PHYPayload(phy.mhdr, MACPayload(fhdr, mac.f_port, frm), phy.mic)


def seal_join_accept(
    join_accept: JoinAccept,
    *,
    encryption_key: AES128Key,
    mic_key: AES128Key,
    join_req_type: int = JOIN_REQUEST_TYPE,
    join_eui: EUI64 | None = None,
    dev_nonce: int | None = None,
) -> PHYPayload:
    """Compute the MIC and encrypt a JoinAccept.

    1.0 and 1.1 with OptNeg unset: MIC and encryption with AppKey (1.0) / NwkKey (1.1). 1.1 with OptNeg
    set: MIC with JSIntKey over JoinReqType|JoinEUI|DevNonce|MHDR|...; encryption with NwkKey for a
    JoinRequest and JSEncKey for a RejoinRequest (1.1 §6.2.3).
    """
    mhdr = MHDR(MType.JoinAccept)
    body = bytes((mhdr.to_byte(),)) + join_accept.to_bytes()
    if join_accept.dl_settings.opt_neg:
        if join_eui is None or dev_nonce is None:
            raise EncodeError("a 1.1 JoinAccept (OptNeg) MIC needs the JoinEUI and DevNonce")
        mic = crypto.join_accept_mic_1_1(mic_key, join_req_type, join_eui.to_wire(), dev_nonce, body)
    else:
        mic = crypto.join_accept_mic_1_0(mic_key, body)
    encrypted = crypto.encrypt_join_accept(encryption_key, join_accept.to_bytes() + mic)
    return PHYPayload(mhdr, EncryptedJoinAccept(encrypted), b"")


def open_join_accept(
    phy: PHYPayload,
    *,
    encryption_key: AES128Key,
    mic_key: AES128Key | None = None,
    join_req_type: int = JOIN_REQUEST_TYPE,
    join_eui: EUI64 | None = None,
    dev_nonce: int | None = None,
) -> tuple[JoinAccept, bytes, bool | None]:
    """Decrypt a JoinAccept; returns (fields, MIC, MIC valid or None when no MIC key was given).

    For OptNeg set the MIC check needs JoinEUI and DevNonce (what the device sent); without them the MIC
    is reported as not checked (None).
    """
    if not isinstance(phy.payload, EncryptedJoinAccept):
        raise DecodeError(f"{phy.m_type.name} is not a JoinAccept")
    plain = crypto.decrypt_join_accept(encryption_key, phy.payload.data)
    join_accept = JoinAccept.from_bytes(plain[:-4])
    mic = plain[-4:]
    if mic_key is None:
        return join_accept, mic, None
    body = bytes((phy.mhdr.to_byte(),)) + plain[:-4]
    if join_accept.dl_settings.opt_neg:
        if join_eui is None or dev_nonce is None:
            return join_accept, mic, None
        expected = crypto.join_accept_mic_1_1(mic_key, join_req_type, join_eui.to_wire(), dev_nonce, body)
    else:
        expected = crypto.join_accept_mic_1_0(mic_key, body)
    return join_accept, mic, hmac.compare_digest(expected, mic)


def data_frame(
    m_type: MType,
    fhdr: FHDR,
    *,
    f_port: int | None = None,
    frm_payload: bytes = b"",
) -> PHYPayload:
    """A data frame in clear, ready for `encrypt_data_frame` and a MIC."""
    if not m_type.is_data:
        raise EncodeError(f"{m_type.name} is not a data frame")
    return PHYPayload(MHDR(m_type), MACPayload(fhdr, f_port, frm_payload))
