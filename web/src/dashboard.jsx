// A device's or gateway's dashboard (ChirpStack's): counts per hour or day, RSSI and SNR, and the use of
// data rates and frequencies and the errors by reason, all drawn as inline SVG from GET .../metrics.
import { useState } from "preact/hooks";
import { ErrorText, useApp, useLoad } from "./components.jsx";
import { shortTime } from "./model.js";
import { PERIODS, barGeometry, distributionLabel, lineGeometry, periodQuery } from "./radio.js";

const COLORS = ["#2563eb", "#d97706", "#16a34a", "#dc2626", "#7a5af8", "#0891b2"];

export function LineChart({ items, series, label, unit, width = 560, height = 200 }) {
  const keys = Object.keys(series);
  if (!items.some((item) => keys.some((k) => typeof item[k] === "number" && item[k] !== 0))) {
    return (
      <figure class="chart">
        <figcaption class="legend"><b>{label}</b> <span class="muted">nothing in this period</span></figcaption>
      </figure>
    );
  }
  const g = lineGeometry(items, keys, { width, height, pad: 44 });
  const every = Math.max(1, Math.ceil(g.labels.length / 6));
  const daily = items.length > 1 && Date.parse(items[1].time) - Date.parse(items[0].time) >= 86400000;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
        {g.ticks.map((t) => (
          <g key={t.value}>
            <line x1={g.left} x2={g.right} y1={t.y} y2={t.y} class="grid" />
            <text x={g.left - 6} y={t.y + 4} text-anchor="end" class="axis">{Math.round(t.value * 10) / 10}</text>
          </g>
        ))}
        {g.labels.map((l, i) =>
          i % every === 0 ? (
            <text key={l.time} x={l.x} y={height - 8} text-anchor="middle" class="axis">
              {daily ? shortTime(l.time).slice(5, 10) : shortTime(l.time).slice(11, 16)}
            </text>
          ) : null,
        )}
        {g.series.map((s, index) => (
          <g key={s.key}>
            {s.segments.map((points, j) => (
              <polyline key={j} points={points.map((p) => p.join(",")).join(" ")} fill="none"
                stroke={COLORS[index % COLORS.length]} stroke-width="2" />
            ))}
            {s.segments.flat().length < 60 &&
              s.segments.flat().map(([x, y], i) => <circle key={i} cx={x} cy={y} r="2.5" fill={COLORS[index % COLORS.length]} />)}
          </g>
        ))}
      </svg>
      <figcaption class="legend">
        <b>{label}</b>
        {keys.map((k, index) => (
          <span key={k}>
            <i style={{ background: COLORS[index % COLORS.length] }} /> {series[k]}
          </span>
        ))}
        {unit && <span class="muted">{unit}</span>}
      </figcaption>
    </figure>
  );
}

export function BarChart({ counts, group, label, width = 560 }) {
  const g = barGeometry(counts, { width, labelWidth: 110 });
  return (
    <figure class="chart">
      {g.bars.length ? (
        <svg viewBox={`0 0 ${width} ${g.height}`} role="img" aria-label={label}>
          {g.bars.map((b) => (
            <g key={b.label}>
              <text x={104} y={b.y + 14} text-anchor="end" class="axis">{distributionLabel(group, b.label)}</text>
              <rect x={110} y={b.y} width={b.width} height={16} rx="2" class={group === "errors" ? "bar error" : "bar"} />
              <text x={110 + b.width + 6} y={b.y + 13} class="axis">{`${b.value} (${b.share} %)`}</text>
            </g>
          ))}
        </svg>
      ) : null}
      <figcaption class="legend">
        <b>{label}</b> {!g.bars.length && <span class="muted">none in this period</span>}
      </figcaption>
    </figure>
  );
}

const DEVICE_COUNTS = { up: "uplinks", down: "downlinks", join: "joins", errors: "errors" };
// A gateway's figures are its own stats reports' (ChirpStack's gateway dashboard): the network writes
// nothing per frame a gateway hears, so there is no RSSI or SNR per gateway here; a frame's are in its log.
const GATEWAY_COUNTS = { rx_received: "received", rx_ok: "received OK", tx_received: "to transmit", tx_emitted: "transmitted", errors: "errors" };

/** `path` is /devices/<eui>/metrics or /gateways/<id>/metrics. */
export function Dashboard({ path, gateway = false }) {
  const { api } = useApp();
  const [period, setPeriod] = useState("24h");
  const metrics = useLoad(() => api.get(path, periodQuery(period)), [path, period]);
  const data = metrics.data;
  const per = data?.aggregation === "day" ? "per day" : "per hour";
  return (
    <section class="card dashboard">
      <header class="section-head">
        <h2>Dashboard</h2>
        <label class="inline">
          Period{" "}
          <select value={period} onChange={(e) => setPeriod(e.currentTarget.value)} aria-label="Dashboard period">
            {PERIODS.map((p) => <option key={p.id} value={p.id}>{p.label}</option>)}
          </select>
        </label>
        <button type="button" onClick={() => metrics.reload()}>Refresh</button>
      </header>
      <ErrorText error={metrics.error} />
      {data && (
        <div class="charts">
          <LineChart items={data.items} series={gateway ? GATEWAY_COUNTS : DEVICE_COUNTS} label="Frames" unit={`frames ${per} (UTC)`} />
          {!gateway && <LineChart items={data.items} series={{ rssi: "RSSI" }} label="RSSI of the best gateway" unit="dBm, mean" />}
          {!gateway && <LineChart items={data.items} series={{ snr: "SNR" }} label="SNR of the best gateway" unit="dB, mean" />}
          <BarChart counts={data.dr} group="dr" label={gateway ? "Received per data rate" : "Data rates"} />
          <BarChart counts={data.frequency} group="frequency" label={gateway ? "Received per frequency" : "Frequencies"} />
          {gateway && <BarChart counts={data.tx_dr} group="tx_dr" label="Transmitted per data rate" />}
          {gateway && <BarChart counts={data.tx_frequency} group="tx_frequency" label="Transmitted per frequency" />}
          <BarChart counts={data.errors} group="errors" label="Errors by reason" />
        </div>
      )}
    </section>
  );
}
