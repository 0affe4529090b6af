"""The codec runtime's `Buffer` against Node's own Buffer (the oracle: ChirpStack's scripts are written for
it): one exercise script runs in Node with Node's Buffer and in our QuickJS runtime with ours, over seeded
random payloads, and every result (values, strings, thrown error classes) must agree. Then codecs written
the way vendors write them (Buffer reads, hex, base64) and ChirpStack v3 `Decode`/`Encode` scripts run
through the same entry points the integration uses."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from functions.appserver.codecs import Codec, decode_uplink, encode_downlink, javascript

# Every read and write at every offset (in and out of range), the encodings both ways, views and copies.
EXERCISE = (Path(__file__).parent / "codec_buffer_exercise.js").read_text()
CODEC = EXERCISE + "\nfunction decodeUplink(input) { return { data: exercise(input.bytes) }; }\n"
NODE_MAIN = (
    EXERCISE
    + "\nconst cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
    + ("process.stdout.write(JSON.stringify(cases.map((bytes) => exercise(bytes))));\n")
)


def payloads() -> list[list[int]]:
    rng = random.Random(14)
    fixed = [[], [0], [0xFF], [0x80, 0x00], [0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80], [0xE2, 0x82, 0x41],
             [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF], list(range(12))]  # fmt: skip
    return fixed + [[rng.randrange(256) for _ in range(rng.randrange(1, 24))] for _ in range(40)]


@pytest.mark.oracle
def test_buffer_agrees_with_nodes_own_buffer() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    cases = payloads()
    node_run = subprocess.run(
        [node, "-e", NODE_MAIN],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    expected = json.loads(node_run.stdout)
    runner = javascript.ScriptRunner(time_limit_s=2.0)
    differences = {}
    for bytes_, theirs in zip(cases, expected, strict=True):
        ours = runner.call(CODEC, "decodeUplink", {"bytes": bytes_, "fPort": 1, "variables": {}})["data"]
        assert len(theirs) > 100 and set(ours) == set(theirs)  # the exercise really ran, on both sides
        for key in theirs:
            if ours[key] != theirs[key]:
                differences[f"{bytes_} {key}"] = (ours[key], theirs[key])
    assert not differences, f"(ours, node's): {differences}"


# A decoder written the way device makers publish theirs for ChirpStack: a Buffer over the bytes, typed
# big- and little-endian reads, a hex dump of the raw frame.
VENDOR_DECODER = r"""
function decodeUplink(input) {
  var buf = Buffer.from(input.bytes);
  if (input.fPort !== 2) return { errors: ["unknown port " + input.fPort] };
  var type = buf.readUInt8(0);
  var data = { raw: buf.toString("hex"), frameType: type };
  if (type === 0x01) {
    data.temperature = buf.readInt16BE(1) / 100;
    data.humidity = buf.readUInt8(3) / 2;
    data.battery_mV = buf.readUInt16LE(4);
    data.counter = buf.readUInt32BE(6);
    data.pressure_hPa = Math.round(buf.readFloatLE(10) * 10) / 10;
  } else if (type === 0x02) {
    data.serial = buf.toString("ascii", 1);
  } else {
    return { errors: ["unknown frame type " + type], warnings: ["check firmware"] };
  }
  return { data: data };
}
function encodeDownlink(input) {
  var buf = Buffer.alloc(4);
  buf.writeUInt8(0x10, 0);
  buf.writeUInt16BE(input.data.interval_s, 1);
  buf.writeInt8(input.data.offset || 0, 3);
  return { bytes: buf, fPort: 3 };
}
"""

# A ChirpStack v3 device-profile codec, unchanged: Decode/Encode, no v4 entry points.
V3_CODEC = r"""
// Decode decodes an array of bytes into an object.
function Decode(fPort, bytes, variables) {
  var b = Buffer.from(bytes);
  return { port: fPort, level: b.readUInt16BE(0), alarm: (bytes[2] & 0x01) === 1,
           site: variables.site, b64: Buffer.from(bytes).toString("base64") };
}
// Encode encodes the given object into an array of bytes.
function Encode(fPort, obj, variables) {
  if (fPort === 5) return [obj.valve ? 1 : 0];
  return Array.prototype.slice.call(Buffer.from(obj.text, "utf8"));
}
"""


def test_a_vendor_style_decoder_with_buffer_reads() -> None:
    frame = bytes([0x01, 0x09, 0x29, 0x5A, 0xE4, 0x0C, 0x00, 0x00, 0x01, 0x02]) + bytes.fromhex("66867c44")
    result = decode_uplink(Codec("javascript", VENDOR_DECODER), f_port=2, data=frame)
    assert result.errors == [] and result.object == {
        "raw": frame.hex(), "frameType": 1, "temperature": 23.45, "humidity": 45.0, "battery_mV": 3300,
        "counter": 258, "pressure_hPa": 1010.1,
    }  # fmt: skip
    serial = decode_uplink(Codec("javascript", VENDOR_DECODER), f_port=2, data=b"\x02SN-0042")
    assert serial.object == {"raw": b"\x02SN-0042".hex(), "frameType": 2, "serial": "SN-0042"}
    unknown = decode_uplink(Codec("javascript", VENDOR_DECODER), f_port=2, data=b"\x07")
    assert unknown.object is None and unknown.errors == ["unknown frame type 7"]
    short = decode_uplink(Codec("javascript", VENDOR_DECODER), f_port=2, data=b"\x01\x00")
    assert short.object is None and "RangeError" in short.errors[0]  # a read past the end, as in Node


def test_a_vendor_style_encoder_may_return_a_buffer() -> None:
    port, data = encode_downlink(Codec("javascript", VENDOR_DECODER), f_port=None,
                                 obj={"interval_s": 900, "offset": -3})  # fmt: skip
    assert (port, data) == (3, bytes([0x10, 0x03, 0x84, 0xFD]))


def test_a_chirpstack_v3_codec_works_unchanged() -> None:
    codec = Codec("javascript", V3_CODEC)
    result = decode_uplink(codec, f_port=7, data=bytes([0x01, 0xF4, 0x01]), variables={"site": "north"})
    assert result.object == {"port": 7, "level": 500, "alarm": True, "site": "north", "b64": "AfQB"}
    assert encode_downlink(codec, f_port=5, obj={"valve": True}) == (5, b"\x01")
    assert encode_downlink(codec, f_port=9, obj={"text": "hé"}) == (9, "hé".encode())


def test_a_script_with_neither_entry_point_says_so() -> None:
    result = decode_uplink(Codec("javascript", "function Other() {}"), f_port=1, data=b"\x00")
    assert result.object is None and "Decode(fPort, bytes, variables)" in result.errors[0]


def test_scripts_cannot_replace_the_buffer_other_scripts_see() -> None:
    """Each script has its own realm: one that overwrites Buffer does not change another's."""
    vandal = "Buffer = null; function decodeUplink(i) { return { data: { b: typeof Buffer } }; }"
    honest = "function decodeUplink(i) { return { data: { b: typeof Buffer.from } }; }"
    runner = javascript.ScriptRunner()
    args = {"bytes": [1], "fPort": 1, "variables": {}}
    assert runner.call(vandal, "decodeUplink", args)["data"] == {"b": "object"}
    assert runner.call(honest, "decodeUplink", args)["data"] == {"b": "function"}
