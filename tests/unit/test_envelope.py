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
