"""Envelope encryption of key material at rest, with data keys reused for a while, as the AWS Encryption
SDK's caching cryptographic materials manager does.

On AWS the data keys come from KMS (GenerateDataKey to seal, Decrypt to open); in the local cloud a local
master key (LORALESS_LOCAL_MASTER_KEY, 32 bytes hex) wraps them with AES-GCM, through the same reuse and
cache. Blobs are self-describing (a JSON header: format, backend, wrapped data key, nonce), so tables never
hold a key in clear and a leaked item reveals nothing without the master key.

Format v2 (what `seal` writes): a warm environment seals every blob with one data key for at most
SEAL_SECONDS and SEAL_MESSAGES blobs, and keeps the data keys it has unwrapped (or generated) in memory, at
most CACHE_ENTRIES of them for CACHE_SECONDS each. An environment then makes one GenerateDataKey per
period and one Decrypt per distinct data key it meets per period, however many devices it serves; format
v1 (a data key per blob, one Decrypt per blob opened unless cached) cost two Decrypts per uplink, the
largest item of the bill (bench/README.md, "Cost per million uplinks").

What binds a blob to its owner: the AES-GCM associated data of a v2 blob is its header and the owner's
`context` (a DevEUI, `<application>#headers`, ...), so a blob copied into another device's item, or given
another wrapped key, does not open. A shared data key can no longer carry one owner in its KMS encryption
context, which names the purpose instead (KMS_CONTEXT; the KMS key itself is the deployment's own). What
that changes:
- a leaked item (a table row, a backup): nothing either way, without the right to call Decrypt with the
  stack's KMS key;
- a stolen plaintext data key (read from an environment's memory): v1 opened one blob, v2 opens every blob
  one environment sealed in one period (at most an hour and SEAL_MESSAGES blobs); but whoever reads that
  memory also holds the function's role credentials, and with them can have KMS open any blob, v1 or v2;
- CloudTrail: a v1 Decrypt named the device whose key was opened, a v2 one names only the purpose;
- revoking access (key disabled, grant removed) stops new Decrypts at once; keys already in memory keep
  working for up to CACHE_SECONDS.

Format v1 (a data key per blob, its KMS encryption context the blob's own context, associated data the
context alone) is still read, so blobs stored before v2 open as before; they are re-sealed as v2 only when
their owner writes them again (a join, a key change).

Format v3 (`seal_bytes`): v2's keys and binding in a binary header (version, backend, wrapped key length,
wrapped key, nonce) around plaintext bytes the caller packs, for a blob stored in an item written on every
uplink (the session's network keys), where each byte counts towards DynamoDB's 1 KB write unit: a KMS-wrapped
data key is 184 bytes raw against 368 in v2's hex JSON. v1 and v2 blobs start with a 2-byte header length
and the header's `{`, which tells them apart.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from functions.shared.settings import SETTINGS

VERSION = 2
COMPACT_VERSION = 3
_BACKENDS = ("local", "kms")  # v3's backend byte
# The KMS encryption context of a v2 data key ({"loraless": KMS_CONTEXT}): the purpose, not one owner.
KMS_CONTEXT = "key-envelope-v2"
# Sealing: one data key per environment for an hour (Lambda recycles environments within hours, so most
# make one to a few GenerateDataKey calls in their life; a stolen data key opens at most an hour of
# one environment's blobs) and at most 100,000 blobs (AES-GCM with random 96-bit nonces stays far below
# NIST SP 800-38D §8.3's 2^32 invocations per key; it also caps what one key exposes when a single
# environment seals in bulk, e.g. a device import through the API).
SEAL_SECONDS, SEAL_MESSAGES = 3600.0, 100_000
# Opening: unwrapped data keys kept no longer than the sealing side keeps its own (one exposure window of
# an hour, and revocation effective within it), and at most 4,096 of them (32 bytes each: memory is not the
# bound; blobs sealed long ago by many environments are, see `open_sealed`).
CACHE_ENTRIES, CACHE_SECONDS = 4096, 3600.0


class EnvelopeError(ValueError):
    """A blob that does not decrypt (wrong master key, tampered, another owner's, or not an envelope)."""


@dataclass
class _SealingKey:
    """The data key an environment seals with, until `expires` or `remaining` blobs are sealed."""

    master: tuple[str, str]  # (backend, master key identity): a key made under another is not reused
    plain: bytes
    wrapped: bytes
    expires: float
    remaining: int


@lru_cache(maxsize=1)
def _kms() -> Any:
    import boto3

    return boto3.client("kms", region_name=SETTINGS.aws_region)


def _master() -> tuple[str, str]:
    """(backend, identity of its master key): a hash of the local key; none needed for KMS."""
    if SETTINGS.local_master_key:
        return "local", hashlib.sha256(SETTINGS.local_master_key.encode()).hexdigest()[:16]
    if not SETTINGS.kms_key_id:
        raise EnvelopeError("no KMS_KEY_ID and no LORALESS_LOCAL_MASTER_KEY: cannot protect keys")
    return "kms", ""  # a KMS ciphertext names its own key: Decrypt needs no key id


def _wrap_data_key(context: str) -> tuple[bytes, bytes, str]:
    """A new data key from the master key: (plaintext, wrapped, backend). A GenerateDataKey call on AWS."""
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
    """A wrapped data key opened by the master key. A Decrypt call on AWS."""
    if backend == "local":
        if not SETTINGS.local_master_key:
            raise EnvelopeError("a local envelope needs LORALESS_LOCAL_MASTER_KEY")
        try:
            return AESGCM(bytes.fromhex(SETTINGS.local_master_key)).decrypt(
                wrapped[:12], wrapped[12:], context.encode()
            )
        except Exception as exc:
            raise EnvelopeError("data key does not unwrap") from exc
    if backend != "kms":
        raise EnvelopeError(f"unknown envelope backend {backend!r}")
    response = _kms().decrypt(CiphertextBlob=wrapped, EncryptionContext={"loraless": context})
    return bytes(response["Plaintext"])


class _DataKeys:
    """One environment's data keys: the one it seals with, and those it has unwrapped (or generated),
    keyed by (backend, master key identity, wrapped key, KMS context), oldest first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.sealing: _SealingKey | None = None
        self.unwrapped: dict[tuple[str, str, bytes, str], tuple[float, bytes]] = {}

    def for_sealing(self) -> tuple[bytes, bytes, str]:
        """(plaintext, wrapped, backend) of the current data key; a new one past SEAL_SECONDS or
        SEAL_MESSAGES, or when the master key changed."""
        master = _master()
        with self.lock:  # held across GenerateDataKey: concurrent sealers wait for one new key
            now = self.clock()
            key = self.sealing
            if key is None or key.master != master or key.expires <= now or key.remaining <= 0:
                plain, wrapped, backend = _wrap_data_key(KMS_CONTEXT)
                key = self.sealing = _SealingKey(master, plain, wrapped, now + SEAL_SECONDS, SEAL_MESSAGES)
                self._remember((backend, master[1], wrapped, KMS_CONTEXT), plain, now)  # own blobs open free
            key.remaining -= 1
            return key.plain, key.wrapped, master[0]

    def for_opening(self, wrapped: bytes, backend: str, kms_context: str) -> bytes:
        """The data key of a blob: from memory, else unwrapped by the master key and kept."""
        identity = _master()[1] if backend == "local" and SETTINGS.local_master_key else ""
        entry = (backend, identity, wrapped, kms_context)
        with self.lock:
            cached = self.unwrapped.get(entry)
            if cached is not None and cached[0] > self.clock():
                return cached[1]
        data_key = _unwrap_data_key(wrapped, backend, kms_context)  # outside the lock: a network call
        with self.lock:
            self._remember(entry, data_key, self.clock())
        return data_key

    def _remember(self, entry: tuple[str, str, bytes, str], data_key: bytes, now: float) -> None:
        """Keep a data key for CACHE_SECONDS (lock held); the oldest goes when CACHE_ENTRIES are kept."""
        self.unwrapped.pop(entry, None)
        while len(self.unwrapped) >= CACHE_ENTRIES:
            self.unwrapped.pop(next(iter(self.unwrapped)))
        self.unwrapped[entry] = (now + CACHE_SECONDS, data_key)


_KEYS = _DataKeys()  # this process's (a Lambda environment's)


def seal(values: dict[str, str], *, context: str) -> bytes:
    """Encrypt a small dict of hex keys; `context` (e.g. the DevEUI) binds the blob to its owner."""
    data_key, wrapped, backend = _KEYS.for_sealing()
    nonce = secrets.token_bytes(12)
    header = json.dumps({"v": VERSION, "b": backend, "k": wrapped.hex(), "n": nonce.hex()}).encode()
    prefix = len(header).to_bytes(2, "big") + header
    ciphertext = AESGCM(data_key).encrypt(nonce, json.dumps(values).encode(), prefix + context.encode())
    return prefix + ciphertext


def seal_bytes(plain: bytes, *, context: str) -> bytes:
    """Encrypt `plain` as a v3 blob bound to `context`: v2's data key reuse and binding, a binary header."""
    data_key, wrapped, backend = _KEYS.for_sealing()
    nonce = secrets.token_bytes(12)
    header = (
        bytes([COMPACT_VERSION, _BACKENDS.index(backend)]) + len(wrapped).to_bytes(2, "big") + wrapped + nonce
    )
    return header + AESGCM(data_key).encrypt(nonce, plain, header + context.encode())


def is_compact(blob: bytes) -> bool:
    """Whether a blob is v3 (`seal_bytes`), rather than v1 or v2 (a 2-byte length, then the JSON header)."""
    return len(blob) > 2 and blob[0] == COMPACT_VERSION and blob[2] != ord("{")


def open_bytes(blob: bytes, *, context: str) -> bytes:
    """The plaintext of a v3, v2 or v1 blob sealed for `context`. A Decrypt only for a data key this
    environment has not met in CACHE_SECONDS: one per sealing period of every environment whose blobs it
    opens, so a fleet whose live blobs were sealed over many periods (sessions made at joins spread over
    months) costs up to one Decrypt per such key per hour, still not one per blob."""
    try:
        if is_compact(blob):
            size = int.from_bytes(blob[2:4], "big")
            wrapped, nonce = blob[4 : 4 + size], blob[4 + size : 16 + size]
            data_key = _KEYS.for_opening(wrapped, _BACKENDS[blob[1]], KMS_CONTEXT)
            return AESGCM(data_key).decrypt(nonce, blob[16 + size :], blob[: 16 + size] + context.encode())
        size = int.from_bytes(blob[:2], "big")
        header = json.loads(blob[2 : 2 + size])
        wrapped, backend, nonce = bytes.fromhex(header["k"]), header["b"], bytes.fromhex(header["n"])
        if header["v"] == 2:
            data_key = _KEYS.for_opening(wrapped, backend, KMS_CONTEXT)
            associated = blob[: 2 + size] + context.encode()
        elif header["v"] == 1:
            data_key = _KEYS.for_opening(wrapped, backend, context)
            associated = context.encode()
        else:
            raise EnvelopeError(f"unknown envelope version {header['v']!r}")
        return AESGCM(data_key).decrypt(nonce, blob[2 + size :], associated)
    except EnvelopeError:
        raise
    except Exception as exc:
        raise EnvelopeError("blob does not decrypt in this context") from exc


def open_sealed(blob: bytes, *, context: str) -> dict[str, str]:
    """The values of a blob `seal` wrote (v2, or v1 before it) for `context`; see `open_bytes`."""
    values: dict[str, str] = json.loads(open_bytes(blob, context=context))
    return values
