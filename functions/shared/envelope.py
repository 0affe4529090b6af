"""Envelope encryption of key material at rest: each blob gets its own data key.

On AWS the data key comes from KMS (GenerateDataKey / Decrypt, bound to an encryption context); in the
local cloud a local master key (LORALESS_LOCAL_MASTER_KEY, 32 bytes hex) wraps it with AES-GCM. The blob
is self-describing, so tables never hold a key in clear and a leaked item reveals nothing without KMS.
"""

from __future__ import annotations

import json
import secrets
import time
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from functions.shared.settings import SETTINGS

VERSION = 1
# KMS Decrypt results kept in the function's memory for a while (as the AWS Encryption SDK's caching
# materials manager does): a warm Lambda then opens a device's keys without a KMS call per frame, which
# was the largest item of the cost per uplink (bench/README.md). Bounded in entries and age.
CACHE_ENTRIES, CACHE_SECONDS = 4096, 300.0
_UNWRAPPED: dict[tuple[bytes, str], tuple[float, bytes]] = {}


class EnvelopeError(ValueError):
    """A blob that does not decrypt (wrong master key, tampered, or not an envelope)."""


@lru_cache(maxsize=1)
def _kms() -> Any:
    import boto3

    return boto3.client("kms", region_name=SETTINGS.aws_region)


def _wrap_data_key(context: str) -> tuple[bytes, bytes, str]:
    """(plaintext data key, wrapped data key, backend)."""
    if SETTINGS.local_master_key:
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = secrets.token_bytes(12)
        master = AESGCM(bytes.fromhex(SETTINGS.local_master_key))
        return data_key, nonce + master.encrypt(nonce, data_key, context.encode()), "local"
    if not SETTINGS.kms_key_id:
        raise EnvelopeError("no KMS_KEY_ID and no LORALESS_LOCAL_MASTER_KEY: cannot protect keys")
    response = _kms().generate_data_key(
        KeyId=SETTINGS.kms_key_id, KeySpec="AES_256", EncryptionContext={"loraless": context}
    )
    return response["Plaintext"], response["CiphertextBlob"], "kms"


def _unwrap_data_key(wrapped: bytes, backend: str, context: str) -> bytes:
    if backend == "local":
        if not SETTINGS.local_master_key:
            raise EnvelopeError("a local envelope needs LORALESS_LOCAL_MASTER_KEY")
        try:
            return AESGCM(bytes.fromhex(SETTINGS.local_master_key)).decrypt(
                wrapped[:12], wrapped[12:], context.encode()
            )
        except Exception as exc:
            raise EnvelopeError("data key does not unwrap") from exc
    cached = _UNWRAPPED.get((wrapped, context))
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    response = _kms().decrypt(CiphertextBlob=wrapped, EncryptionContext={"loraless": context})
    data_key = bytes(response["Plaintext"])
    if len(_UNWRAPPED) >= CACHE_ENTRIES:
        _UNWRAPPED.pop(next(iter(_UNWRAPPED)))  # the oldest
    _UNWRAPPED[(wrapped, context)] = (now + CACHE_SECONDS, data_key)
    return data_key


def seal(values: dict[str, str], *, context: str) -> bytes:
    """Encrypt a small dict of hex keys; `context` (e.g. the DevEUI) binds the blob to its owner."""
    data_key, wrapped, backend = _wrap_data_key(context)
    nonce = secrets.token_bytes(12)
    ciphertext = AESGCM(data_key).encrypt(nonce, json.dumps(values).encode(), context.encode())
    header = json.dumps({"v": VERSION, "b": backend, "k": wrapped.hex(), "n": nonce.hex()}).encode()
    return len(header).to_bytes(2, "big") + header + ciphertext


def open_sealed(blob: bytes, *, context: str) -> dict[str, str]:
    try:
        size = int.from_bytes(blob[:2], "big")
        header = json.loads(blob[2 : 2 + size])
        data_key = _unwrap_data_key(bytes.fromhex(header["k"]), header["b"], context)
        plain = AESGCM(data_key).decrypt(bytes.fromhex(header["n"]), blob[2 + size :], context.encode())
    except EnvelopeError:
        raise
    except Exception as exc:
        raise EnvelopeError("blob does not decrypt in this context") from exc
    values: dict[str, str] = json.loads(plain)
    return values
