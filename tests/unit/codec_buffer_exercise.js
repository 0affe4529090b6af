// The exercise tests/unit/test_codec_buffer.py runs with Node's Buffer and with the codec runtime's.
function attempt(f) {
  try { const v = f(); return typeof v === "bigint" ? "big:" + v.toString() : v; }
  catch (e) { return "throws:" + e.constructor.name; }
}
function exercise(bytes) {
  const b = Buffer.from(bytes);
  const out = {};
  const readers = ["readUInt8", "readInt8", "readUInt16LE", "readUInt16BE", "readInt16LE", "readInt16BE",
    "readUInt32LE", "readUInt32BE", "readInt32LE", "readInt32BE", "readFloatLE", "readFloatBE",
    "readDoubleLE", "readDoubleBE", "readBigUInt64LE", "readBigInt64BE", "readUint16LE", "readUint32BE"];
  for (const name of readers)
    for (let offset = -1; offset <= b.length; offset++) out[name + "@" + offset] = attempt(() => b[name](offset));
  for (let size = 1; size <= 6; size++)
    for (const name of ["readUIntLE", "readUIntBE", "readIntLE", "readIntBE"])
      out[name + size] = attempt(() => b[name](0, size));
  for (const enc of ["hex", "base64", "base64url", "latin1", "binary", "ascii", "utf8", "utf-8", "utf16le"]) {
    out["to:" + enc] = attempt(() => b.toString(enc));
    out["to:" + enc + ":1,3"] = attempt(() => b.toString(enc, 1, 3));
    out["back:" + enc] = attempt(() => Array.from(Buffer.from(b.toString(enc), enc)));
  }
  out.json = attempt(() => JSON.stringify(b));
  out.slice = attempt(() => b.slice(1, 4).toString("hex"));
  out.sliceIsView = attempt(() => { const c = Buffer.from(b); const s = c.slice(0, 1); s[0] = 9; return c[0]; });
  out.subarray = attempt(() => Buffer.isBuffer(b.subarray(1)));
  out.concat = attempt(() => Buffer.concat([b, Buffer.from([1, 2]), b.subarray(2)]).toString("hex"));
  out.concatCut = attempt(() => Buffer.concat([b, b], 3).toString("hex"));
  out.equals = attempt(() => b.equals(Buffer.from(bytes)));
  out.compare = attempt(() => b.compare(Buffer.from([128])));
  out.copy = attempt(() => { const t = Buffer.alloc(5, 0xaa); const n = b.copy(t, 1, 1); return [n, Array.from(t)]; });
  out.fillStr = attempt(() => Buffer.alloc(7, "ab").toString("hex"));
  out.fillHex = attempt(() => Buffer.alloc(5, "0a0b", "hex").toString("hex"));
  out.allocUnsafeLength = attempt(() => Buffer.allocUnsafe(3).length);
  out.byteLength = attempt(() => [Buffer.byteLength("héllo"), Buffer.byteLength("abcd", "hex"), Buffer.byteLength(b)]);
  out.isEncoding = attempt(() => [Buffer.isEncoding("hex"), Buffer.isEncoding("nope"), Buffer.isEncoding("UTF-8")]);
  out.writeString = attempt(() => { const t = Buffer.alloc(6); const n = t.write("hi\u00e9", 1); return [n, t.toString("hex")]; });
  out.hexOdd = attempt(() => Buffer.from("abc", "hex").toString("hex"));
  out.hexBad = attempt(() => Buffer.from("12zz34", "hex").toString("hex"));
  out.indexOf = attempt(() => b.indexOf(b.length ? b[b.length - 1] : 0));
  const writers = [["writeUInt8", 255], ["writeUInt8", 256], ["writeInt8", -128], ["writeInt8", 128],
    ["writeUInt16LE", 0xbeef], ["writeUInt16BE", 65536], ["writeInt16LE", -2], ["writeInt16BE", -32769],
    ["writeUInt32LE", 0xdeadbeef], ["writeUInt32BE", -1], ["writeInt32LE", -123456], ["writeInt32BE", 2 ** 31],
    ["writeFloatLE", 1.5], ["writeFloatBE", -0.25], ["writeDoubleLE", Math.PI], ["writeDoubleBE", -1e-300],
    ["writeUint16LE", 7]];
  for (const [name, value] of writers)
    for (const offset of [0, 1, Math.max(0, b.length - 2), b.length]) {
      out[name + "(" + value + ")@" + offset] = attempt(() => {
        const t = Buffer.alloc(Math.max(b.length, 1));
        const next = t[name](value, offset);
        return [next, t.toString("hex")];
      });
    }
  for (const [value, size] of [[0x123456, 3], [-2, 3], [2 ** 40, 6], [-(2 ** 47), 6], [300, 1]])
    for (const name of ["writeUIntLE", "writeUIntBE", "writeIntLE", "writeIntBE"])
      out[name + "(" + value + "," + size + ")"] = attempt(() => {
        const t = Buffer.alloc(6);
        return [t[name](value, 0, size), t.toString("hex")];
      });
  return out;
}
