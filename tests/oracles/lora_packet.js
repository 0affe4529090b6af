// Batch oracle: reads a JSON array of operations on stdin, answers a JSON array on stdout.
// lora-packet writes identifiers as big-endian buffers (as people write them), like Loraless's text form.
"use strict";
const lp = require("lora-packet").default || require("lora-packet");
const hex = (b) => (b ? Buffer.from(b).toString("hex") : null);
const buf = (h) => Buffer.from(h, "hex");

function decode(op) {
  const p = lp.fromWire(buf(op.phy));
  const b = p.getBuffers();
  return {
    mtype: p.getMType(),
    dev_addr: hex(b.DevAddr),
    f_cnt: p.getFCnt(),
    f_port: p.getFPort(),
    f_opts: hex(b.FOpts),
    frm_payload: hex(b.FRMPayload),
    adr: p.getFCtrlADR(),
    ack: p.getFCtrlACK(),
    adr_ack_req: p.getFCtrlADRACKReq(),
    f_pending: p.getFCtrlFPending(),
    mic: hex(b.MIC),
    join_eui: hex(b.AppEUI),
    dev_eui: hex(b.DevEUI),
    dev_nonce: hex(b.DevNonce),
  };
}

const handlers = {
  decode,
  verify: (op) => lp.verifyMIC(lp.fromWire(buf(op.phy)), buf(op.nwk_s_key)),
  decrypt: (op) => hex(lp.decrypt(lp.fromWire(buf(op.phy)), op.app_s_key && buf(op.app_s_key), op.nwk_s_key && buf(op.nwk_s_key))),
  mic: (op) => hex(lp.calculateMIC(lp.fromWire(buf(op.phy)), op.nwk_s_key && buf(op.nwk_s_key), op.app_key && buf(op.app_key))),
  join_accept: (op) => hex(lp.decryptJoinAccept(lp.fromWire(buf(op.phy)), buf(op.app_key))),
  join_accept_check: (op) => {
    // A join server's answer as a 1.0 device would take it: decrypt with the AppKey, check the MIC, read the
    // fields, derive the session keys from them and the device's own DevNonce.
    const packet = lp.fromWire(lp.decryptJoinAccept(lp.fromWire(buf(op.phy)), buf(op.app_key)));
    const b = packet.getBuffers();
    const nonce = b.JoinNonce || b.AppNonce;
    const keys = lp.generateSessionKeys10(buf(op.app_key), b.NetID, nonce, buf(op.dev_nonce));
    return {
      mic_ok: lp.verifyMIC(packet, null, buf(op.app_key)),
      join_nonce: hex(nonce), net_id: hex(b.NetID), dev_addr: hex(b.DevAddr),
      dl_settings: hex(b.DLSettings), rx_delay: hex(b.RxDelay), cf_list: hex(b.CFList),
      app_s_key: hex(keys.AppSKey), nwk_s_key: hex(keys.NwkSKey),
    };
  },
  keys10: (op) => {
    const k = lp.generateSessionKeys10(buf(op.app_key), buf(op.net_id), buf(op.join_nonce), buf(op.dev_nonce));
    return { nwk_s_key: hex(k.NwkSKey), app_s_key: hex(k.AppSKey) };
  },
  keys11: (op) => {
    const k = lp.generateSessionKeys11(buf(op.app_key), buf(op.nwk_key), buf(op.join_eui), buf(op.join_nonce), buf(op.dev_nonce));
    return { app_s_key: hex(k.AppSKey), f_nwk_s_int_key: hex(k.FNwkSIntKey), s_nwk_s_int_key: hex(k.SNwkSIntKey), nwk_s_enc_key: hex(k.NwkSEncKey) };
  },
  time: (op) => {
    // Throughput of lora-packet itself, timed inside node (for bench/): decode + MIC check + decrypt.
    const frame = buf(op.phy), nwk = buf(op.nwk_s_key), app = buf(op.app_s_key);
    const start = process.hrtime.bigint();
    for (let i = 0; i < op.iterations; i++) {
      const p = lp.fromWire(frame);
      if (!lp.verifyMIC(p, nwk)) throw new Error("MIC");
      lp.decrypt(p, app, nwk);
    }
    const uplink_ns = Number(process.hrtime.bigint() - start);
    const jstart = process.hrtime.bigint();
    const jr = buf(op.join_request), ak = buf(op.app_key);
    for (let i = 0; i < op.iterations; i++) {
      const p = lp.fromWire(jr);
      if (!lp.verifyMIC(p, null, ak)) throw new Error("join MIC");
      const k = lp.generateSessionKeys10(ak, buf("000013"), buf("010203"), p.getBuffers().DevNonce);
      const k11 = lp.generateSessionKeys11(ak, ak, p.getBuffers().AppEUI, buf("010203"), p.getBuffers().DevNonce);
      const ja = lp.fromFields({ MType: "Join Accept", AppNonce: buf("010203"), NetID: buf("000013"), DevAddr: buf("26011bda"), DLSettings: 0, RxDelay: 5 }, null, null, ak);
      if (!k.NwkSKey || !k11.AppSKey || !ja) throw new Error("keys");
    }
    const join_ns = Number(process.hrtime.bigint() - jstart);
    return { uplink_ns, join_ns, iterations: op.iterations };
  },
};

let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const out = JSON.parse(input).map((op) => {
    try {
      return { ok: handlers[op.op](op) };
    } catch (e) {
      return { error: String(e && e.message ? e.message : e) };
    }
  });
  process.stdout.write(JSON.stringify(out));
});
