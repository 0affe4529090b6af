// `Buffer` for codec scripts: the part of Node's Buffer API that payload codecs use, as ChirpStack v4
// offers it to its scripts (a global `Buffer`, backed there by the npm `buffer` package). A Uint8Array
// subclass, so indexing, `length`, `subarray` and `indexOf` behave as in Node; reads and writes check
// their bounds and values and throw RangeError as Node does. Written for Loraless; checked against
// Node's own Buffer by tests/unit/test_codec_buffer.py.
(function () {
  "use strict";
  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const B64_INDEX = {};
  for (let i = 0; i < 64; i++) B64_INDEX[B64[i]] = i;
  B64_INDEX["-"] = 62; // base64url
  B64_INDEX["_"] = 63;

  function normalEncoding(encoding) {
    const name = String(encoding === undefined ? "utf8" : encoding).toLowerCase();
    switch (name) {
      case "utf8": case "utf-8": return "utf8";
      case "hex": return "hex";
      case "base64": return "base64";
      case "base64url": return "base64url";
      case "ascii": return "ascii";
      case "latin1": case "binary": return "latin1";
      case "ucs2": case "ucs-2": case "utf16le": case "utf-16le": return "utf16le";
      default: throw new TypeError("Unknown encoding: " + encoding);
    }
  }

  function utf8Bytes(text) {
    const out = [];
    for (let i = 0; i < text.length; i++) {
      let code = text.charCodeAt(i);
      if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
        const next = text.charCodeAt(i + 1);
        if (next >= 0xdc00 && next <= 0xdfff) {
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
          i++;
        } else code = 0xfffd;
      } else if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
      if (code < 0x80) out.push(code);
      else if (code < 0x800) out.push(0xc0 | (code >> 6), 0x80 | (code & 63));
      else if (code < 0x10000) out.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
      else out.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    }
    return out;
  }

  // The WHATWG Encoding Standard's UTF-8 decoder (one U+FFFD per maximal invalid subpart), as Node's.
  function utf8Text(bytes, start, end) {
    let text = "";
    let codePoint = 0, needed = 0, seen = 0, lower = 0x80, upper = 0xbf;
    for (let i = start; i < end; i++) {
      const byte = bytes[i];
      if (needed === 0) {
        if (byte <= 0x7f) text += String.fromCharCode(byte);
        else if (byte >= 0xc2 && byte <= 0xdf) { needed = 1; codePoint = byte & 0x1f; }
        else if (byte >= 0xe0 && byte <= 0xef) {
          if (byte === 0xe0) lower = 0xa0;
          if (byte === 0xed) upper = 0x9f;
          needed = 2; codePoint = byte & 0xf;
        } else if (byte >= 0xf0 && byte <= 0xf4) {
          if (byte === 0xf0) lower = 0x90;
          if (byte === 0xf4) upper = 0x8f;
          needed = 3; codePoint = byte & 0x7;
        } else text += "\ufffd";
        continue;
      }
      if (byte < lower || byte > upper) {
        codePoint = needed = seen = 0; lower = 0x80; upper = 0xbf;
        text += "\ufffd";
        i--; // this byte starts afresh
        continue;
      }
      lower = 0x80; upper = 0xbf;
      codePoint = (codePoint << 6) | (byte & 0x3f);
      if (++seen === needed) {
        text += String.fromCodePoint(codePoint);
        codePoint = needed = seen = 0;
      }
    }
    if (needed) text += "\ufffd";
    return text;
  }

  function hexBytes(text) {
    const out = [];
    for (let i = 0; i + 1 < text.length; i += 2) {
      const value = parseInt(text.substr(i, 2), 16);
      if (Number.isNaN(value) || !/^[0-9a-fA-F]{2}$/.test(text.substr(i, 2))) break; // Node stops here
      out.push(value);
    }
    return out;
  }

  function base64Bytes(text) {
    const out = [];
    let bits = 0;
    let count = 0;
    for (let i = 0; i < text.length; i++) {
      const value = B64_INDEX[text[i]];
      if (value === undefined) {
        if (text[i] === "=") break;
        continue; // Node skips whitespace and other characters
      }
      bits = (bits << 6) | value;
      count += 6;
      if (count >= 8) {
        count -= 8;
        out.push((bits >> count) & 0xff);
      }
    }
    return out;
  }

  function base64Text(bytes, start, end, url) {
    const alphabet = url ? B64.slice(0, 62) + "-_" : B64;
    let text = "";
    for (let i = start; i < end; i += 3) {
      const a = bytes[i], b = i + 1 < end ? bytes[i + 1] : 0, c = i + 2 < end ? bytes[i + 2] : 0;
      const triple = (a << 16) | (b << 8) | c;
      text += alphabet[(triple >> 18) & 63] + alphabet[(triple >> 12) & 63];
      text += i + 1 < end ? alphabet[(triple >> 6) & 63] : url ? "" : "=";
      text += i + 2 < end ? alphabet[triple & 63] : url ? "" : "=";
    }
    return text;
  }

  function bytesOf(text, encoding) {
    switch (normalEncoding(encoding)) {
      case "utf8": return utf8Bytes(text);
      case "hex": return hexBytes(text);
      case "base64": case "base64url": return base64Bytes(text);
      case "ascii": case "latin1": return Array.from(text, (c) => c.charCodeAt(0) & 0xff);
      case "utf16le": {
        const out = [];
        for (let i = 0; i < text.length; i++) out.push(text.charCodeAt(i) & 0xff, text.charCodeAt(i) >> 8);
        return out;
      }
    }
  }

  function checkOffset(buf, offset, size) {
    if (offset === undefined) offset = 0;
    if (typeof offset !== "number" || !Number.isInteger(offset)) {
      throw new TypeError('The "offset" argument must be an integer. Received ' + offset);
    }
    if (offset < 0 || offset + size > buf.length) {
      throw new RangeError('The value of "offset" is out of range. It must be >= 0 and <= ' + (buf.length - size) + ". Received " + offset);
    }
    return offset;
  }

  function checkValue(value, min, max) {
    if (typeof value !== "number" || value > max || value < min) {
      throw new RangeError('The value of "value" is out of range. It must be >= ' + min + " and <= " + max + ". Received " + value);
    }
  }

  function view(buf) {
    return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  class Buffer extends Uint8Array {
    constructor(arg, encodingOrOffset, length) {
      if (typeof arg === "string") super(bytesOf(arg, encodingOrOffset));
      else if (arg instanceof ArrayBuffer) super(arg, encodingOrOffset || 0, length === undefined ? arg.byteLength - (encodingOrOffset || 0) : length);
      else if (typeof arg === "number") super(arg);
      else if (arg && arg.type === "Buffer" && Array.isArray(arg.data)) super(arg.data);
      else super(arg);
    }

    static from(value, encodingOrOffset, length) {
      if (typeof value === "number") throw new TypeError('The "value" argument must not be of type number');
      if (value instanceof ArrayBuffer) return new Buffer(value, encodingOrOffset, length);
      if (ArrayBuffer.isView(value)) return new Buffer(Array.from(value));
      return new Buffer(value, encodingOrOffset);
    }

    static alloc(size, fill, encoding) {
      const buf = new Buffer(size);
      if (fill !== undefined && fill !== 0) buf.fill(fill, 0, size, encoding);
      return buf;
    }

    static allocUnsafe(size) { return new Buffer(size); }

    static isBuffer(value) { return value instanceof Buffer; }

    static isEncoding(encoding) {
      try { normalEncoding(encoding); return typeof encoding === "string"; } catch (e) { return false; }
    }

    static byteLength(value, encoding) {
      return typeof value === "string" ? bytesOf(value, encoding).length : value.byteLength;
    }

    static concat(list, totalLength) {
      const size = totalLength === undefined ? list.reduce((n, b) => n + b.length, 0) : totalLength;
      const out = Buffer.alloc(size);
      let at = 0;
      for (const part of list) {
        for (let i = 0; i < part.length && at < size; i++) out[at++] = part[i];
      }
      return out;
    }

    static compare(a, b) { return a.compare(b); }

    toString(encoding, start, end) {
      start = Math.max(0, start === undefined ? 0 : start | 0);
      end = Math.min(this.length, end === undefined ? this.length : end | 0);
      if (end <= start) return "";
      switch (normalEncoding(encoding)) {
        case "utf8": return utf8Text(this, start, end);
        case "hex": {
          let text = "";
          for (let i = start; i < end; i++) text += (this[i] < 16 ? "0" : "") + this[i].toString(16);
          return text;
        }
        case "base64": return base64Text(this, start, end, false);
        case "base64url": return base64Text(this, start, end, true);
        case "ascii": {
          let text = "";
          for (let i = start; i < end; i++) text += String.fromCharCode(this[i] & 0x7f);
          return text;
        }
        case "latin1": {
          let text = "";
          for (let i = start; i < end; i++) text += String.fromCharCode(this[i]);
          return text;
        }
        case "utf16le": {
          let text = "";
          for (let i = start; i + 1 < end; i += 2) text += String.fromCharCode(this[i] | (this[i + 1] << 8));
          return text;
        }
      }
    }

    toJSON() { return { type: "Buffer", data: Array.from(this) }; }

    equals(other) { return this.compare(other) === 0; }

    compare(other) {
      const n = Math.min(this.length, other.length);
      for (let i = 0; i < n; i++) if (this[i] !== other[i]) return this[i] < other[i] ? -1 : 1;
      return this.length === other.length ? 0 : this.length < other.length ? -1 : 1;
    }

    slice(start, end) { return this.subarray(start, end); } // a view, as Node's

    copy(target, targetStart, sourceStart, sourceEnd) {
      targetStart = targetStart || 0;
      sourceStart = sourceStart || 0;
      sourceEnd = sourceEnd === undefined ? this.length : sourceEnd;
      if (targetStart < 0) throw new RangeError('The value of "targetStart" is out of range.');
      if (sourceStart < 0 || sourceStart > this.length) throw new RangeError('The value of "sourceStart" is out of range.');
      let copied = 0;
      while (sourceStart + copied < sourceEnd && targetStart + copied < target.length) {
        target[targetStart + copied] = this[sourceStart + copied];
        copied++;
      }
      return copied;
    }

    fill(value, offset, end, encoding) {
      if (typeof offset === "string") { encoding = offset; offset = 0; end = this.length; }
      offset = offset === undefined ? 0 : offset;
      end = end === undefined ? this.length : end;
      if (typeof value === "string") {
        const pattern = bytesOf(value, encoding);
        if (pattern.length === 0) return super.fill(0, offset, end);
        for (let i = offset; i < end; i++) this[i] = pattern[(i - offset) % pattern.length];
        return this;
      }
      return super.fill(typeof value === "number" ? value & 255 : 0, offset, end);
    }

    write(text, offset, length, encoding) {
      if (typeof offset === "string") { encoding = offset; offset = 0; length = undefined; }
      else if (typeof length === "string") { encoding = length; length = undefined; }
      offset = offset === undefined ? 0 : offset;
      const bytes = bytesOf(text, encoding);
      const n = Math.min(bytes.length, this.length - offset, length === undefined ? Infinity : length);
      for (let i = 0; i < n; i++) this[offset + i] = bytes[i];
      return n;
    }

    readUInt8(offset) { return this[checkOffset(this, offset, 1)]; }
    readInt8(offset) { return view(this).getInt8(checkOffset(this, offset, 1)); }
    readUInt16LE(offset) { return view(this).getUint16(checkOffset(this, offset, 2), true); }
    readUInt16BE(offset) { return view(this).getUint16(checkOffset(this, offset, 2), false); }
    readInt16LE(offset) { return view(this).getInt16(checkOffset(this, offset, 2), true); }
    readInt16BE(offset) { return view(this).getInt16(checkOffset(this, offset, 2), false); }
    readUInt32LE(offset) { return view(this).getUint32(checkOffset(this, offset, 4), true); }
    readUInt32BE(offset) { return view(this).getUint32(checkOffset(this, offset, 4), false); }
    readInt32LE(offset) { return view(this).getInt32(checkOffset(this, offset, 4), true); }
    readInt32BE(offset) { return view(this).getInt32(checkOffset(this, offset, 4), false); }
    readFloatLE(offset) { return view(this).getFloat32(checkOffset(this, offset, 4), true); }
    readFloatBE(offset) { return view(this).getFloat32(checkOffset(this, offset, 4), false); }
    readDoubleLE(offset) { return view(this).getFloat64(checkOffset(this, offset, 8), true); }
    readDoubleBE(offset) { return view(this).getFloat64(checkOffset(this, offset, 8), false); }
    readBigUInt64LE(offset) { return view(this).getBigUint64(checkOffset(this, offset, 8), true); }
    readBigUInt64BE(offset) { return view(this).getBigUint64(checkOffset(this, offset, 8), false); }
    readBigInt64LE(offset) { return view(this).getBigInt64(checkOffset(this, offset, 8), true); }
    readBigInt64BE(offset) { return view(this).getBigInt64(checkOffset(this, offset, 8), false); }

    readUIntLE(offset, byteLength) {
      checkOffset(this, offset, byteLength);
      let value = 0;
      for (let i = byteLength - 1; i >= 0; i--) value = value * 256 + this[offset + i];
      return value;
    }
    readUIntBE(offset, byteLength) {
      checkOffset(this, offset, byteLength);
      let value = 0;
      for (let i = 0; i < byteLength; i++) value = value * 256 + this[offset + i];
      return value;
    }
    readIntLE(offset, byteLength) {
      const value = this.readUIntLE(offset, byteLength);
      return value >= 2 ** (8 * byteLength - 1) ? value - 2 ** (8 * byteLength) : value;
    }
    readIntBE(offset, byteLength) {
      const value = this.readUIntBE(offset, byteLength);
      return value >= 2 ** (8 * byteLength - 1) ? value - 2 ** (8 * byteLength) : value;
    }

    writeUInt8(value, offset) { checkValue(value, 0, 0xff); this[checkOffset(this, offset, 1)] = value; return (offset || 0) + 1; }
    writeInt8(value, offset) { checkValue(value, -0x80, 0x7f); view(this).setInt8(checkOffset(this, offset, 1), value); return (offset || 0) + 1; }
    writeUInt16LE(value, offset) { checkValue(value, 0, 0xffff); view(this).setUint16(checkOffset(this, offset, 2), value, true); return (offset || 0) + 2; }
    writeUInt16BE(value, offset) { checkValue(value, 0, 0xffff); view(this).setUint16(checkOffset(this, offset, 2), value, false); return (offset || 0) + 2; }
    writeInt16LE(value, offset) { checkValue(value, -0x8000, 0x7fff); view(this).setInt16(checkOffset(this, offset, 2), value, true); return (offset || 0) + 2; }
    writeInt16BE(value, offset) { checkValue(value, -0x8000, 0x7fff); view(this).setInt16(checkOffset(this, offset, 2), value, false); return (offset || 0) + 2; }
    writeUInt32LE(value, offset) { checkValue(value, 0, 0xffffffff); view(this).setUint32(checkOffset(this, offset, 4), value, true); return (offset || 0) + 4; }
    writeUInt32BE(value, offset) { checkValue(value, 0, 0xffffffff); view(this).setUint32(checkOffset(this, offset, 4), value, false); return (offset || 0) + 4; }
    writeInt32LE(value, offset) { checkValue(value, -0x80000000, 0x7fffffff); view(this).setInt32(checkOffset(this, offset, 4), value, true); return (offset || 0) + 4; }
    writeInt32BE(value, offset) { checkValue(value, -0x80000000, 0x7fffffff); view(this).setInt32(checkOffset(this, offset, 4), value, false); return (offset || 0) + 4; }
    writeFloatLE(value, offset) { view(this).setFloat32(checkOffset(this, offset, 4), value, true); return (offset || 0) + 4; }
    writeFloatBE(value, offset) { view(this).setFloat32(checkOffset(this, offset, 4), value, false); return (offset || 0) + 4; }
    writeDoubleLE(value, offset) { view(this).setFloat64(checkOffset(this, offset, 8), value, true); return (offset || 0) + 8; }
    writeDoubleBE(value, offset) { view(this).setFloat64(checkOffset(this, offset, 8), value, false); return (offset || 0) + 8; }

    writeUIntLE(value, offset, byteLength) {
      checkValue(value, 0, 2 ** (8 * byteLength) - 1);
      checkOffset(this, offset, byteLength);
      for (let i = 0; i < byteLength; i++) { this[offset + i] = value % 256; value = Math.floor(value / 256); }
      return offset + byteLength;
    }
    writeUIntBE(value, offset, byteLength) {
      checkValue(value, 0, 2 ** (8 * byteLength) - 1);
      checkOffset(this, offset, byteLength);
      for (let i = byteLength - 1; i >= 0; i--) { this[offset + i] = value % 256; value = Math.floor(value / 256); }
      return offset + byteLength;
    }
    writeIntLE(value, offset, byteLength) {
      const limit = 2 ** (8 * byteLength - 1);
      checkValue(value, -limit, limit - 1);
      return this.writeUIntLE(value < 0 ? value + 2 * limit : value, offset, byteLength);
    }
    writeIntBE(value, offset, byteLength) {
      const limit = 2 ** (8 * byteLength - 1);
      checkValue(value, -limit, limit - 1);
      return this.writeUIntBE(value < 0 ? value + 2 * limit : value, offset, byteLength);
    }
  }

  // Node's lower-case aliases (readUint16LE, writeUint8, ...)
  for (const name of Object.getOwnPropertyNames(Buffer.prototype)) {
    const alias = name.replace(/^(read|write)(Big)?UInt/, "$1$2Uint");
    if (alias !== name) Buffer.prototype[alias] = Buffer.prototype[name];
  }
  globalThis.Buffer = Buffer;
})();
