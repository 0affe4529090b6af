// Inline SVG: the hourly packet chart of a gateway and a plain lat/lon plot of gateways (no tile server,
// so it works offline).
import { chartGeometry, mapPoints, shortTime } from "./model.js";

const SERIES = {
  rx_received: { label: "received", color: "#2563eb" },
  rx_ok: { label: "received OK", color: "#16a34a" },
  tx_received: { label: "to transmit", color: "#d97706" },
  tx_emitted: { label: "transmitted", color: "#dc2626" },
};

export function StatsChart({ items, width = 720, height = 240 }) {
  const keys = Object.keys(SERIES);
  if (!items.length) return <p class="muted">No statistics for this period yet.</p>;
  const g = chartGeometry(items, keys, { width, height, pad: 44 });
  const every = Math.max(1, Math.ceil(g.labels.length / 8));
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label="Packets per hour">
        {g.ticks.map((t) => (
          <g key={t.value}>
            <line x1={g.left} x2={g.right} y1={t.y} y2={t.y} class="grid" />
            <text x={g.left - 6} y={t.y + 4} text-anchor="end" class="axis">
              {Number.isInteger(t.value) ? t.value : t.value.toFixed(1)}
            </text>
          </g>
        ))}
        {g.labels.map((l, i) =>
          i % every === 0 ? (
            <text key={l.time} x={l.x} y={height - 8} text-anchor="middle" class="axis">
              {shortTime(l.time).slice(11, 16)}
            </text>
          ) : null,
        )}
        {g.series.map((s) => (
          <g key={s.key}>
            <polyline points={s.points.map((p) => p.join(",")).join(" ")} fill="none" stroke={SERIES[s.key].color} stroke-width="2" />
            {s.points.length < 40 &&
              s.points.map(([x, y], i) => <circle key={i} cx={x} cy={y} r="2.5" fill={SERIES[s.key].color} />)}
          </g>
        ))}
      </svg>
      <figcaption class="legend">
        {keys.map((k) => (
          <span key={k}>
            <i style={{ background: SERIES[k].color }} /> {SERIES[k].label}
          </span>
        ))}
        <span class="muted">packets per hour (UTC)</span>
      </figcaption>
    </figure>
  );
}

export function GatewayMap({ gateways, width = 720, height = 300 }) {
  const points = mapPoints(gateways, { width, height, pad: 30 });
  if (!points.length) return <p class="muted">No gateway has a position yet.</p>;
  return (
    <figure class="map">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label="Gateway positions">
        <rect x="0" y="0" width={width} height={height} class="map-bg" />
        {points.map(({ gateway: g, x, y }) => (
          <a key={g.gateway_id} href={`/gateways/${g.gateway_id}`}>
            <circle cx={x} cy={y} r="7" class={g.online ? "gw online" : "gw offline"}>
              <title>{`${g.name || g.gateway_id} (${g.latitude}, ${g.longitude})`}</title>
            </circle>
            <text x={x + 10} y={y + 4} class="gw-label">
              {g.name || g.gateway_id}
            </text>
          </a>
        ))}
      </svg>
      <figcaption class="muted">Positions by latitude and longitude (north up); green is online.</figcaption>
    </figure>
  );
}
