"""Payload codecs of a device profile: application bytes to an object for uplinks, an object to bytes for
downlinks. The kinds are ChirpStack v4's: none, CayenneLPP (built in) and JavaScript (sandboxed QuickJS,
the TTN device-repository signature).

Decoding never raises for a broken codec or payload: what went wrong is in `DecodeResult.errors`, so the
uplink event still goes out (ChirpStack publishes it with a log event). Encoding raises CodecError, since
a downlink that cannot be encoded must not be queued.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from functions.appserver.codecs import cayenne_lpp, javascript
from functions.appserver.codecs.errors import CayenneLPPError, CodecError, ScriptError

__all__ = [
    "CayenneLPPError",
    "Codec",
    "CodecError",
    "DecodeResult",
    "ScriptError",
    "decode_uplink",
    "encode_downlink",
]

CodecKind = Literal["none", "cayenne_lpp", "javascript"]


@dataclass(frozen=True)
class Codec:
    kind: CodecKind
    script: str = ""  # JavaScript source for kind "javascript"
    owner: str = ""  # whose script (the device profile): contexts are never shared between owners


@dataclass(frozen=True)
class DecodeResult:
    object: dict[str, Any] | None  # None when nothing was decoded
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _messages(result: Mapping[str, Any], key: str, entry: str) -> list[str]:
    value = result.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        return [f"{entry} returned {key} that is not a list: {value!r}"]
    return [str(item) for item in value]


def decode_uplink(
    codec: Codec,
    *,
    f_port: int,
    data: bytes,
    variables: Mapping[str, str] | None = None,
    recv_time: str | None = None,
) -> DecodeResult:
    """Decode an uplink's application payload; `recv_time` is ISO 8601 (a JavaScript `Date` in scripts)."""
    if codec.kind == "none":
        return DecodeResult(None)
    if codec.kind == "cayenne_lpp":
        try:
            return DecodeResult(cayenne_lpp.decode(data))
        except CayenneLPPError as exc:
            return DecodeResult(None, [str(exc)])
    if codec.kind != "javascript":
        return DecodeResult(None, [f"unknown codec kind {codec.kind!r}"])
    payload = {"bytes": list(data), "fPort": f_port, "variables": dict(variables or {})}
    try:
        result = javascript.default_runner().call(
            codec.script, "decodeUplink", payload, recv_time=recv_time, owner=codec.owner
        )
    except ScriptError as exc:
        return DecodeResult(None, [str(exc)])
    if not isinstance(result, dict):
        return DecodeResult(None, [f"decodeUplink returned {type(result).__name__}, not an object"])
    errors = _messages(result, "errors", "decodeUplink")
    warnings = _messages(result, "warnings", "decodeUplink")
    if errors:
        return DecodeResult(None, errors, warnings)
    obj = result.get("data")
    if not isinstance(obj, dict):
        return DecodeResult(None, ["decodeUplink returned no 'data' object"], warnings)
    return DecodeResult(obj, [], warnings)


def encode_downlink(
    codec: Codec,
    *,
    f_port: int | None,
    obj: Mapping[str, Any],
    variables: Mapping[str, str] | None = None,
) -> tuple[int | None, bytes]:
    """Encode a downlink object to (f_port, bytes); a script may choose the FPort. Raises CodecError."""
    if codec.kind == "cayenne_lpp":
        return f_port, cayenne_lpp.encode(obj)
    if codec.kind != "javascript":
        raise CodecError(f"codec {codec.kind!r} cannot encode objects; send bytes instead")
    try:
        payload = json.loads(json.dumps({"data": obj, "variables": dict(variables or {})}))
    except (TypeError, ValueError) as exc:
        raise CodecError(f"downlink object is not JSON: {exc}") from None
    result = javascript.default_runner().call(codec.script, "encodeDownlink", payload, owner=codec.owner)
    if not isinstance(result, dict):
        raise CodecError(f"encodeDownlink returned {type(result).__name__}, not an object")
    errors = _messages(result, "errors", "encodeDownlink")
    if errors:
        raise CodecError(f"encodeDownlink returned errors: {', '.join(errors)}")
    raw = result.get("bytes")
    if not isinstance(raw, list) or not all(
        isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in raw
    ):
        raise CodecError("encodeDownlink returned no 'bytes' array of integers 0..255")
    port = result.get("fPort", f_port)
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 223):
        raise CodecError(f"encodeDownlink returned fPort {port!r}, not 1..223")
    return port, bytes(raw)
