import assert from "node:assert/strict";
import { test } from "node:test";
import {
  barGeometry, distributionLabel, frameDirection, frameSummary, lineGeometry, periodQuery, radioSummary, txAcks,
} from "../src/radio.js";

const uplink = {
  id: "1", kind: "uplink", dr: 5, frequency: 868100000,
  rx: [{ gateway_id: "aa", rssi: -110, snr: -3 }, { gateway_id: "bb", rssi: -80, snr: 9 }],
  decoded: { mtype: "ConfirmedDataUp", dev_addr: "26000001", f_cnt: 4, f_port: 1, f_ctrl: { adr: true, ack: false },
    mac_commands: [{ name: "LinkADRAns" }] },
};

test("a frame in one line: decoded fields, FCtrl bits set, MAC commands, every gateway's reception", () => {
  assert.equal(frameSummary(uplink), "DevAddr 26000001 · FCnt 4 · FPort 1 · ADR · LinkADRAns");
  assert.equal(radioSummary(uplink), "DR5 868.1 MHz · aa -110 dBm / -3 dB, bb -80 dBm / 9 dB");
  assert.equal(frameSummary({ decoded: { error: "too short" } }), "undecodable: too short");
  const down = { kind: "downlink", gateway_id: "aa", windows: [
    { window: "RX1", frequency: 868100000, dr: 5, delay: "1s" }, { window: "RX2", frequency: 869525000, dr: 0, delay: "2s" }] };
  assert.equal(radioSummary(down), "aa · RX1 868.1 MHz DR5 +1s, then RX2 869.5 MHz DR0 +2s");
  assert.equal(radioSummary({ kind: "tx_ack", status: "OK", window: "RX2", gateway_id: "aa" }), "sent in RX2 by aa");
  assert.equal(radioSummary({ kind: "tx_ack", status: "TOO_LATE" }), "not sent: TOO_LATE");
  assert.equal(frameDirection(down), "down");
  assert.equal(frameDirection({ kind: "rejected" }), "rejected");
  assert.deepEqual(Object.keys(txAcks([{ kind: "tx_ack", downlink_id: 7 }, uplink])), ["7"]);
});

test("periods: the API's start and aggregation", () => {
  const now = Date.parse("2026-12-04T10:30:00Z");
  assert.deepEqual(periodQuery("24h", now), { start: "2026-12-03T11:30:00Z", aggregation: "hour" });
  assert.equal(periodQuery("7d", now).aggregation, "day");
  assert.deepEqual(periodQuery("nonsense", now), periodQuery("24h", now));
});

test("line charts take negative values (RSSI) and leave gaps where there is no value", () => {
  const items = [{ time: "a", rssi: -60 }, { time: "b", rssi: null }, { time: "c", rssi: -120 }, { time: "d", rssi: -90 }];
  const g = lineGeometry(items, ["rssi"], { width: 400, height: 200, pad: 40 });
  assert.equal(g.high, 0);
  assert.equal(g.low, -200);
  assert.equal(g.series[0].segments.length, 2);
  assert.equal(g.series[0].segments[1].length, 2);
  const [top, bottom] = [g.ticks[2].y, g.ticks[0].y];
  assert.ok(top < bottom, "higher values are drawn higher");
  const counts = lineGeometry([{ time: "a", up: 3 }, { time: "b", up: 0 }], ["up"], { width: 400, height: 200 });
  assert.deepEqual([counts.low, counts.high], [0, 5]);
});

test("bars: longest first, scaled to the largest, with shares", () => {
  const g = barGeometry({ 5: 30, 2: 10, 0: 0 }, { width: 400, labelWidth: 100 });
  assert.deepEqual(g.bars.map((b) => [b.label, b.share]), [["5", 75], ["2", 25]]);
  assert.equal(g.bars[0].width, 240);
  assert.equal(g.bars[1].width, 80);
  assert.equal(distributionLabel("dr", "5"), "DR5");
  assert.equal(distributionLabel("tx_frequency", "869525000"), "869.5 MHz");
  assert.equal(distributionLabel("errors", "mic_failure"), "mic failure");
});
