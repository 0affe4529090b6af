// Pure helpers the pages share: who may write what, payload encodings, times, event summaries, and the
// geometry of the inline SVG chart and map. No DOM here, so `node --test` checks all of it.

/** What a role may change (docs/rest-api.md, Roles). `area`: org, devices, gateways, users. */
export function canWrite(area, { role, isAdmin }) {
  if (isAdmin) return true;
  if (role === "admin") return area !== "users";
  if (role === "device_admin") return area === "devices";
  if (role === "gateway_admin") return area === "gateways";
  return false;
}

export const ROLES = ["admin", "device_admin", "gateway_admin", "viewer"];
export const REGIONS = [
  "EU868", "US915", "CN779", "EU433", "AU915", "CN470-20A", "CN470-20B", "CN470-26A", "CN470-26B",
  "AS923-1", "AS923-2", "AS923-3", "AS923-4", "KR920", "IN865", "RU864",
]; // prettier-ignore
export const MAC_VERSIONS = ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4", "1.1.0"];
export const REG_PARAMS_REVISIONS = ["A", "B", "RP002-1.0.0", "RP002-1.0.1", "RP002-1.0.2", "RP002-1.0.3", "RP002-1.0.4"];
export const CODEC_KINDS = ["none", "cayenne_lpp", "javascript"];

export const isLoRaWAN11 = (macVersion) => String(macVersion || "").startsWith("1.1");

export function hexToBytes(hex) {
  const clean = hex.replace(/\s+/g, "");
  if (clean.length % 2 || /[^0-9a-fA-F]/.test(clean)) throw new Error("not an even number of hex digits");
  const bytes = new Uint8Array(clean.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

export function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function bytesToBase64(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

export function base64ToBytes(text) {
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** The queue's `data` for a downlink typed as hex, base64 or a JSON object (for the codec to encode). */
export function downlinkData(format, text) {
  const value = String(text ?? "").trim();
  if (format === "hex") return bytesToBase64(hexToBytes(value));
  if (format === "base64") {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4) throw new Error("not valid base64");
    return value;
  }
  if (format === "json") {
    let parsed;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new Error(`not valid JSON (${error.message})`);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new Error("a JSON object is needed");
    }
    return parsed;
  }
  throw new Error(`unknown format ${format}`);
}

export function randomHex(bytes) {
  const buffer = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buffer);
  return bytesToHex(buffer);
}

/** "12 s ago", "5 min ago", "3 h ago", "2 d ago"; "never" for no time. */
export function ago(iso, now = Date.now()) {
  if (!iso) return "never";
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return String(iso);
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

export function shortTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso ?? "");
  return date.toISOString().replace("T", " ").slice(0, 19);
}

/** Battery as the API gives it (0-254 per LoRaWAN DevStatusAns, or null) as a short text. */
export function batteryText(battery) {
  if (battery === null || battery === undefined) return "unknown";
  if (battery === 0) return "external power";
  if (battery === 255) return "not measurable";
  return `${Math.round((battery / 254) * 100)} %`;
}

/** The numeric MAC settings of a device profile (the API's `mac` object). */
export const MAC_NUMBERS = ["rx1_dr_offset", "max_eirp", "max_duty_cycle", "adr_ack_limit_exp", "adr_ack_delay_exp",
  "rejoin_max_time_n", "rejoin_max_count_n", "dev_status_every_s", "dev_status_every_uplinks"];

/** Extra channels as the profile form shows them: one "frequency min_dr max_dr" per line. */
export function channelsText(channels) {
  return (channels || []).map((c) => `${c.frequency} ${c.min_dr} ${c.max_dr}`).join("\n");
}

/** The form's extra-channel lines back to `[{frequency, min_dr, max_dr}]`; a bad line throws. */
export function parseChannels(text) {
  return String(text || "").split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
    const parts = line.split(/[\s,]+/).map(Number);
    if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n))) {
      throw new Error(`extra channel "${line}": give frequency (Hz), min DR and max DR`);
    }
    const [frequency, min_dr, max_dr] = parts;
    return { frequency, min_dr, max_dr };
  });
}

/** One line about an event, whatever shape its body has (ChirpStack-style camelCase or snake_case). */
export function eventSummary(event) {
  const body = event.body || {};
  const pick = (...names) => names.map((n) => body[n]).find((v) => v !== undefined && v !== null);
  const parts = [];
  const fCnt = pick("fCnt", "f_cnt", "f_cnt_up");
  const fPort = pick("fPort", "f_port");
  if (fCnt !== undefined) parts.push(`FCnt ${fCnt}`);
  if (fPort !== undefined) parts.push(`FPort ${fPort}`);
  const data = pick("data");
  if (typeof data === "string" && data) {
    try {
      parts.push(`data ${bytesToHex(base64ToBytes(data))}`);
    } catch {
      parts.push(`data ${data}`);
    }
  }
  const object = pick("object", "decoded");
  if (object && typeof object === "object") parts.push(JSON.stringify(object));
  const rx = Array.isArray(body.rxInfo) ? body.rxInfo[0] : null;
  if (rx) {
    if (rx.rssi !== undefined) parts.push(`RSSI ${rx.rssi}`);
    if (rx.snr !== undefined) parts.push(`SNR ${rx.snr}`);
  }
  for (const name of ["devAddr", "dev_addr", "status", "acknowledged", "queueItemId", "level", "code", "description", "message"]) {
    if (body[name] !== undefined && typeof body[name] !== "object") parts.push(`${name} ${body[name]}`);
  }
  if (!parts.length) {
    const text = JSON.stringify(body);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  }
  return parts.join(" · ");
}

/** The largest id among events (ids are time-ordered strings or numbers); what `since=` polls with. */
export function newestId(events, previous = null) {
  let newest = previous;
  for (const event of events) {
    if (newest === null || compareIds(event.id, newest) > 0) newest = event.id;
  }
  return newest;
}

export function compareIds(a, b) {
  if (typeof a === "number" && typeof b === "number") return a - b;
  const [x, y] = [String(a), String(b)];
  if (/^\d+$/.test(x) && /^\d+$/.test(y) && x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** New events merged in front of the known ones, newest first, without duplicates, at most `max`. */
export function mergeEvents(known, incoming, max = 200) {
  const seen = new Set(known.map((e) => e.id));
  const fresh = incoming.filter((e) => !seen.has(e.id));
  return [...fresh, ...known].sort((a, b) => compareIds(b.id, a.id)).slice(0, max);
}

/** A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `value`. */
export function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** Polylines for hourly stats: one series per key, x by time, y scaled to a nice maximum. */
export function chartGeometry(items, keys, { width, height, pad = 36 }) {
  const sorted = [...items].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  const max = niceMax(Math.max(0, ...sorted.flatMap((item) => keys.map((k) => Number(item[k]) || 0))));
  const innerW = width - pad * 1.5;
  const innerH = height - pad * 1.5;
  const x = (i) => pad + (sorted.length > 1 ? (i / (sorted.length - 1)) * innerW : innerW / 2);
  const y = (v) => pad / 2 + innerH - (v / max) * innerH;
  const series = keys.map((key) => ({
    key,
    points: sorted.map((item, i) => [round(x(i)), round(y(Number(item[key]) || 0))]),
  }));
  const ticks = [0, max / 2, max].map((v) => ({ value: v, y: round(y(v)) }));
  const labels = sorted.map((item, i) => ({ x: round(x(i)), time: item.time }));
  return { max, series, ticks, labels, baseline: round(y(0)), left: pad, right: round(pad + innerW) };
}

/** Gateways with coordinates placed in a width x height box (equirectangular, padded, aspect kept). */
export function mapPoints(gateways, { width, height, pad = 24 }) {
  const placed = gateways.filter(
    (g) => Number.isFinite(g.latitude) && Number.isFinite(g.longitude) && !(g.latitude === 0 && g.longitude === 0),
  );
  if (!placed.length) return [];
  const lats = placed.map((g) => g.latitude);
  const lons = placed.map((g) => g.longitude);
  const midLat = (Math.min(...lats) + Math.max(...lats)) / 2;
  const squeeze = Math.cos((midLat * Math.PI) / 180) || 1; // a degree of longitude is shorter away from the equator
  const spanX = Math.max((Math.max(...lons) - Math.min(...lons)) * squeeze, 1e-3);
  const spanY = Math.max(Math.max(...lats) - Math.min(...lats), 1e-3);
  const scale = Math.min((width - 2 * pad) / spanX, (height - 2 * pad) / spanY);
  const midLon = (Math.min(...lons) + Math.max(...lons)) / 2;
  return placed.map((g) => ({
    gateway: g,
    x: round(width / 2 + (g.longitude - midLon) * squeeze * scale),
    y: round(height / 2 - (g.latitude - midLat) * scale),
  }));
}

const round = (v) => Math.round(v * 10) / 10;
