"""Payload codecs: CayenneLPP against published vectors, JavaScript codecs of the TTN device-repository
shape, and every way a script can fail (each an error in the result, within the limits)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.appserver.codecs import (
    CayenneLPPError,
    Codec,
    CodecError,
    DecodeResult,
    ScriptError,
    cayenne_lpp,
    decode_uplink,
    encode_downlink,
    javascript,
)

LPP = Codec("cayenne_lpp")

# --- CayenneLPP -------------------------------------------------------------------------------------------

# Source: the examples of the CayenneLPP specification (myDevices, "Cayenne Low Power Payload"), as
# repeated in ChirpStack's documentation.
SPEC_VECTORS = [
    ("03670110056700FF", {"temperatureSensor": {"3": 27.2, "5": 25.5}}),
    ("0167FFD7", {"temperatureSensor": {"1": -4.1}}),
    ("067104D2FB2E0000", {"accelerometer": {"6": {"x": 1.234, "y": -1.234, "z": 0.0}}}),
    (
        "018806765FF2960A0003E8",
        {"gpsLocation": {"1": {"latitude": 42.3519, "longitude": -87.9094, "altitude": 10.0}}},
    ),
]

# Source: chirpstack/src/codec/cayenne_lpp.rs, `test_lpp` (ChirpStack v4): every type it knows, channels 3
# and 5 each (GPS on channel 1), with the object ChirpStack decodes it to.
CHIRPSTACK_ALL_TYPES = bytes(
    [3, 0, 100, 5, 0, 210,
     3, 1, 100, 5, 1, 210,
     3, 2, 0, 10, 5, 2, 3, 232,
     3, 3, 0, 10, 5, 3, 3, 232,
     3, 100, 0, 0, 0, 1, 5, 100, 255, 254, 253, 252,
     3, 101, 0, 10, 5, 101, 3, 232,
     3, 102, 5, 5, 102, 3,
     3, 103, 1, 16, 5, 103, 0, 255,
     3, 104, 41, 5, 104, 150,
     3, 113, 0, 1, 0, 2, 0, 3, 5, 113, 3, 234, 7, 211, 11, 187,
     3, 115, 4, 31, 5, 115, 9, 196,
     3, 116, 0, 1, 5, 116, 255, 254,
     3, 117, 0, 2, 5, 117, 255, 253,
     3, 118, 0, 0, 0, 1, 5, 118, 255, 254, 253, 251,
     3, 120, 0, 5, 120, 100,
     3, 121, 0, 1, 5, 121, 255, 251,
     3, 125, 0, 7, 5, 125, 255, 254,
     3, 128, 0, 8, 5, 128, 254, 253,
     3, 130, 0, 0, 1, 16, 5, 130, 1, 2, 3, 4,
     3, 131, 0, 0, 0, 12, 5, 131, 255, 254, 253, 254,
     3, 132, 0, 9, 5, 132, 255, 252,
     3, 133, 0, 0, 0, 13, 5, 133, 255, 254, 253, 253,
     3, 134, 0, 1, 0, 2, 0, 3, 5, 134, 3, 233, 7, 210, 11, 187,
     3, 135, 100, 150, 200, 5, 135, 250, 190, 0,
     1, 136, 6, 118, 95, 242, 150, 10, 0, 3, 232,
     3, 142, 0, 5, 142, 1]
)  # fmt: skip
CHIRPSTACK_ALL_TYPES_OBJECT: dict[str, Any] = {
    "digitalInput": {"3": 100, "5": 210},
    "digitalOutput": {"3": 100, "5": 210},
    "analogInput": {"3": 0.1, "5": 10.0},
    "analogOutput": {"3": 0.1, "5": 10.0},
    "genericSensor": {"3": 1, "5": 4294901244},
    "illuminanceSensor": {"3": 10, "5": 1000},
    "presenceSensor": {"3": 5, "5": 3},
    "temperatureSensor": {"3": 27.2, "5": 25.5},
    "humiditySensor": {"3": 20.5, "5": 75.0},
    "accelerometer": {"3": {"x": 0.001, "y": 0.002, "z": 0.003}, "5": {"x": 1.002, "y": 2.003, "z": 3.003}},
    "barometer": {"3": 105.5, "5": 250.0},
    "voltage": {"3": 0.01, "5": 655.34},
    "current": {"3": 0.002, "5": 65.533},
    "frequency": {"3": 1, "5": 4294901243},
    "percentage": {"3": 0, "5": 100},
    "altitude": {"3": 1, "5": -5},
    "concentration": {"3": 7, "5": 65534},
    "power": {"3": 8, "5": 65277},
    "distance": {"3": 0.272, "5": 16909.06},
    "energy": {"3": 0.012, "5": 4294901.246},
    "direction": {"3": 9, "5": 65532},
    "unix_time": {"3": 13, "5": 4294901245},
    "gyrometer": {"3": {"x": 0.01, "y": 0.02, "z": 0.03}, "5": {"x": 10.01, "y": 20.02, "z": 30.03}},
    "color": {"3": {"r": 100, "g": 150, "b": 200}, "5": {"r": 250, "g": 190, "b": 0}},
    "gpsLocation": {"1": {"latitude": 42.3519, "longitude": -87.9094, "altitude": 10.0}},
    "switch": {"3": 0, "5": 1},
}


@pytest.mark.parametrize(("payload", "expected"), SPEC_VECTORS, ids=[v[0] for v in SPEC_VECTORS])
def test_cayenne_lpp_specification_vectors(payload: str, expected: dict[str, Any]) -> None:
    assert decode_uplink(LPP, f_port=1, data=bytes.fromhex(payload)) == DecodeResult(expected, [], [])
    assert encode_downlink(LPP, f_port=1, obj=expected) == (1, bytes.fromhex(payload))


def test_cayenne_lpp_every_chirpstack_type_decodes_to_chirpstacks_object_and_back() -> None:
    assert cayenne_lpp.decode(CHIRPSTACK_ALL_TYPES) == CHIRPSTACK_ALL_TYPES_OBJECT
    assert cayenne_lpp.encode(CHIRPSTACK_ALL_TYPES_OBJECT) == CHIRPSTACK_ALL_TYPES


def test_cayenne_lpp_encoding_rounds_to_the_nearest_step() -> None:
    # 42.3519 * 10000 is 423518.99999999994 in binary floating point: truncation would lose a step.
    obj = {"gpsLocation": {"1": {"latitude": 42.3519, "longitude": 0.29, "altitude": -0.07}}}
    assert cayenne_lpp.decode(cayenne_lpp.encode(obj)) == obj


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("01", "truncated CayenneLPP header at byte 0"),
        ("0167FF", "truncated CayenneLPP temperatureSensor on channel 1: needs 2 bytes, 1 left"),
        ("03670110018806765F", "truncated CayenneLPP gpsLocation on channel 1: needs 9 bytes, 3 left"),
        ("01FF00", "unknown CayenneLPP type 0xff at byte 1"),
    ],
    ids=["partial-header", "short-value", "short-gps-after-valid", "unknown-type"],
)
def test_cayenne_lpp_bad_payloads_are_error_results(payload: str, message: str) -> None:
    assert decode_uplink(LPP, f_port=1, data=bytes.fromhex(payload)) == DecodeResult(None, [message], [])


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"noSuchSensor": {"1": 1}}, "unknown CayenneLPP key 'noSuchSensor'"),
        ({"temperatureSensor": {"1": 3276.8}}, "temperatureSensor.1: 3276.8 does not fit temperatureSensor"),
        ({"humiditySensor": {"1": -1}}, "humiditySensor.1: -1 does not fit humiditySensor"),
        ({"temperatureSensor": {"256": 1}}, "temperatureSensor.256: channel 256 outside 0..255"),
        ({"temperatureSensor": {"a": 1}}, "temperatureSensor.a: channel 'a' is not a number"),
        ({"temperatureSensor": {"1": "hot"}}, "temperatureSensor.1: expected a number, got 'hot'"),
        ({"accelerometer": {"1": {"x": 1, "y": 2}}}, "accelerometer.1: missing 'z'"),
        ({"temperatureSensor": 21.5}, "temperatureSensor: expected an object of channels, got 21.5"),
    ],
)
def test_cayenne_lpp_objects_it_cannot_carry_raise(obj: dict[str, Any], message: str) -> None:
    with pytest.raises(CayenneLPPError, match=message.replace(".", r"\.").replace("'", "'")) as caught:
        encode_downlink(LPP, f_port=2, obj=obj)
    assert str(caught.value) == message
    assert isinstance(caught.value, CodecError)


@given(st.binary(max_size=64))
def test_cayenne_lpp_any_bytes_give_a_result_never_an_exception(payload: bytes) -> None:
    result = decode_uplink(LPP, f_port=1, data=payload)
    assert (result.object is None) == bool(result.errors)
    if result.object is not None:
        assert cayenne_lpp.decode(cayenne_lpp.encode(result.object)) == result.object


def test_no_codec_decodes_nothing_and_cannot_encode() -> None:
    assert decode_uplink(Codec("none"), f_port=1, data=b"\x01") == DecodeResult(None, [], [])
    with pytest.raises(CodecError, match="cannot encode"):
        encode_downlink(Codec("none"), f_port=1, obj={"a": 1})


# --- JavaScript -------------------------------------------------------------------------------------------

# A codec written the way the TTN device repository asks for them (module-level tables, a switch on
# fPort, errors and warnings arrays, encodeDownlink choosing its FPort), for a made-up soil sensor:
# fPort 1 = battery mV (u16), temperature 0.01 °C (i16), moisture % (u8); fPort 10 = set interval.
SOIL_SENSOR = """
var MODES = ["idle", "measure", "calibrate"];

function decodeUplink(input) {
  switch (input.fPort) {
    case 1:
      if (input.bytes.length !== 6) {
        return { errors: ["expected 6 bytes, got " + input.bytes.length] };
      }
      var view = new DataView(new Uint8Array(input.bytes).buffer);
      var data = {
        batteryMv: view.getUint16(0),
        temperature: view.getInt16(2) / 100,
        moisture: view.getUint8(4),
        mode: MODES[input.bytes[5]],
        site: input.variables.site,
        receivedYear: input.recvTime ? input.recvTime.getUTCFullYear() : null,
      };
      var warnings = [];
      if (data.batteryMv < 3000) {
        warnings.push("battery low");
      }
      return { data: data, warnings: warnings };
    default:
      return { errors: ["unknown FPort " + input.fPort] };
  }
}

function encodeDownlink(input) {
  var minutes = input.data.intervalMinutes;
  if (typeof minutes !== "number" || minutes < 1 || minutes > 65535) {
    return { errors: ["intervalMinutes must be 1..65535"] };
  }
  var factor = input.variables.factor ? parseInt(input.variables.factor, 10) : 1;
  minutes = minutes * factor;
  return { fPort: 10, bytes: [(minutes >> 8) & 0xff, minutes & 0xff], warnings: [] };
}
"""
SOIL = Codec("javascript", SOIL_SENSOR)


def test_js_codec_decodes_with_fport_variables_and_recv_time() -> None:
    result = decode_uplink(
        SOIL,
        f_port=1,
        data=bytes.fromhex("0BB8F83F2A01"),
        variables={"site": "north field"},
        recv_time="2026-11-24T12:00:00Z",
    )
    assert result == DecodeResult(
        {
            "batteryMv": 3000,
            "temperature": -19.85,
            "moisture": 42,
            "mode": "measure",
            "site": "north field",
            "receivedYear": 2026,
        },
        [],
        [],
    )


def test_js_codec_warnings_and_errors_come_back() -> None:
    low = decode_uplink(SOIL, f_port=1, data=bytes.fromhex("0A28000A0500"))
    assert low.object is not None and low.object["batteryMv"] == 2600 and low.object["receivedYear"] is None
    assert low.warnings == ["battery low"] and low.errors == []
    assert decode_uplink(SOIL, f_port=7, data=b"\x00") == DecodeResult(None, ["unknown FPort 7"], [])
    assert decode_uplink(SOIL, f_port=1, data=b"\x00") == DecodeResult(None, ["expected 6 bytes, got 1"], [])


def test_js_codec_encodes_and_chooses_the_fport() -> None:
    assert encode_downlink(SOIL, f_port=None, obj={"intervalMinutes": 300}) == (10, b"\x01\x2c")
    assert encode_downlink(SOIL, f_port=3, obj={"intervalMinutes": 2}, variables={"factor": "60"}) == (
        10,
        b"\x00\x78",
    )
    with pytest.raises(
        CodecError, match=r"encodeDownlink returned errors: intervalMinutes must be 1\.\.65535"
    ):
        encode_downlink(SOIL, f_port=None, obj={"intervalMinutes": 0})


def test_js_encode_keeps_the_given_fport_when_the_script_names_none() -> None:
    codec = Codec("javascript", "function encodeDownlink(input) { return {bytes: input.data.raw}; }")
    assert encode_downlink(codec, f_port=5, obj={"raw": [1, 2, 255]}) == (5, b"\x01\x02\xff")


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("function encodeDownlink(i) { return {bytes: [256]}; }", "no 'bytes' array of integers 0..255"),
        ("function encodeDownlink(i) { return {bytes: [1.5]}; }", "no 'bytes' array of integers 0..255"),
        ("function encodeDownlink(i) { return {bytes: 'ab'}; }", "no 'bytes' array of integers 0..255"),
        ("function encodeDownlink(i) { return {bytes: [1], fPort: 0}; }", "fPort 0, not 1..223"),
        ("function encodeDownlink(i) { return 7; }", "encodeDownlink returned int, not an object"),
        (
            "function encodeDownlink(i) { throw new RangeError('no'); }",
            "encodeDownlink failed: RangeError: no",
        ),
        ("function encodeDownlink(i) { for (;;) {} }", "encodeDownlink: time limit of 100 ms exceeded"),
        ("function decodeUplink(i) { return {}; }", "no encodeDownlink\\(input\\) in the script"),
        ("function encodeDownlink(i) {", "script does not compile: SyntaxError"),
    ],
)
def test_js_encode_failures_raise_codec_errors(script: str, message: str) -> None:
    with pytest.raises(CodecError, match=message):
        encode_downlink(Codec("javascript", script), f_port=1, obj={"a": 1})


def test_js_encode_rejects_objects_that_are_not_json() -> None:
    with pytest.raises(CodecError, match="downlink object is not JSON"):
        encode_downlink(SOIL, f_port=1, obj={"when": object()})


GOOD = Codec("javascript", "function decodeUplink(input) { return {data: {n: input.bytes.length}}; }")

# Each broken codec, and the error it must give. Limits are the defaults: 100 ms CPU, 16 MiB.
FAILURES = [
    (
        "endless-loop",
        "function decodeUplink(i) { while (true) {} }",
        "decodeUplink: time limit of 100 ms exceeded",
    ),
    (
        "loop-that-catches-the-interrupt",
        "function decodeUplink(i) { for (;;) { try { while (true) {} } catch (e) {} } }",
        "decodeUplink: time limit of 100 ms exceeded",
    ),
    ("endless-loop-at-load", "while (true) {}", "loading the script: time limit of 100 ms exceeded"),
    (
        "catastrophic-regex",
        "function decodeUplink(i) { return {data: {m: /(a+)+b/.test('a'.repeat(40))}}; }",
        "decodeUplink: time limit of 100 ms exceeded",
    ),
    (
        "memory-bomb-arrays",
        "function decodeUplink(i) { var a = []; for (;;) { a.push(new Array(1000).fill(i.fPort)); } }",
        "decodeUplink: memory limit of 16 MiB exceeded",
    ),
    (
        "memory-bomb-buffer",
        "function decodeUplink(i) { return {data: {b: new ArrayBuffer(64 * 1024 * 1024).byteLength}}; }",
        "decodeUplink: memory limit of 16 MiB exceeded",
    ),
    (
        "memory-bomb-at-load",
        "var hoard = []; for (;;) { hoard.push('x'.repeat(1 << 16) + hoard.length); }",
        "loading the script: memory limit of 16 MiB exceeded",
    ),
    (
        "syntax-error",
        "function decodeUplink(input) { return {data: }; }",
        "script does not compile: SyntaxError",
    ),
    (
        "throw-error",
        "function decodeUplink(i) { throw new Error('sensor unplugged'); }",
        "decodeUplink failed: Error: sensor unplugged",
    ),
    (
        "throw-string",
        "function decodeUplink(i) { throw 'just a string'; }",
        "decodeUplink failed: just a string",
    ),
    (
        "reference-error",
        "function decodeUplink(i) { return foo; }",
        "decodeUplink failed: ReferenceError: foo is not defined",
    ),
    (
        "stack-overflow",
        "function f() { return f() + 1; } function decodeUplink(i) { return f(); }",
        "decodeUplink failed: RangeError: Maximum call stack size exceeded",
    ),
    ("number-result", "function decodeUplink(i) { return 42; }", "decodeUplink returned int, not an object"),
    (
        "string-result",
        "function decodeUplink(i) { return 'ok'; }",
        "decodeUplink returned str, not an object",
    ),
    ("undefined-result", "function decodeUplink(i) { }", "decodeUplink returned no object"),
    (
        "null-result",
        "function decodeUplink(i) { return null; }",
        "decodeUplink returned NoneType, not an object",
    ),
    (
        "array-result",
        "function decodeUplink(i) { return [1, 2]; }",
        "decodeUplink returned list, not an object",
    ),
    (
        "no-data",
        "function decodeUplink(i) { return {warnings: ['x']}; }",
        "decodeUplink returned no 'data' object",
    ),
    (
        "data-not-object",
        "function decodeUplink(i) { return {data: 5}; }",
        "decodeUplink returned no 'data' object",
    ),
    (
        "errors-not-list",
        "function decodeUplink(i) { return {data: {}, errors: 'bad'}; }",
        "decodeUplink returned errors that is not a list: 'bad'",
    ),
    (
        "cyclic-result",
        "function decodeUplink(i) { var o = {}; o.self = o; return {data: o}; }",
        "decodeUplink failed: TypeError: circular reference",
    ),
    (
        "bigint-result",
        "function decodeUplink(i) { return {data: {n: 1n}}; }",
        "decodeUplink failed: TypeError: BigInt",
    ),
    (
        "no-decoder",
        "function encodeDownlink(i) { return {bytes: []}; }",
        "decodeUplink failed: TypeError: no decodeUplink(input) in the script",
    ),
    (
        "es-module-import",
        "import * as os from 'os'; function decodeUplink(i) { return {data: {}}; }",
        "script does not compile: SyntaxError",
    ),
    (
        "no-host-access",
        "function decodeUplink(i) { return require('fs'); }",
        "decodeUplink failed: ReferenceError: require is not defined",
    ),
    (
        "no-network",
        "function decodeUplink(i) { return fetch('http://127.0.0.1/'); }",
        "decodeUplink failed: ReferenceError: fetch is not defined",
    ),
    (
        "cannot-block",
        "function decodeUplink(i) { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); }",
        "decodeUplink failed: TypeError: cannot block in this thread",
    ),
]


@pytest.mark.parametrize(("script", "message"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES])
def test_js_broken_codecs_give_an_error_within_the_limit(script: str, message: str) -> None:
    started = time.monotonic()
    result = decode_uplink(Codec("javascript", script), f_port=1, data=b"\x01\x02")
    elapsed = time.monotonic() - started
    assert result.object is None
    assert len(result.errors) == 1 and result.errors[0].startswith(message), result.errors
    # Two limits at most (loading and calling), with room for a busy CI machine; a hang would never end.
    assert elapsed < 2.0
    # The process and the engine are fine afterwards.
    assert decode_uplink(GOOD, f_port=1, data=b"\x01\x02") == DecodeResult({"n": 2}, [], [])


def test_js_host_objects_are_absent() -> None:
    script = """function decodeUplink(i) {
      return {data: {require: typeof require, fetch: typeof fetch, xhr: typeof XMLHttpRequest, os: typeof os,
                     std: typeof std, process: typeof process, timers: typeof setTimeout,
                     wasm: typeof WebAssembly, console: typeof console}};
    }"""
    result = decode_uplink(Codec("javascript", script), f_port=1, data=b"")
    assert result.object is not None
    assert set(result.object.values()) == {"undefined"}


def test_js_time_limit_is_enforced_at_the_configured_value() -> None:
    runner = javascript.ScriptRunner(time_limit_s=0.03)
    spin = """function decodeUplink(i) {
      var end = Date.now() + i.ms; while (Date.now() < end) {} return {data: {}};
    }"""
    assert runner.call(spin, "decodeUplink", {"ms": 5}) == {"data": {}}
    started = time.monotonic()
    with pytest.raises(ScriptError, match="time limit of 30 ms exceeded") as caught:
        runner.call(spin, "decodeUplink", {"ms": 5000})
    assert caught.value.reason == "time_limit"
    assert 0.03 <= time.monotonic() - started < 0.5


def test_js_memory_limit_is_enforced_at_the_configured_value() -> None:
    script = "function decodeUplink(i) { return {data: {n: new ArrayBuffer(i.size).byteLength}}; }"
    size = 8 * 1024 * 1024
    assert javascript.ScriptRunner().call(script, "decodeUplink", {"size": size}) == {"data": {"n": size}}
    with pytest.raises(ScriptError, match="memory limit of 4 MiB exceeded") as caught:
        javascript.ScriptRunner(memory_limit=4 * 1024 * 1024).call(script, "decodeUplink", {"size": size})
    assert caught.value.reason == "memory_limit"


def test_js_compiled_script_is_cached_by_hash_and_dropped_after_a_failure() -> None:
    runner = javascript.ScriptRunner()
    script = """var calls = 0;
    function decodeUplink(i) {
      calls++; if (i.fail) { throw new Error('asked to'); } return {data: {calls}};
    }"""
    assert runner.call(script, "decodeUplink", {})["data"] == {"calls": 1}
    assert runner.call(script, "decodeUplink", {})["data"] == {"calls": 2}  # same context: loaded once
    assert runner.call(script + " ", "decodeUplink", {})["data"] == {"calls": 1}  # another hash
    with pytest.raises(ScriptError, match="asked to"):
        runner.call(script, "decodeUplink", {"fail": True})
    assert runner.call(script, "decodeUplink", {})["data"] == {"calls": 1}  # reloaded after the failure


def test_js_context_that_holds_much_memory_is_not_kept() -> None:
    runner = javascript.ScriptRunner()
    script = """var calls = 0, keep = [];
    function decodeUplink(i) { calls++; keep.push(new ArrayBuffer(i.size)); return {data: {calls}}; }"""
    assert runner.call(script, "decodeUplink", {"size": 16})["data"] == {"calls": 1}
    assert runner.call(script, "decodeUplink", {"size": 4 * 1024 * 1024})["data"] == {"calls": 2}
    assert runner.call(script, "decodeUplink", {"size": 16})["data"] == {"calls": 1}


def test_js_calls_from_many_threads_are_served() -> None:
    runner = javascript.ScriptRunner()
    results: dict[int, Any] = {}

    def call(n: int) -> None:
        results[n] = runner.call(SOIL_SENSOR, "decodeUplink", {"fPort": 9, "bytes": [n]})

    threads = [threading.Thread(target=call, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == {n: {"errors": ["unknown FPort 9"]} for n in range(16)}


def test_js_engine_that_never_returns_is_abandoned_by_the_watchdog(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = javascript.ScriptRunner(time_limit_s=0.01)
    monkeypatch.setattr(javascript, "WATCHDOG_SLACK_S", 0.2)
    release, calls = threading.Event(), []
    real_run = javascript.ScriptRunner._run

    def first_call_sticks(self: javascript.ScriptRunner, *args: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:
            release.wait(5)  # stands for an engine that ignores its interrupt handler
        return real_run(self, *args)

    monkeypatch.setattr(javascript.ScriptRunner, "_run", first_call_sticks)
    queued: list[Any] = []

    def call_behind() -> None:
        time.sleep(0.05)  # queued on the stuck worker, then moved to the new one
        queued.append(runner.call(GOOD.script, "decodeUplink", {"bytes": []}))

    behind = threading.Thread(target=call_behind)
    behind.start()
    started = time.monotonic()
    with pytest.raises(ScriptError, match="did not return") as caught:
        runner.call(GOOD.script, "decodeUplink", {"bytes": [1]})
    assert caught.value.reason == "engine"
    assert time.monotonic() - started < 2
    behind.join(timeout=5)
    assert queued == [{"data": {"n": 0}}]
    assert runner.call(GOOD.script, "decodeUplink", {"bytes": [1, 2, 3]}) == {"data": {"n": 3}}
    release.set()


def test_js_time_limit_holds_for_every_call_of_a_cached_script() -> None:
    runner = javascript.ScriptRunner(time_limit_s=0.05)
    script = "function decodeUplink(i) { if (i.loop) { for (;;) {} } return {data: {}}; }"
    assert runner.call(script, "decodeUplink", {}) == {"data": {}}
    time.sleep(0.1)  # longer than the limit: the clock must start again at each call
    assert runner.call(script, "decodeUplink", {}) == {"data": {}}
    started = time.monotonic()
    with pytest.raises(ScriptError, match="time limit of 50 ms exceeded"):
        runner.call(script, "decodeUplink", {"loop": True})
    assert time.monotonic() - started < 0.5


def test_js_contexts_are_never_shared_between_owners_of_the_same_script() -> None:
    """Two organizations pasting the same script: B's decoder must not see what A's decoded (issue 15)."""
    from functions.appserver.codecs import Codec, decode_uplink

    script = """var last = null;
    function decodeUplink(i) { var seen = last; last = i.bytes; return {data: {previous: seen}}; }"""
    org_a, org_b = Codec("javascript", script, "profile-a"), Codec("javascript", script, "profile-b")
    assert decode_uplink(org_a, f_port=1, data=b"\x0a\x0b").object == {"previous": None}
    assert decode_uplink(org_b, f_port=1, data=b"\x01").object == {"previous": None}  # not [10, 11]
    assert decode_uplink(org_a, f_port=1, data=b"\x0c").object == {"previous": [10, 11]}
