// The LoRaWAN frames of a device or gateway, live: polls GET .../frames?since=<newest> every 2 s (which is
// also what tells the network server that someone watches, so it logs the frames at all).
import { Fragment } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { Badge, ErrorText, useApp } from "./components.jsx";
import { Dashboard } from "./dashboard.jsx";
import { mergeEvents, newestId, shortTime } from "./model.js";
import { frameDirection, frameSummary, radioSummary, txAcks } from "./radio.js";

const KIND = { up: "up", down: "downlink", ack: "txack", rejected: "log" };

export function LiveFrames({ path, gateway = false }) {
  const { api } = useApp();
  const [frames, setFrames] = useState([]);
  const [error, setError] = useState(null);
  const [paused, setPaused] = useState(false);
  const [open, setOpen] = useState(null);
  const newest = useRef(null);
  useEffect(() => {
    if (paused) return undefined;
    let stopped = false;
    let timer;
    const tick = async () => {
      try {
        const page = await api.get(path, { since: newest.current ?? undefined, limit: 50 });
        if (stopped) return;
        const items = page?.items || [];
        if (items.length) {
          newest.current = newestId(items, newest.current);
          setFrames((known) => mergeEvents(known, items, 300));
        }
        setError(null);
      } catch (failure) {
        if (!stopped) setError(failure);
      }
      if (!stopped) timer = setTimeout(tick, 2000);
    };
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [path, paused]);
  const acks = txAcks(frames);
  return (
    <section class="card events">
      <header class="section-head">
        <h2>
          LoRaWAN frames {!paused && <span class="pulse" title="Live: polling every 2 s" />}
        </h2>
        <button type="button" onClick={() => setPaused(!paused)}>{paused ? "Resume" : "Pause"}</button>
      </header>
      <p class="muted small">
        {gateway
          ? "Frames are logged while this page is open, from at most 30 s after it opened (and kept three days); the dashboard counts the gateway's own statistics."
          : "Frames are logged while this page is open (and kept three days); counters for the dashboard always."}
      </p>
      <ErrorText error={error} />
      {frames.length === 0 ? (
        <p class="muted">No frames yet; they appear here as the network handles them.</p>
      ) : (
        <table class="list compact frames" aria-label="LoRaWAN frames">
          <thead>
            <tr>
              <th>Time</th>
              <th>Direction</th>
              <th>Type</th>
              <th>Fields</th>
              <th>Radio</th>
            </tr>
          </thead>
          <tbody>
            {frames.map((frame) => {
              const direction = frameDirection(frame);
              const ack = frame.kind === "downlink" ? acks[frame.downlink_id] : null;
              return (
                <Fragment key={frame.id}>
                  <tr class={`event ${KIND[direction]}`} onClick={() => setOpen(open === frame.id ? null : frame.id)}>
                    <td>{shortTime(frame.time)}</td>
                    <td><Badge kind={direction === "rejected" ? "danger" : direction}>{direction}</Badge></td>
                    <td>
                      {frame.kind === "tx_ack" ? "TX ack" : frame.decoded?.mtype || "?"}
                      {frame.reason && <Badge kind="danger">{frame.reason.replace(/_/g, " ")}</Badge>}
                    </td>
                    <td class="summary">{frame.kind === "tx_ack" ? `downlink ${frame.downlink_id}` : frameSummary(frame)}</td>
                    <td class="summary">
                      {radioSummary(frame)}
                      {ack && <> · <Badge kind={ack.status === "OK" ? "ok" : "danger"}>{ack.status === "OK" ? `sent ${ack.window}` : ack.status}</Badge></>}
                    </td>
                  </tr>
                  {open === frame.id && (
                    <tr class="body">
                      <td colSpan={5}>
                        <pre>{JSON.stringify({ phy_payload: frame.phy_payload, ...frame.decoded }, null, 2)}</pre>
                        {frame.rx && <pre>{JSON.stringify(frame.rx, null, 2)}</pre>}
                        {frame.windows && <pre>{JSON.stringify(frame.windows, null, 2)}</pre>}
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Frames and dashboard as two tabs; the frames tab polls (and so makes the network log) only while shown. */
export function RadioTabs({ base, gateway = false }) {
  const [tab, setTab] = useState("frames");
  return (
    <div class="radio-tabs">
      <nav class="tabs" role="tablist">
        <button type="button" role="tab" aria-selected={tab === "frames"} class={tab === "frames" ? "active" : ""} onClick={() => setTab("frames")}>
          LoRaWAN frames
        </button>
        <button type="button" role="tab" aria-selected={tab === "dashboard"} class={tab === "dashboard" ? "active" : ""} onClick={() => setTab("dashboard")}>
          Dashboard
        </button>
      </nav>
      {tab === "frames" ? <LiveFrames path={`${base}/frames`} gateway={gateway} /> : <Dashboard path={`${base}/metrics`} gateway={gateway} />}
    </div>
  );
}
