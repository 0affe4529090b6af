"""Session and join-server key derivation (LoRaWAN 1.0.4 §6.2.5, 1.1 §6.2.2), and RFC 3394 key wrap for
the Backend Interfaces' key envelopes.

Identifiers are typed (`NetID`, `EUI64`) and nonces are integers; byte order is applied here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from functions.lorawan.crypto import aes_encrypt
from functions.lorawan.errors import DecodeError, EncodeError
from functions.lorawan.types import EUI64, AES128Key, NetID

_MAX_JOIN_NONCE = 0xFFFFFF
_MAX_DEV_NONCE = 0xFFFF


@dataclass(frozen=True, slots=True)
class SessionKeys10:
    """LoRaWAN 1.0.x session keys."""

    nwk_s_key: AES128Key
    app_s_key: AES128Key


@dataclass(frozen=True, slots=True)
class SessionKeys11:
    """LoRaWAN 1.1 session keys. With OptNeg unset (a 1.0 network) the three network keys are equal."""

    f_nwk_s_int_key: AES128Key
    s_nwk_s_int_key: AES128Key
    nwk_s_enc_key: AES128Key
    app_s_key: AES128Key


@dataclass(frozen=True, slots=True)
class JoinServerKeys:
    """Keys a 1.1 join server derives from NwkKey and DevEUI for join-accept MICs and rejoin encryption."""

    js_int_key: AES128Key
    js_enc_key: AES128Key


def _check_nonces(join_nonce: int, dev_nonce: int) -> None:
    if not 0 <= join_nonce <= _MAX_JOIN_NONCE:
        raise EncodeError(f"JoinNonce must be 24 bits, got {join_nonce}")
    if not 0 <= dev_nonce <= _MAX_DEV_NONCE:
        raise EncodeError(f"DevNonce must be 16 bits, got {dev_nonce}")


def _derive(key: AES128Key, prefix: int, body: bytes) -> AES128Key:
    block = bytes((prefix,)) + body
    return AES128Key(aes_encrypt(key, block + bytes(16 - len(block))))


def _join_nonce(join_nonce: int) -> bytes:
    return join_nonce.to_bytes(3, "little")


def session_keys_1_0(app_key: AES128Key, join_nonce: int, net_id: NetID, dev_nonce: int) -> SessionKeys10:
    """NwkSKey = aes(AppKey, 0x01|JoinNonce|NetID|DevNonce|pad), AppSKey with 0x02 (1.0.4 §6.2.5)."""
    _check_nonces(join_nonce, dev_nonce)
    body = _join_nonce(join_nonce) + net_id.to_wire() + struct.pack("<H", dev_nonce)
    return SessionKeys10(nwk_s_key=_derive(app_key, 0x01, body), app_s_key=_derive(app_key, 0x02, body))


def session_keys_1_1(
    nwk_key: AES128Key, app_key: AES128Key, join_nonce: int, join_eui: EUI64, dev_nonce: int
) -> SessionKeys11:
    """1.1, OptNeg set (§6.2.2): network keys from NwkKey (0x01, 0x03, 0x04), AppSKey from AppKey (0x02)."""
    _check_nonces(join_nonce, dev_nonce)
    body = _join_nonce(join_nonce) + join_eui.to_wire() + struct.pack("<H", dev_nonce)
    return SessionKeys11(
        f_nwk_s_int_key=_derive(nwk_key, 0x01, body),
        s_nwk_s_int_key=_derive(nwk_key, 0x03, body),
        nwk_s_enc_key=_derive(nwk_key, 0x04, body),
        app_s_key=_derive(app_key, 0x02, body),
    )


def session_keys_1_1_opt_neg_unset(
    nwk_key: AES128Key, join_nonce: int, net_id: NetID, dev_nonce: int
) -> SessionKeys11:
    """A 1.1 device joining a 1.0 network (OptNeg unset, 1.1 §6.2.2): the 1.0 derivation from NwkKey, and
    FNwkSIntKey = SNwkSIntKey = NwkSEncKey = NwkSKey."""
    keys = session_keys_1_0(nwk_key, join_nonce, net_id, dev_nonce)
    return SessionKeys11(keys.nwk_s_key, keys.nwk_s_key, keys.nwk_s_key, keys.app_s_key)


def join_server_keys(nwk_key: AES128Key, dev_eui: EUI64) -> JoinServerKeys:
    """JSIntKey = aes(NwkKey, 0x06|DevEUI|pad), JSEncKey with 0x05 (1.1 §6.2.1.1)."""
    body = dev_eui.to_wire()
    return JoinServerKeys(js_int_key=_derive(nwk_key, 0x06, body), js_enc_key=_derive(nwk_key, 0x05, body))


def wrap_key(kek: AES128Key, key: AES128Key) -> bytes:
    """RFC 3394 AES key wrap, as Backend Interfaces KeyEnvelope carries session keys (§6.3)."""
    return aes_key_wrap(kek.value, key.value)


def unwrap_key(kek: AES128Key, wrapped: bytes) -> AES128Key:
    """Undo `wrap_key`; a wrong KEK or a corrupted envelope raises DecodeError."""
    try:
        return AES128Key(aes_key_unwrap(kek.value, wrapped))
    except (InvalidUnwrap, ValueError) as exc:
        raise DecodeError("key envelope does not unwrap with this KEK") from exc
