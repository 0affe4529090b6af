"""Key envelopes: sealed blobs open only with the same master key and owner context; a warm environment
reuses one data key for many blobs (format v2) and still opens the format v1 blobs stored before it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from functions.shared import envelope

DEV_EUI, OTHER_EUI = "0004a30b001c0530", "0004a30b001c0531"
LOCAL_MASTER = "22" * 32
# Sealed by the v1 code (commit 3f0f5a2: a data key per blob, wrapped by this local master key with the
# blob's context) for DEV_EUI; what tables written before v2 hold.
V1_LOCAL_BLOB = bytes.fromhex(
    "00b87b2276223a20312c202262223a20226c6f63616c222c20226b223a2022653332613037623234396236613335666238"
    "333330373063383530623639633733633364326135363365353434663362343732346462376538333464626139633238"
    "623361313731653063346563363865313062393839346164326566616465653431646665613364316230643138343237"
    "653032303862222c20226e223a2022353138396164316432306363643137616132363334396633227d01f5705cf5921e"
    "ee1585bc14b439c92cde5e3a712c3af3f6061b83f23ecf0204aac6220be5f9c7bf3fb345816c20c1a8954fee68311fa"
    "aabc09afb2b73d13e73b278f5420868c623ff0072323559fbbf06edf4be3f2d8a20641405a2a750d51fc40a6ff7805"
    "0cc7ed6281d22350c30531d9ef0959f77"
)
V1_LOCAL_VALUES = {"nwk_s_enc_key": "44" * 16, "app_s_key": "55" * 16}


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class CountingKms:
    """moto's KMS (the one part of AWS that stands in here), counting the calls an environment makes."""

    client: Any
    calls: list[str] = field(default_factory=list)

    def generate_data_key(self, **kwargs: Any) -> Any:
        self.calls.append("GenerateDataKey")
        return self.client.generate_data_key(**kwargs)

    def decrypt(self, **kwargs: Any) -> Any:
        self.calls.append("Decrypt")
        return self.client.decrypt(**kwargs)


@pytest.fixture
def kms(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingKms]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        client = boto3.client("kms", region_name="eu-west-1")
        counting = CountingKms(client)
        monkeypatch.setattr(envelope, "_kms", lambda: counting)
        monkeypatch.setattr(envelope.SETTINGS, "local_master_key", None, raising=False)
        monkeypatch.setattr(envelope.SETTINGS, "kms_key_id", client.create_key()["KeyMetadata"]["KeyId"])
        yield counting


def environment(monkeypatch: pytest.MonkeyPatch, clock: Clock | None = None) -> envelope._DataKeys:
    """A fresh Lambda environment: no data key to seal with, nothing unwrapped."""
    keys = envelope._DataKeys(clock=clock or Clock())
    monkeypatch.setattr(envelope, "_KEYS", keys)
    return keys


def header(blob: bytes) -> dict[str, Any]:
    size = int.from_bytes(blob[:2], "big")
    parsed: dict[str, Any] = json.loads(blob[2 : 2 + size])
    return parsed


def with_header(blob: bytes, **changes: Any) -> bytes:
    size = int.from_bytes(blob[:2], "big")
    text = json.dumps(header(blob) | changes).encode()
    return len(text).to_bytes(2, "big") + text + blob[2 + size :]


def contexts(n: int) -> list[str]:
    return [f"0004a30b00{i:06x}" for i in range(n)]


def test_seal_and_open_round_trip_bound_to_the_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(envelope.SETTINGS, "local_master_key", LOCAL_MASTER, raising=False)
    environment(monkeypatch)
    blob = envelope.seal({"app_key": "00112233445566778899aabbccddeeff"}, context=DEV_EUI)
    assert b"00112233445566778899aabbccddeeff" not in blob
    assert header(blob)["v"] == 2
    assert envelope.open_sealed(blob, context=DEV_EUI) == {"app_key": "00112233445566778899aabbccddeeff"}
    with pytest.raises(envelope.EnvelopeError):  # the blob copied into another device's item
        envelope.open_sealed(blob, context=OTHER_EUI)
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(envelope.EnvelopeError):
        envelope.open_sealed(bytes(tampered), context=DEV_EUI)


def test_another_master_key_cannot_open_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(envelope.SETTINGS, "local_master_key", LOCAL_MASTER, raising=False)
    environment(monkeypatch)
    blob = envelope.seal({"k": "v"}, context="c")
    monkeypatch.setattr(envelope.SETTINGS, "local_master_key", "33" * 32, raising=False)
    with pytest.raises(envelope.EnvelopeError):  # even though this environment holds the data key
        envelope.open_sealed(blob, context="c")
    environment(monkeypatch)
    with pytest.raises(envelope.EnvelopeError):
        envelope.open_sealed(blob, context="c")


def test_local_backend_reuses_its_data_key_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local cloud's master key goes through the same reuse, so it counts as AWS would."""
    monkeypatch.setattr(envelope.SETTINGS, "local_master_key", LOCAL_MASTER, raising=False)
    calls: list[str] = []
    wrap, unwrap = envelope._wrap_data_key, envelope._unwrap_data_key
    monkeypatch.setattr(envelope, "_wrap_data_key", lambda c: calls.append("wrap") or wrap(c))
    monkeypatch.setattr(envelope, "_unwrap_data_key", lambda *a: calls.append("unwrap") or unwrap(*a))
    environment(monkeypatch)
    blobs = {c: envelope.seal({"app_s_key": c * 2}, context=c) for c in contexts(20)}
    environment(monkeypatch)  # another environment opens them
    for owner, blob in blobs.items():
        assert envelope.open_sealed(blob, context=owner) == {"app_s_key": owner * 2}
    assert calls == ["wrap", "unwrap"]
    assert len({header(b)["k"] for b in blobs.values()}) == 1


def test_one_data_key_for_many_devices_and_one_decrypt_per_environment(
    monkeypatch: pytest.MonkeyPatch, kms: CountingKms
) -> None:
    sealer = environment(monkeypatch)
    blobs = {c: envelope.seal({"nwk_s_enc_key": c * 2}, context=c) for c in contexts(50)}
    for owner, blob in blobs.items():  # the sealing environment opens its own blobs for free
        assert envelope.open_sealed(blob, context=owner) == {"nwk_s_enc_key": owner * 2}
    assert kms.calls == ["GenerateDataKey"]
    assert sealer.sealing is not None and sealer.sealing.remaining == envelope.SEAL_MESSAGES - 50

    for _ in range(2):  # two other environments, each opening every blob three times
        environment(monkeypatch)
        kms.calls.clear()
        for _ in range(3):
            for owner, blob in blobs.items():
                assert envelope.open_sealed(blob, context=owner) == {"nwk_s_enc_key": owner * 2}
        assert kms.calls == ["Decrypt"]

    owner, blob = next(iter(blobs.items()))
    with pytest.raises(envelope.EnvelopeError):  # held data key, wrong owner: the associated data fails
        envelope.open_sealed(blob, context=OTHER_EUI)
    assert kms.calls == ["Decrypt"]

    # The shared data key's KMS encryption context names the purpose, not a device.
    wrapped = bytes.fromhex(header(blob)["k"])
    kms.client.decrypt(CiphertextBlob=wrapped, EncryptionContext={"loraless": envelope.KMS_CONTEXT})
    with pytest.raises(kms.client.exceptions.InvalidCiphertextException):
        kms.client.decrypt(CiphertextBlob=wrapped, EncryptionContext={"loraless": owner})


def test_a_new_data_key_after_the_count_limit(monkeypatch: pytest.MonkeyPatch, kms: CountingKms) -> None:
    monkeypatch.setattr(envelope, "SEAL_MESSAGES", 3)
    environment(monkeypatch)
    blobs = [envelope.seal({"k": str(i)}, context=c) for i, c in enumerate(contexts(7))]
    assert kms.calls == ["GenerateDataKey"] * 3
    assert [header(b)["k"] for b in blobs].count(header(blobs[0])["k"]) == 3
    assert len({header(b)["k"] for b in blobs}) == 3


def test_a_new_data_key_after_the_age_limit_and_unwrapped_keys_expire(
    monkeypatch: pytest.MonkeyPatch, kms: CountingKms
) -> None:
    clock = Clock()
    environment(monkeypatch, clock)
    first = envelope.seal({"k": "1"}, context=DEV_EUI)
    clock.now += envelope.SEAL_SECONDS - 1
    second = envelope.seal({"k": "2"}, context=OTHER_EUI)
    clock.now += 1
    third = envelope.seal({"k": "3"}, context=DEV_EUI)
    assert kms.calls == ["GenerateDataKey"] * 2
    assert header(first)["k"] == header(second)["k"] != header(third)["k"]

    opener = environment(monkeypatch, clock)
    kms.calls.clear()
    envelope.open_sealed(first, context=DEV_EUI)
    envelope.open_sealed(second, context=OTHER_EUI)
    clock.now += envelope.CACHE_SECONDS - 1
    envelope.open_sealed(first, context=DEV_EUI)
    assert kms.calls == ["Decrypt"]
    clock.now += 1  # expired: unwrapped again
    envelope.open_sealed(second, context=OTHER_EUI)
    assert kms.calls == ["Decrypt"] * 2
    assert len(opener.unwrapped) == 1


def test_the_cache_is_bounded_in_entries(monkeypatch: pytest.MonkeyPatch, kms: CountingKms) -> None:
    monkeypatch.setattr(envelope, "SEAL_MESSAGES", 1)  # every blob its own data key
    monkeypatch.setattr(envelope, "CACHE_ENTRIES", 4)
    environment(monkeypatch)
    blobs = [envelope.seal({"k": "v"}, context=DEV_EUI) for _ in range(6)]
    opener = environment(monkeypatch)
    kms.calls.clear()
    for blob in blobs:
        envelope.open_sealed(blob, context=DEV_EUI)
    assert len(opener.unwrapped) == 4
    envelope.open_sealed(blobs[-1], context=DEV_EUI)  # kept
    envelope.open_sealed(blobs[0], context=DEV_EUI)  # the oldest, evicted
    assert kms.calls == ["Decrypt"] * 7


def test_tampered_blobs_do_not_open(monkeypatch: pytest.MonkeyPatch, kms: CountingKms) -> None:
    environment(monkeypatch)
    blob = envelope.seal({"app_s_key": "66" * 16}, context=DEV_EUI)
    environment(monkeypatch)
    _ = envelope.seal({"app_s_key": "77" * 16}, context=DEV_EUI)  # a data key of another environment
    other_key = envelope._KEYS.sealing.wrapped.hex() if envelope._KEYS.sealing else ""
    ciphertext = bytearray(blob)
    ciphertext[-5] ^= 0x40
    nonce = header(blob)["n"]
    forged = [
        bytes(ciphertext),
        with_header(blob, n=("0" if nonce[0] != "0" else "1") + nonce[1:]),  # header bound by associated data
        with_header(blob, k=other_key),  # a data key this environment holds, not the blob's
        with_header(blob, v=1),  # downgraded: v1 unwraps with the owner's KMS context, which fails
        with_header(blob, v=3),
        with_header(blob, extra=1),  # any change to the header
        with_header(blob, b="local"),
        blob[:-1],
        b"\x00\x02{}",
        b"",
    ]
    for bad in forged:
        with pytest.raises(envelope.EnvelopeError):
            envelope.open_sealed(bad, context=DEV_EUI)
    assert envelope.open_sealed(blob, context=DEV_EUI) == {"app_s_key": "66" * 16}


def test_v1_blobs_of_the_local_backend_still_open(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(envelope.SETTINGS, "local_master_key", LOCAL_MASTER, raising=False)
    environment(monkeypatch)
    assert header(V1_LOCAL_BLOB)["v"] == 1
    assert envelope.open_sealed(V1_LOCAL_BLOB, context=DEV_EUI) == V1_LOCAL_VALUES
    with pytest.raises(envelope.EnvelopeError):
        envelope.open_sealed(V1_LOCAL_BLOB, context=OTHER_EUI)
    assert header(envelope.seal(V1_LOCAL_VALUES, context=DEV_EUI))["v"] == 2  # re-sealed as v2


def seal_v1_with_kms(client: Any, key_id: str, values: dict[str, str], *, context: str) -> bytes:
    """What the v1 code wrote on AWS: a data key per blob, its KMS encryption context the blob's context,
    the context alone as associated data."""
    import secrets

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = client.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext={"loraless": context})
    nonce = secrets.token_bytes(12)
    ciphertext = AESGCM(key["Plaintext"]).encrypt(nonce, json.dumps(values).encode(), context.encode())
    head = json.dumps({"v": 1, "b": "kms", "k": key["CiphertextBlob"].hex(), "n": nonce.hex()}).encode()
    return len(head).to_bytes(2, "big") + head + ciphertext


def test_v1_blobs_of_kms_still_open(monkeypatch: pytest.MonkeyPatch, kms: CountingKms) -> None:
    key_id = envelope.SETTINGS.kms_key_id or ""
    old = {c: seal_v1_with_kms(kms.client, key_id, {"app_s_key": c * 2}, context=c) for c in contexts(3)}
    environment(monkeypatch)
    for _ in range(2):
        for owner, blob in old.items():
            assert envelope.open_sealed(blob, context=owner) == {"app_s_key": owner * 2}
    assert kms.calls == ["Decrypt"] * 3  # one data key per v1 blob, each unwrapped once
    owner, blob = next(iter(old.items()))
    with pytest.raises(envelope.EnvelopeError):  # another owner: KMS refuses the context
        envelope.open_sealed(blob, context=OTHER_EUI)
    new = envelope.seal({"app_s_key": owner * 2}, context=owner)
    assert envelope.open_sealed(new, context=owner) == envelope.open_sealed(blob, context=owner)


def test_compact_v3_blobs_share_the_data_key_and_binding(
    monkeypatch: pytest.MonkeyPatch, kms: CountingKms
) -> None:
    """v3 (`seal_bytes`, the session's keys): the same data key as v2 blobs of the period, a binary header
    bound by the associated data, told apart from v1 and v2 by its first bytes."""
    environment(monkeypatch)
    v2 = envelope.seal({"k": "v"}, context=DEV_EUI)
    blob = envelope.seal_bytes(b"\x01" + b"\x44" * 16, context=DEV_EUI)
    assert (
        envelope.is_compact(blob) and not envelope.is_compact(v2) and not envelope.is_compact(V1_LOCAL_BLOB)
    )
    size = int.from_bytes(blob[2:4], "big")
    assert blob[0] == 3 and blob[4 : 4 + size] == bytes.fromhex(header(v2)["k"])  # one data key
    assert len(blob) == 4 + size + 12 + 17 + 16
    environment(monkeypatch)
    kms.calls.clear()
    assert envelope.open_bytes(blob, context=DEV_EUI) == b"\x01" + b"\x44" * 16
    assert envelope.open_sealed(v2, context=DEV_EUI) == {"k": "v"}  # v2 opens through open_bytes too
    assert kms.calls == ["Decrypt"]
    forged = [
        bytes([blob[0], 0]) + blob[2:],  # another backend byte
        blob[: 4 + size] + bytes([blob[4 + size] ^ 1]) + blob[5 + size :],  # the nonce
        blob[:-1] + bytes([blob[-1] ^ 1]),  # the tag
        blob[:3],
    ]
    for bad in forged:
        with pytest.raises(envelope.EnvelopeError):
            envelope.open_bytes(bad, context=DEV_EUI)
    with pytest.raises(envelope.EnvelopeError):
        envelope.open_bytes(blob, context=OTHER_EUI)
