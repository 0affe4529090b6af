import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ago, batteryText, canWrite, channelsText, parseChannels, chartGeometry, downlinkData, eventSummary, mapPoints, mergeEvents, newestId, niceMax,
} from "../src/model.js";

test("roles: viewers write nothing, device and gateway admins their own area, admins all but users", () => {
  const who = (role, isAdmin = false) => ({ role, isAdmin });
  for (const area of ["org", "devices", "gateways", "users"]) assert.equal(canWrite(area, who("viewer")), false);
  assert.equal(canWrite("devices", who("device_admin")), true);
  assert.equal(canWrite("gateways", who("device_admin")), false);
  assert.equal(canWrite("gateways", who("gateway_admin")), true);
  assert.equal(canWrite("org", who("admin")), true);
  assert.equal(canWrite("users", who("admin")), false);
  assert.equal(canWrite("users", who(undefined, true)), true);
});

test("downlink payloads: hex and base64 become base64, JSON stays an object, bad input is refused", () => {
  assert.equal(downlinkData("hex", "01 02 ff"), "AQL/");
  assert.equal(downlinkData("base64", "AQL/"), "AQL/");
  assert.deepEqual(downlinkData("json", '{"led": true}'), { led: true });
  assert.throws(() => downlinkData("hex", "abc"), /hex/);
  assert.throws(() => downlinkData("base64", "A*"), /base64/);
  assert.throws(() => downlinkData("json", "[1]"), /object/);
  assert.throws(() => downlinkData("json", "{"), /JSON/);
});

test("times and battery read as people say them", () => {
  const now = Date.parse("2026-11-24T12:00:00Z");
  assert.equal(ago(null), "never");
  assert.equal(ago("2026-11-24T11:59:50Z", now), "10 s ago");
  assert.equal(ago("2026-11-24T11:00:00Z", now), "1 h ago");
  assert.equal(batteryText(254), "100 %");
  assert.equal(batteryText(0), "external power");
  assert.equal(batteryText(null), "unknown");
});

test("event summaries show counters, payload in hex and radio figures", () => {
  const up = { id: "1", type: "up", body: { fCnt: 7, fPort: 1, data: "AWcA6w==", rxInfo: [{ rssi: -80, snr: 7.5 }] } };
  assert.equal(eventSummary(up), "FCnt 7 · FPort 1 · data 016700eb · RSSI -80 · SNR 7.5");
  assert.equal(eventSummary({ id: "2", type: "log", body: {} }), "{}");
});

test("polling keeps the newest id and merges without duplicates, newest first", () => {
  const known = [{ id: "0003" }, { id: "0001" }];
  const merged = mergeEvents(known, [{ id: "0004" }, { id: "0003" }]);
  assert.deepEqual(merged.map((e) => e.id), ["0004", "0003", "0001"]);
  assert.equal(newestId(merged), "0004");
  assert.equal(newestId([], "0009"), "0009");
  assert.equal(newestId([{ id: 10 }, { id: 9 }]), 10);
});

test("the chart scales to a nice maximum and orders hours by time", () => {
  assert.equal(niceMax(0), 1);
  assert.equal(niceMax(7), 10);
  assert.equal(niceMax(13), 20);
  assert.equal(niceMax(41), 50);
  const items = [
    { time: "2026-11-24T11:00:00Z", rx_received: 4, tx_emitted: 1 },
    { time: "2026-11-24T10:00:00Z", rx_received: 8, tx_emitted: 0 },
  ];
  const g = chartGeometry(items, ["rx_received", "tx_emitted"], { width: 400, height: 200, pad: 40 });
  assert.equal(g.max, 10);
  const rx = g.series[0].points;
  assert.equal(rx[0][0] < rx[1][0], true); // 10:00 left of 11:00
  assert.equal(rx[0][1] < rx[1][1], true); // 8 drawn higher than 4
  assert.equal(g.series[1].points[0][1], g.baseline);
});

test("the map places gateways inside the box, north up, and skips those without a position", () => {
  const points = mapPoints(
    [
      { gateway_id: "a", latitude: 52, longitude: 4 },
      { gateway_id: "b", latitude: 51, longitude: 5 },
      { gateway_id: "c", latitude: null, longitude: null },
    ],
    { width: 300, height: 200, pad: 20 },
  );
  assert.deepEqual(points.map((p) => p.gateway.gateway_id), ["a", "b"]);
  for (const p of points) assert.ok(p.x >= 20 && p.x <= 280 && p.y >= 20 && p.y <= 180);
  assert.ok(points[0].y < points[1].y && points[0].x < points[1].x);
  const [single] = mapPoints([{ latitude: 1, longitude: 2 }], { width: 100, height: 100 });
  assert.deepEqual([single.x, single.y], [50, 50]);
});

test("extra channels round-trip through the profile form's text", () => {
  const channels = [{ frequency: 867100000, min_dr: 0, max_dr: 5 }, { frequency: 867300000, min_dr: 1, max_dr: 4 }];
  assert.equal(channelsText(channels), "867100000 0 5\n867300000 1 4");
  assert.deepEqual(parseChannels(channelsText(channels)), channels);
  assert.deepEqual(parseChannels(" 867100000, 0, 5 \n\n"), [channels[0]]);
  assert.deepEqual(parseChannels(""), []);
  assert.throws(() => parseChannels("867100000 0"), /min DR and max DR/);
});
