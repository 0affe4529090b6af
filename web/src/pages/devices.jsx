// Devices: the table on an application's page, create and edit forms, and the device page with its
// state, OTAA keys or ABP activation, live events, downlink queue and a form to enqueue a downlink.
import { Fragment } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { RadioTabs } from "../frames.jsx";
import { ApiError } from "../api.js";
import {
  ActionButton, Badge, ErrorText, Field, Loading, Page, ReadOnlyNote, Submit, fieldError, useApp, useForm, useList,
  useLoad, SubmitRow } from "../components.jsx";
import {
  ago, base64ToBytes, batteryText, bytesToHex, downlinkData, eventSummary, isLoRaWAN11, mergeEvents, newestId,
  randomHex, shortTime,
} from "../model.js";
import { navigate } from "../router.js";

export function DeviceTable({ devices }) {
  return (
    <table class="list">
      <thead>
        <tr>
          <th>Name</th>
          <th>DevEUI</th>
          <th>State</th>
          <th>Last seen</th>
          <th>Battery</th>
          <th>Margin</th>
        </tr>
      </thead>
      <tbody>
        {devices.map((d) => (
          <tr key={d.dev_eui}>
            <td>
              <a href={`/devices/${d.dev_eui}`}>{d.name || d.dev_eui}</a>
            </td>
            <td>
              <code>{d.dev_eui}</code>
            </td>
            <td>
              <DeviceState device={d} />
            </td>
            <td title={d.last_seen_at || ""}>{ago(d.last_seen_at)}</td>
            <td>{batteryText(d.battery)}</td>
            <td>{marginText(d.margin)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const marginText = (margin) => (margin === null || margin === undefined ? "unknown" : `${margin} dB`);

function DeviceState({ device }) {
  if (device.enabled === false) return <Badge kind="off">disabled</Badge>;
  return device.activated ? <Badge kind="on">active</Badge> : <Badge kind="wait">not joined</Badge>;
}

function useProfiles() {
  const { organization } = useApp();
  return useList("/device-profiles", { organization_id: organization.id });
}

function HexField({ form, name, label, bytes, help, disabled }) {
  const extra = disabled ? null : (
    <button type="button" class="small" onClick={() => form.set(name, randomHex(bytes))} title="Random value">
      Generate
    </button>
  );
  return <Field form={form} name={name} label={label} help={help} disabled={disabled} extra={extra} placeholder={"0".repeat(bytes * 2)} />;
}

function DeviceForm({ initial, creating, onSave, applications, profiles }) {
  const form = useForm({
    dev_eui: initial.dev_eui ?? "",
    join_eui: initial.join_eui ?? "0000000000000000",
    name: initial.name ?? "",
    description: initial.description ?? "",
    application_id: initial.application_id ?? "",
    device_profile_id: initial.device_profile_id ?? profiles[0]?.id ?? "",
    enabled: initial.enabled ?? true,
    app_key: "",
    nwk_key: "",
  });
  const profile = profiles.find((p) => p.id === form.values.device_profile_id);
  const otaa = profile ? profile.supports_otaa !== false : true;
  return (
    <form class="card form" onSubmit={form.submit(onSave)}>
      {creating && <HexField form={form} name="dev_eui" label="DevEUI" bytes={8} />}
      <HexField form={form} name="join_eui" label="JoinEUI (AppEUI)" bytes={8} />
      <Field form={form} name="name" label="Name" />
      <Field form={form} name="description" label="Description" type="textarea" rows={2} />
      <Field
        form={form}
        name="application_id"
        label="Application"
        type="select"
        options={applications.map((a) => [a.id, a.name])}
      />
      <Field
        form={form}
        name="device_profile_id"
        label="Device profile"
        type="select"
        options={[["", "(choose one)"], ...profiles.map((p) => [p.id, `${p.name} (${p.region}, LoRaWAN ${p.mac_version})`])]}
      />
      <Field form={form} name="enabled" label="Enabled" type="checkbox" />
      {creating && otaa && (
        <>
          <HexField form={form} name="app_key" label="AppKey" bytes={16} help="OTAA root key; shown again only to admins." />
          {profile && isLoRaWAN11(profile.mac_version) && <HexField form={form} name="nwk_key" label="NwkKey" bytes={16} />}
        </>
      )}
      <Submit form={form}>{creating ? "Create device" : "Save"}</Submit>
    </form>
  );
}

function deviceBody(values, creating) {
  const body = { ...values };
  if (!creating) delete body.dev_eui;
  for (const key of ["app_key", "nwk_key"]) if (!creating || !body[key]) delete body[key];
  return body;
}

export function DeviceNew({ id }) {
  const { api, organization } = useApp();
  const profiles = useProfiles();
  const applications = useList("/applications", { organization_id: organization.id });
  const ready = !profiles.loading && !applications.loading;
  return (
    <Page title="New device">
      <ErrorText error={profiles.error || applications.error} />
      {ready && (
        <DeviceForm
          creating
          initial={{ application_id: id }}
          applications={applications.items}
          profiles={profiles.items}
          onSave={async (values) => {
            const created = await api.post("/devices", deviceBody(values, true));
            navigate(`/devices/${created.dev_eui}`);
          }}
        />
      )}
      {!profiles.loading && profiles.items.length === 0 && (
        <p class="note">
          There is no device profile yet: <a href="/device-profiles/new">create one</a> first.
        </p>
      )}
    </Page>
  );
}

export function DeviceEdit({ dev_eui }) {
  const { api, organization } = useApp();
  const state = useLoad(() => api.get(`/devices/${dev_eui}`), [dev_eui]);
  const profiles = useProfiles();
  const applications = useList("/applications", { organization_id: organization.id });
  const ready = !profiles.loading && !applications.loading;
  return (
    <Page title="Edit device" subtitle={dev_eui}>
      <Loading state={state}>
        {(device) =>
          ready && (
            <DeviceForm
              initial={device}
              applications={applications.items}
              profiles={profiles.items}
              onSave={async (values) => {
                await api.put(`/devices/${dev_eui}`, deviceBody(values, false));
                navigate(`/devices/${dev_eui}`);
              }}
            />
          )
        }
      </Loading>
    </Page>
  );
}

export function DeviceView({ dev_eui }) {
  const { api, can } = useApp();
  const state = useLoad(() => api.get(`/devices/${dev_eui}`), [dev_eui]);
  const profileId = state.data?.device_profile_id;
  const profile = useLoad(async () => (profileId ? api.get(`/device-profiles/${profileId}`) : null), [profileId]);
  const writable = can("devices");
  const [queueVersion, setQueueVersion] = useState(0);
  return (
    <Loading state={state}>
      {(device) => (
        <Page
          title={device.name || device.dev_eui}
          subtitle={`Device ${device.dev_eui}`}
          actions={
            writable && (
              <>
                <a class="button" href={`/devices/${dev_eui}/edit`}>Edit</a>
                <ActionButton
                  class="danger"
                  confirm={`Delete the device ${device.name || dev_eui}?`}
                  action={async () => {
                    await api.del(`/devices/${dev_eui}`);
                    navigate(device.application_id ? `/applications/${device.application_id}` : "/applications");
                  }}
                >
                  Delete
                </ActionButton>
              </>
            )
          }
        >
          <ReadOnlyNote show={!writable} />
          <div class="grid">
            <DeviceFacts device={device} profile={profile.data} />
            <section class="card">
              <h2>Enqueue a downlink</h2>
              {writable ? (
                <DownlinkForm dev_eui={dev_eui} onQueued={() => setQueueVersion((v) => v + 1)} />
              ) : (
                <p class="muted">Viewers cannot send downlinks.</p>
              )}
              <Queue dev_eui={dev_eui} version={queueVersion} writable={writable} />
            </section>
          </div>
          <MacSettings dev_eui={dev_eui} writable={writable} version={device.f_cnt_up} />
          <LiveEvents
            path={`/devices/${dev_eui}/events`}
            onNew={(events) => {
              if (events.some((e) => ["up", "join", "status"].includes(e.type))) state.reload();
              if (events.some((e) => ["txack", "ack", "downlink"].includes(e.type))) setQueueVersion((v) => v + 1);
            }}
          />
          <RadioTabs base={`/devices/${dev_eui}`} />
          {writable && (
            <div class="grid">
              {(profile.data?.supports_otaa ?? true) && <DeviceKeys dev_eui={dev_eui} profile={profile.data} />}
              <Activation dev_eui={dev_eui} profile={profile.data} />
            </div>
          )}
        </Page>
      )}
    </Loading>
  );
}

const MAC_LABELS = {
  rx1_delay: "RX1 delay (s)", rx1_dr_offset: "RX1 DR offset", rx2_dr: "RX2 data rate", rx2_frequency: "RX2 frequency (Hz)",
  channels: "Extra channels", uplink_dwell_time: "Uplink dwell time", downlink_dwell_time: "Downlink dwell time",
  max_eirp: "Max EIRP index", max_duty_cycle: "Max duty cycle (1/2^n)", adr_ack_limit_exp: "ADR ack limit (2^n)",
  adr_ack_delay_exp: "ADR ack delay (2^n)", rejoin_max_time_n: "Rejoin time (n)", rejoin_max_count_n: "Rejoin count (n)",
  dev_status_every_s: "Device status every (s)", dev_status_every_uplinks: "Device status every (uplinks)",
};

function macValue(value) {
  if (value === undefined || value === null) return "—";
  if (typeof value === "object") return Object.entries(value).map(([i, c]) => `${i}: ${Array.isArray(c) ? c.join(" / ") : c}`).join(", ") || "—";
  return String(value);
}

/** What the network wants the device to use (from its profile), what the device acknowledged, what is
 * on its way; a one-shot device-status request. */
function MacSettings({ dev_eui, writable, version }) {
  const { api } = useApp();
  const [asked, setAsked] = useState(0);
  const state = useLoad(() => api.get(`/devices/${dev_eui}/mac`), [dev_eui, version, asked]);
  return (
    <section class="card">
      <h2>MAC settings</h2>
      <Loading state={state}>
        {(mac) => {
          const names = Object.keys(MAC_LABELS).filter((n) => n in mac.desired || n in mac.acknowledged);
          return (
            <>
              {!mac.activated && <p class="muted">Not activated: the device starts from its profile's settings when it joins.</p>}
              <table class="list mac-settings">
                <thead>
                  <tr><th>Setting</th><th>Wanted</th><th>Acknowledged by the device</th></tr>
                </thead>
                <tbody>
                  {names.map((name) => (
                    <tr key={name}>
                      <td>{MAC_LABELS[name]}</td>
                      <td>{macValue(mac.desired[name])}</td>
                      <td>{macValue(mac.acknowledged[name])}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {mac.pending?.length > 0 && <p>Waiting for the device to answer: {mac.pending.join(", ")}</p>}
              {Object.keys(mac.refused || {}).length > 0 && <p class="error">Refused by the device: {Object.keys(mac.refused).join(", ")}</p>}
              {writable && mac.activated && (
                <ActionButton
                  action={async () => {
                    await api.post(`/devices/${dev_eui}/mac/requests`, { dev_status: true });
                    setAsked((n) => n + 1);
                  }}
                >
                  {mac.dev_status_requested ? "Device status requested" : "Request device status"}
                </ActionButton>
              )}
            </>
          );
        }}
      </Loading>
    </section>
  );
}

function DeviceFacts({ device, profile }) {
  const { api } = useApp();
  const application = useLoad(
    async () => (device.application_id ? api.get(`/applications/${device.application_id}`) : null),
    [device.application_id],
  );
  const rows = [
    ["State", <DeviceState device={device} />],
    ["Application", device.application_id ? <a href={`/applications/${device.application_id}`}>{application.data?.name || device.application_id}</a> : "—"],
    ["Device profile", profile ? <a href={`/device-profiles/${profile.id}`}>{profile.name}</a> : device.device_profile_id || "—"],
    ["JoinEUI", <code>{device.join_eui}</code>],
    ["DevAddr", device.dev_addr ? <code>{device.dev_addr}</code> : "—"],
    ["Uplink counter", device.f_cnt_up ?? "—"],
    ["Last seen", <span title={device.last_seen_at || ""}>{ago(device.last_seen_at)}</span>],
    ["Battery", batteryText(device.battery)],
    ["Link margin", marginText(device.margin)],
  ];
  return (
    <section class="card">
      <h2>State</h2>
      {device.description && <p>{device.description}</p>}
      <dl class="facts">
        {rows.map(([name, value]) => (
          <Fragment key={name}>
            <dt>{name}</dt>
            <dd>{value}</dd>
          </Fragment>
        ))}
      </dl>
    </section>
  );
}

function DownlinkForm({ dev_eui, onQueued }) {
  const { api } = useApp();
  const form = useForm({ f_port: "1", format: "hex", data: "", confirmed: false });
  return (
    <form
      class="form compact"
      onSubmit={form.submit(async (values) => {
        const port = Number(values.f_port);
        if (!Number.isInteger(port) || port < 1 || port > 223) throw fieldError("f_port", "a port from 1 to 223");
        let data;
        try {
          data = downlinkData(values.format, values.data);
        } catch (error) {
          throw fieldError("data", error.message);
        }
        const queued = await api.post(`/devices/${dev_eui}/queue`, { f_port: port, data, confirmed: values.confirmed });
        onQueued();
        return `queued ${queued?.id ?? ""}`.trim();
      })}
    >
      <div class="row">
        <Field form={form} name="f_port" label="FPort" type="number" />
        <Field form={form} name="format" label="Payload as" type="select" options={[["hex", "hex"], ["base64", "base64"], ["json", "JSON object (codec)"]]} />
        <Field form={form} name="confirmed" label="Confirmed" type="checkbox" />
      </div>
      <Field form={form} name="data" label="Payload" type="textarea" rows={2} placeholder={form.values.format === "json" ? '{"led": true}' : form.values.format === "hex" ? "01ff" : "Af8="} />
      <div class="row">
        <Submit form={form}>Enqueue</Submit>
        {typeof form.done === "string" && <span class="ok" role="status">Downlink {form.done}.</span>}
      </div>
    </form>
  );
}

function payloadHex(data) {
  if (typeof data !== "string") return JSON.stringify(data);
  try {
    return bytesToHex(base64ToBytes(data));
  } catch {
    return data;
  }
}

function Queue({ dev_eui, version, writable }) {
  const { api } = useApp();
  const state = useLoad(() => api.get(`/devices/${dev_eui}/queue`), [dev_eui, version]);
  const items = state.data?.items || [];
  return (
    <div class="queue">
      <h3>Queue</h3>
      <ErrorText error={state.error} />
      {items.length === 0 ? (
        <p class="muted">{state.loading && !state.data ? "Loading…" : "Empty."}</p>
      ) : (
        <table class="list compact">
          <thead>
            <tr>
              <th>FPort</th>
              <th>Payload (hex)</th>
              <th>Confirmed</th>
              <th>Sent with FCnt</th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr key={item.id}>
                <td>{item.f_port}</td>
                <td>
                  <code>{payloadHex(item.data)}</code>
                </td>
                <td>{item.confirmed ? "yes" : "no"}</td>
                <td>{item.sent_with_f_cnt ?? "pending"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {writable && items.length > 0 && (
        <ActionButton confirm="Remove every queued downlink?" action={async () => (await api.del(`/devices/${dev_eui}/queue`), state.reload())}>
          Flush queue
        </ActionButton>
      )}
    </div>
  );
}

/** Polls `GET {path}?since=<newest id>` every 2 s and shows the events newest first. */
export function LiveEvents({ path, onNew, title = "Live events" }) {
  const { api } = useApp();
  const [events, setEvents] = useState([]);
  const [error, setError] = useState(null);
  const [paused, setPaused] = useState(false);
  const [open, setOpen] = useState(null);
  const newest = useRef(null);
  const polled = useRef(false); // the first answer is the history; later ones are news
  const notify = useRef(onNew);
  notify.current = onNew;
  useEffect(() => {
    if (paused) return undefined;
    let stopped = false;
    let timer;
    const tick = async () => {
      try {
        const page = await api.get(path, { since: newest.current ?? undefined, limit: 50 });
        if (stopped) return;
        const items = page?.items || [];
        const first = !polled.current;
        polled.current = true;
        if (items.length) {
          newest.current = newestId(items, newest.current);
          setEvents((known) => mergeEvents(known, items));
          if (!first && notify.current) notify.current(items);
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
  return (
    <section class="card events">
      <header class="section-head">
        <h2>
          {title} {!paused && <span class="pulse" title="Polling every 2 s" />}
        </h2>
        <button type="button" onClick={() => setPaused(!paused)}>
          {paused ? "Resume" : "Pause"}
        </button>
      </header>
      <ErrorText error={error} />
      {events.length === 0 ? (
        <p class="muted">No events yet; new ones appear here as they happen.</p>
      ) : (
        <table class="list compact" aria-label="Events">
          <thead>
            <tr>
              <th>Time</th>
              <th>Type</th>
              <th>Summary</th>
            </tr>
          </thead>
          <tbody>
            {events.map((event) => (
              <Fragment key={event.id}>
                <tr class={`event ${event.type}`} onClick={() => setOpen(open === event.id ? null : event.id)}>
                  <td>{shortTime(event.time)}</td>
                  <td>
                    <Badge kind={event.type}>{event.type}</Badge>
                  </td>
                  <td class="summary">{eventSummary(event)}</td>
                </tr>
                {open === event.id && (
                  <tr class="body">
                    <td colSpan={3}>
                      <pre>{JSON.stringify(event.body, null, 2)}</pre>
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function DeviceKeys({ dev_eui, profile }) {
  const { api } = useApp();
  const state = useLoad(async () => {
    try {
      return await api.get(`/devices/${dev_eui}/keys`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return { app_key: "", nwk_key: "" };
      throw error;
    }
  }, [dev_eui]);
  return (
    <section class="card">
      <h2>OTAA keys</h2>
      <Loading state={state}>{(keys) => <KeysForm keys={keys} dev_eui={dev_eui} profile={profile} />}</Loading>
    </section>
  );
}

function KeysForm({ keys, dev_eui, profile }) {
  const { api } = useApp();
  const form = useForm({ app_key: keys.app_key || "", nwk_key: keys.nwk_key || "" });
  return (
    <form
      class="form compact"
      onSubmit={form.submit(async (values) => {
        const body = { app_key: values.app_key };
        if (values.nwk_key) body.nwk_key = values.nwk_key;
        await api.put(`/devices/${dev_eui}/keys`, body);
        return "saved";
      })}
    >
      <HexField form={form} name="app_key" label="AppKey" bytes={16} />
      {(isLoRaWAN11(profile?.mac_version) || keys.nwk_key) && <HexField form={form} name="nwk_key" label="NwkKey" bytes={16} />}
      <SubmitRow form={form} done="saved" message="Saved.">Save keys</SubmitRow>
    </form>
  );
}

function Activation({ dev_eui, profile }) {
  const { api } = useApp();
  const v11 = isLoRaWAN11(profile?.mac_version);
  const names = v11 ? ["app_s_key", "f_nwk_s_int_key", "s_nwk_s_int_key", "nwk_s_enc_key"] : ["app_s_key", "nwk_s_key"];
  const labels = {
    app_s_key: "AppSKey",
    nwk_s_key: "NwkSKey",
    f_nwk_s_int_key: "FNwkSIntKey",
    s_nwk_s_int_key: "SNwkSIntKey",
    nwk_s_enc_key: "NwkSEncKey",
  };
  const form = useForm({ dev_addr: "", app_s_key: "", nwk_s_key: "", f_nwk_s_int_key: "", s_nwk_s_int_key: "", nwk_s_enc_key: "" });
  return (
    <section class="card">
      <h2>ABP activation</h2>
      <p class="muted">Give the device a session directly (LoRaWAN {v11 ? "1.1" : "1.0"} keys); replaces any current one.</p>
      <form
        class="form compact"
        onSubmit={form.submit(async (values) => {
          const body = { dev_addr: values.dev_addr };
          for (const name of names) body[name] = values[name];
          await api.post(`/devices/${dev_eui}/activate`, body);
          return "activated";
        })}
      >
        <HexField form={form} name="dev_addr" label="DevAddr" bytes={4} />
        {names.map((name) => (
          <HexField key={name} form={form} name={name} label={labels[name]} bytes={16} />
        ))}
        <SubmitRow form={form} done="activated" message="Activated.">Activate</SubmitRow>
      </form>
    </section>
  );
}
