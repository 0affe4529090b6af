// Pure helpers for the LoRaWAN frames and the dashboards: one line per frame, the time ranges, and the
// geometry of line and bar charts (values may be negative, as RSSI is). No DOM, so `node --test` checks it.
import { niceMax } from "./model.js";

/** The dashboards' periods: the API's `start` and `aggregation` for each. */
export const PERIODS = [
  { id: "24h", label: "24 hours", hours: 24, aggregation: "hour" },
  { id: "7d", label: "7 days", hours: 24 * 7, aggregation: "day" },
  { id: "31d", label: "31 days", hours: 24 * 31, aggregation: "day" },
];

export function periodQuery(id, now = Date.now()) {
  const period = PERIODS.find((p) => p.id === id) || PERIODS[0];
  const start = new Date(now - (period.hours - 1) * 3600 * 1000);
  return { start: start.toISOString().replace(/\.\d{3}Z$/, "Z"), aggregation: period.aggregation };
}

/** "up" or "down" and a short label for a logged frame. */
export function frameDirection(frame) {
  if (frame.kind === "downlink") return "down";
  if (frame.kind === "tx_ack") return "ack";
  if (frame.kind === "rejected") return "rejected";
  return "up";
}

const WINDOW_TEXT = (w) => `${w.window} ${mhz(w.frequency)} DR${w.dr ?? "?"}${w.delay ? ` +${w.delay}` : ""}`;
const mhz = (hz) => (hz ? `${(hz / 1e6).toFixed(1)} MHz` : "");

/** The radio side of a frame in one line: every gateway's RSSI/SNR for an uplink, the windows of a downlink. */
export function radioSummary(frame) {
  if (frame.kind === "tx_ack") {
    return frame.status === "OK" ? `sent in ${frame.window} by ${frame.gateway_id}` : `not sent: ${frame.status}`;
  }
  if (frame.kind === "downlink") {
    return `${frame.gateway_id} · ${(frame.windows || []).map(WINDOW_TEXT).join(", then ")}`;
  }
  const rx = (frame.rx || []).map((r) => `${r.gateway_id} ${r.rssi} dBm / ${r.snr} dB`).join(", ");
  const tx = frame.dr !== undefined ? `DR${frame.dr} ${mhz(frame.frequency)}` : "";
  return [tx, rx].filter(Boolean).join(" · ");
}

/** The decoded PHYPayload in one line: MType, DevAddr, FCnt, FPort, FCtrl bits set, MAC commands. */
export function frameSummary(frame) {
  const d = frame.decoded || {};
  if (d.error) return `undecodable: ${d.error}`;
  const parts = [];
  if (d.dev_addr) parts.push(`DevAddr ${d.dev_addr}`);
  if (d.dev_eui) parts.push(`DevEUI ${d.dev_eui}`);
  if (d.f_cnt !== undefined) parts.push(`FCnt ${d.f_cnt}`);
  if (d.f_port !== undefined) parts.push(`FPort ${d.f_port}`);
  const bits = Object.entries(d.f_ctrl || {}).filter(([k, v]) => v === true).map(([k]) => k.toUpperCase());
  if (bits.length) parts.push(bits.join(" "));
  const commands = (d.mac_commands || []).map((c) => c.name);
  if (commands.length) parts.push(commands.join(", "));
  return parts.join(" · ");
}

/** TX acknowledgements by downlink id, so a downlink row can say whether and in which window it went. */
export function txAcks(frames) {
  const acks = {};
  for (const f of frames) if (f.kind === "tx_ack") acks[f.downlink_id] = f;
  return acks;
}

const round = (v) => Math.round(v * 10) / 10;

/** Lines over time for `keys`, y from the data's own range (negative allowed); null values leave gaps. */
export function lineGeometry(items, keys, { width, height, pad = 40 }) {
  const values = items.flatMap((item) => keys.map((k) => item[k])).filter((v) => typeof v === "number");
  let low = values.length ? Math.min(0, ...values) : 0;
  let high = values.length ? Math.max(0, ...values) : 1;
  if (low < 0 && high <= 0) {
    low = -niceMax(-low);
    high = 0;
  } else {
    high = niceMax(high);
    low = low < 0 ? -niceMax(-low) : 0;
  }
  const innerW = width - pad * 1.5;
  const innerH = height - pad * 1.5;
  const x = (i) => pad + (items.length > 1 ? (i / (items.length - 1)) * innerW : innerW / 2);
  const y = (v) => pad / 2 + innerH - ((v - low) / (high - low || 1)) * innerH;
  const series = keys.map((key) => {
    const segments = [];
    let current = [];
    items.forEach((item, i) => {
      if (typeof item[key] === "number") current.push([round(x(i)), round(y(item[key]))]);
      else if (current.length) {
        segments.push(current);
        current = [];
      }
    });
    if (current.length) segments.push(current);
    return { key, segments };
  });
  const ticks = [low, (low + high) / 2, high].map((v) => ({ value: v, y: round(y(v)) }));
  const labels = items.map((item, i) => ({ x: round(x(i)), time: item.time }));
  return { low, high, series, ticks, labels, left: pad, right: round(pad + innerW) };
}

/** Horizontal bars for a distribution {label: count}, longest first. */
export function barGeometry(counts, { width, row = 22, labelWidth = 110 }) {
  const entries = Object.entries(counts || {}).filter(([, v]) => v > 0);
  entries.sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...entries.map(([, v]) => v));
  const total = entries.reduce((n, [, v]) => n + v, 0);
  const span = width - labelWidth - 60;
  return {
    height: entries.length * row + 8,
    bars: entries.map(([label, value], i) => ({
      label,
      value,
      share: total ? Math.round((value / total) * 100) : 0,
      y: i * row + 4,
      width: round(Math.max(2, (value / max) * span)),
    })),
  };
}

/** Distribution labels as people read them: DR5, 868.1 MHz, "tx too late". */
export function distributionLabel(group, key) {
  if (group === "dr" || group === "tx_dr") return `DR${key}`;
  if (group === "frequency" || group === "tx_frequency") return mhz(Number(key));
  return key.replace(/_/g, " ");
}
