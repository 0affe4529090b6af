"""Key envelopes: sealed blobs open only with the same master key and context."""

from __future__ import annotations

import pytest

from functions.shared import envelope


def test_seal_and_open_round_trip_bound_to_the_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(envelope.SETTINGS, "local_master_key", "22" * 32, raising=False)
    blob = envelope.seal({"app_key": "00112233445566778899aabbccddeeff"}, context="0102030405060708")
    assert b"00112233445566778899aabbccddeeff" not in blob
    assert envelope.open_sealed(blob, context="0102030405060708") == {
        "app_key": "00112233445566778899aabbccddeeff"
    }
    with pytest.raises(envelope.EnvelopeError):
        envelope.open_sealed(blob, context="0807060504030201")
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(envelope.EnvelopeError):
        envelope.open_sealed(bytes(tampered), context="0102030405060708")


def test_another_master_key_cannot_open_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(envelope.SETTINGS, "local_master_key", "22" * 32, raising=False)
    blob = envelope.seal({"k": "v"}, context="c")
    monkeypatch.setattr(envelope.SETTINGS, "local_master_key", "33" * 32, raising=False)
    with pytest.raises(envelope.EnvelopeError):
        envelope.open_sealed(blob, context="c")


def test_kms_envelopes_and_the_decrypt_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """With KMS (moto's, the one part of AWS that stands in here): a warm function opens the same blob
    with one Decrypt call; another context still fails, since the cache is keyed by it too."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        client = boto3.client("kms", region_name="eu-west-1")
        key_id = client.create_key()["KeyMetadata"]["KeyId"]
        calls: list[str] = []

        class Counting:
            def generate_data_key(self, **kwargs: object) -> object:
                return client.generate_data_key(**kwargs)

            def decrypt(self, **kwargs: object) -> object:
                calls.append("Decrypt")
                return client.decrypt(**kwargs)

        monkeypatch.setattr(envelope, "_kms", Counting)
        monkeypatch.setattr(envelope.SETTINGS, "local_master_key", None, raising=False)
        monkeypatch.setattr(envelope.SETTINGS, "kms_key_id", key_id, raising=False)
        monkeypatch.setattr(envelope, "_UNWRAPPED", {})
        blob = envelope.seal({"nwk_s_key": "44" * 16}, context="0004a30b001c0530")
        for _ in range(3):
            assert envelope.open_sealed(blob, context="0004a30b001c0530") == {"nwk_s_key": "44" * 16}
        assert calls == ["Decrypt"]
        with pytest.raises(envelope.EnvelopeError):
            envelope.open_sealed(blob, context="0004a30b001c0531")
        monkeypatch.setattr(envelope, "CACHE_SECONDS", -1.0)  # expired entries are fetched again
        monkeypatch.setattr(envelope, "_UNWRAPPED", {})
        envelope.open_sealed(blob, context="0004a30b001c0530")
        envelope.open_sealed(blob, context="0004a30b001c0530")
        assert calls.count("Decrypt") == 4  # 1 + the failed other context + 2 uncached
