"""AES-CMAC message integrity codes and AES encryption of LoRaWAN 1.0.x and 1.1 frames.

Everything takes wire-order bytes for the frame and typed values for identifiers, so the byte-order
rules live in one place. The AES primitives come from `cryptography`; cipher objects are cached per
key because the network server checks many frames with few keys (the hot path: measure in bench/).
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from functions.lorawan.errors import EncodeError, InvalidLength
from functions.lorawan.types import AES128Key, DevAddr

UPLINK: Final = 0
DOWNLINK: Final = 1
BLOCK: Final = 16

# LoRaWAN 1.1 errata on FOpts encryption (adopted by every public implementation): byte 4 of the A block
# tells which counter the frame carries.
FOPTS_NETWORK_COUNTER: Final = 0x01  # FCntUp, or NFCntDown (FPort 0 or absent)
FOPTS_APPLICATION_COUNTER: Final = 0x02  # AFCntDown (downlink with FPort > 0)


@lru_cache(maxsize=4096)
def _cipher(key: bytes) -> Cipher[modes.ECB]:
    return Cipher(algorithms.AES(key), modes.ECB())


def aes_encrypt(key: AES128Key, data: bytes) -> bytes:
    """AES-128 in ECB over whole blocks (key derivation, keystreams, join-accept decryption)."""
    encryptor = _cipher(key.value).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def aes_decrypt(key: AES128Key, data: bytes) -> bytes:
    """AES-128 decryption in ECB; the network side 'encrypts' a JoinAccept with it (LoRaWAN 1.1 §6.2.3)."""
    decryptor = _cipher(key.value).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def aes_cmac(key: AES128Key, data: bytes) -> bytes:
    """The full 16-byte AES-CMAC (RFC 4493); MICs are its first four bytes."""
    cmac = CMAC(algorithms.AES(key.value))
    cmac.update(data)
    return cmac.finalize()


def _block(first: int, word: bytes, direction: int, dev_addr: DevAddr, f_cnt: int, last: int) -> bytes:
    """The B0/B1/Ai block layout shared by MIC and encryption: 1 | 4 | Dir | DevAddr | FCnt | 0 | last."""
    return struct.pack("<B4sB4sIBB", first, word, direction, dev_addr.to_wire(), f_cnt & 0xFFFFFFFF, 0, last)


def data_mic_1_0(key: AES128Key, direction: int, dev_addr: DevAddr, f_cnt: int, msg: bytes) -> bytes:
    """LoRaWAN 1.0.x data-frame MIC over MHDR|FHDR|FPort|FRMPayload with NwkSKey (1.0.4 §4.4)."""
    b0 = _block(0x49, b"\x00\x00\x00\x00", direction, dev_addr, f_cnt, len(msg))
    return aes_cmac(key, b0 + msg)[:4]


def uplink_mic_1_1(
    f_nwk_s_int_key: AES128Key,
    s_nwk_s_int_key: AES128Key,
    dev_addr: DevAddr,
    f_cnt_up: int,
    msg: bytes,
    *,
    conf_f_cnt: int = 0,
    tx_dr: int,
    tx_ch: int,
) -> bytes:
    """LoRaWAN 1.1 uplink MIC (§4.4.2): cmacS[0..1] | cmacF[0..1].

    `conf_f_cnt` is the frame counter of the confirmed downlink this frame acknowledges (ACK set),
    else 0; `tx_dr`/`tx_ch` are the data rate and channel index the uplink was sent on.
    """
    b0 = _block(0x49, b"\x00\x00\x00\x00", UPLINK, dev_addr, f_cnt_up, len(msg))
    word = struct.pack("<HBB", conf_f_cnt & 0xFFFF, tx_dr, tx_ch)
    b1 = _block(0x49, word, UPLINK, dev_addr, f_cnt_up, len(msg))
    cmac_s = aes_cmac(s_nwk_s_int_key, b1 + msg)
    cmac_f = aes_cmac(f_nwk_s_int_key, b0 + msg)
    return cmac_s[:2] + cmac_f[:2]


def downlink_mic_1_1(
    s_nwk_s_int_key: AES128Key, dev_addr: DevAddr, f_cnt_down: int, msg: bytes, *, conf_f_cnt: int = 0
) -> bytes:
    """LoRaWAN 1.1 downlink MIC (§4.4.1): `conf_f_cnt` is the acknowledged uplink's FCntUp when ACK is set."""
    word = struct.pack("<HH", conf_f_cnt & 0xFFFF, 0)
    b0 = _block(0x49, word, DOWNLINK, dev_addr, f_cnt_down, len(msg))
    return aes_cmac(s_nwk_s_int_key, b0 + msg)[:4]


def _keystream(key: AES128Key, blocks: list[bytes]) -> bytes:
    return aes_encrypt(key, b"".join(blocks))


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream[: len(data)], "big")).to_bytes(
        len(data), "big"
    )


def encrypt_frm_payload(
    key: AES128Key, direction: int, dev_addr: DevAddr, f_cnt: int, payload: bytes
) -> bytes:
    """FRMPayload encryption (1.0.4 §4.3.3, 1.1 §4.3.3): XOR with AES(K, A_i); its own inverse.

    K is AppSKey for FPort > 0 and NwkSKey (1.0) / NwkSEncKey (1.1) for FPort 0; the caller chooses.
    """
    if not payload:
        return b""
    count = (len(payload) + BLOCK - 1) // BLOCK
    blocks = [_block(0x01, b"\x00\x00\x00\x00", direction, dev_addr, f_cnt, i) for i in range(1, count + 1)]
    return _xor(payload, _keystream(key, blocks))


decrypt_frm_payload = encrypt_frm_payload


def encrypt_f_opts(
    nwk_s_enc_key: AES128Key,
    direction: int,
    dev_addr: DevAddr,
    f_cnt: int,
    f_opts: bytes,
    *,
    counter: int = FOPTS_NETWORK_COUNTER,
) -> bytes:
    """LoRaWAN 1.1 FOpts encryption with NwkSEncKey, following the 1.1 errata (§4.3.1.6).

    A = 0x01 | 0x00 0x00 0x00 | counter | Dir | DevAddr | FCnt | 0x00 | 0x01, where `counter` is
    FOPTS_APPLICATION_COUNTER for a downlink that carries AFCntDown (FPort > 0), else
    FOPTS_NETWORK_COUNTER. The original 2017 text (four zero bytes, a final 0x00) is superseded:
    every public implementation and the vectors follow the errata.
    """
    if len(f_opts) > 15:
        raise EncodeError(f"FOpts is at most 15 bytes, got {len(f_opts)}")
    if not f_opts:
        return b""
    a = _block(0x01, bytes((0, 0, 0, counter)), direction, dev_addr, f_cnt, 0x01)
    return _xor(f_opts, aes_encrypt(nwk_s_enc_key, a))


decrypt_f_opts = encrypt_f_opts


def join_request_mic(key: AES128Key, msg: bytes) -> bytes:
    """MIC of MHDR|JoinEUI|DevEUI|DevNonce with AppKey (1.0) or NwkKey (1.1) (§6.2.5)."""
    return aes_cmac(key, msg)[:4]


def rejoin_request_mic(key: AES128Key, msg: bytes) -> bytes:
    """MIC of a RejoinRequest: SNwkSIntKey for types 0 and 2, JSIntKey for type 1 (1.1 §6.2.4)."""
    return aes_cmac(key, msg)[:4]


def join_accept_mic_1_0(key: AES128Key, msg: bytes) -> bytes:
    """JoinAccept MIC for 1.0 (and 1.1 with OptNeg unset) over MHDR|JoinNonce|NetID|DevAddr|...|CFList."""
    return aes_cmac(key, msg)[:4]


def join_accept_mic_1_1(
    js_int_key: AES128Key, join_req_type: int, join_eui: bytes, dev_nonce: int, msg: bytes
) -> bytes:
    """1.1 JoinAccept MIC (OptNeg set, §6.2.3): JSIntKey over JoinReqType|JoinEUI|DevNonce|MHDR|...|CFList.

    `join_eui` is in wire order; JoinReqType is 0xFF for a JoinRequest, else the RejoinRequest type.
    """
    prefix = bytes((join_req_type,)) + join_eui + struct.pack("<H", dev_nonce)
    return aes_cmac(js_int_key, prefix + msg)[:4]


def encrypt_join_accept(key: AES128Key, payload_and_mic: bytes) -> bytes:
    """Encrypt MACPayload|MIC of a JoinAccept (the network applies AES *decryption*, §6.2.3)."""
    if len(payload_and_mic) % BLOCK:
        raise EncodeError(f"JoinAccept payload and MIC must be 16 or 32 bytes, got {len(payload_and_mic)}")
    return aes_decrypt(key, payload_and_mic)


def decrypt_join_accept(key: AES128Key, encrypted: bytes) -> bytes:
    """Undo `encrypt_join_accept` (the device applies AES encryption)."""
    if len(encrypted) not in (16, 32):
        raise InvalidLength("JoinAccept MACPayload|MIC", len(encrypted), "16 or 32")
    return aes_encrypt(key, encrypted)
