// Device profiles: what a kind of device is (region, LoRaWAN version, classes, RX windows, ADR), the MAC
// settings the network brings its devices to, and how its payloads are decoded (codec kind and script).
import {
  ActionButton, Badge, Field, ListFooter, Loading, Page, ReadOnlyNote, SearchBox, Submit, useApp, useForm, useList,
  useLoad, SubmitRow } from "../components.jsx";
import { CODEC_KINDS, MAC_NUMBERS, MAC_VERSIONS, REGIONS, REG_PARAMS_REVISIONS, channelsText, parseChannels } from "../model.js";
import { navigate } from "../router.js";

export function ProfileList() {
  const { organization, can } = useApp();
  const list = useList("/device-profiles", { organization_id: organization.id });
  return (
    <Page
      title="Device profiles"
      subtitle={`In ${organization.name}`}
      actions={can("devices") && <a class="button primary" href="/device-profiles/new">Add device profile</a>}
    >
      <SearchBox list={list} />
      <table class="list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Region</th>
            <th>LoRaWAN</th>
            <th>Activation</th>
            <th>Classes</th>
            <th>Codec</th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((p) => (
            <tr key={p.id}>
              <td>
                <a href={`/device-profiles/${p.id}`}>{p.name}</a>
              </td>
              <td>{p.region}</td>
              <td>{p.mac_version}</td>
              <td>{p.supports_otaa ? "OTAA" : "ABP"}</td>
              <td>{["A", p.supports_class_b && "B", p.supports_class_c && "C"].filter(Boolean).join(", ")}</td>
              <td>
                <Badge>{p.codec?.kind || "none"}</Badge>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ListFooter list={list} noun="device profiles" />
    </Page>
  );
}

const NUMBERS = ["rx1_delay", "rx2_dr", "rx2_frequency", "uplink_interval_s"];
const CODEC_EXAMPLE = `// decodeUplink({bytes, fPort}) -> {data: {...}}; encodeDownlink({data}) -> {bytes: [...], fPort}
function decodeUplink(input) {
  return { data: { temperature: ((input.bytes[0] << 8) | input.bytes[1]) / 10 } };
}`;

function toForm(profile) {
  const values = {
    name: profile?.name ?? "",
    region: profile?.region ?? "EU868",
    mac_version: profile?.mac_version ?? "1.0.3",
    reg_params_revision: profile?.reg_params_revision ?? "RP002-1.0.3",
    supports_otaa: profile?.supports_otaa ?? true,
    supports_class_b: profile?.supports_class_b ?? false,
    supports_class_c: profile?.supports_class_c ?? false,
    adr_enabled: profile?.adr_enabled ?? true,
    rx1_delay: "",
    rx2_dr: "",
    rx2_frequency: "",
    uplink_interval_s: "3600",
    flush_queue_on_activate: profile?.flush_queue_on_activate ?? false,
    codec: { kind: profile?.codec?.kind ?? "none", script: profile?.codec?.script ?? "" },
    mac: { extra_channels: channelsText(profile?.mac?.extra_channels), uplink_dwell_time: "", downlink_dwell_time: "" },
  };
  for (const name of NUMBERS) if (profile && profile[name] !== null && profile[name] !== undefined) values[name] = String(profile[name]);
  const mac = profile?.mac || {};
  for (const name of MAC_NUMBERS) values.mac[name] = mac[name] === null || mac[name] === undefined ? "" : String(mac[name]);
  for (const name of ["uplink_dwell_time", "downlink_dwell_time"]) if (typeof mac[name] === "boolean") values.mac[name] = mac[name] ? "on" : "off";
  return values;
}

function toBody(values) {
  const body = { ...values, codec: { ...values.codec }, mac: {} };
  for (const name of NUMBERS) body[name] = values[name] === "" ? null : Number(values[name]);
  for (const name of MAC_NUMBERS) body.mac[name] = values.mac[name] === "" ? null : Number(values.mac[name]);
  for (const name of ["uplink_dwell_time", "downlink_dwell_time"]) body.mac[name] = values.mac[name] === "" ? null : values.mac[name] === "on";
  body.mac.extra_channels = parseChannels(values.mac.extra_channels);
  if (body.codec.kind !== "javascript") body.codec.script = "";
  return body;
}

const DWELL = [["", "leave as is"], ["on", "400 ms limit"], ["off", "no limit"]];

function ProfileForm({ profile, writable, onSave, label }) {
  const form = useForm(toForm(profile));
  const disabled = !writable;
  return (
    <form class="card form" onSubmit={form.submit((values) => onSave(toBody(values)))}>
      <Field form={form} name="name" label="Name" disabled={disabled} />
      <div class="row">
        <Field form={form} name="region" label="Region" type="select" options={REGIONS} disabled={disabled} />
        <Field form={form} name="mac_version" label="LoRaWAN version" type="select" options={MAC_VERSIONS} disabled={disabled} />
        <Field form={form} name="reg_params_revision" label="Regional parameters" type="select" options={REG_PARAMS_REVISIONS} disabled={disabled} />
      </div>
      <div class="row">
        <Field form={form} name="supports_otaa" label="OTAA (join)" type="checkbox" disabled={disabled} />
        <Field form={form} name="supports_class_b" label="Class B" type="checkbox" disabled={disabled} />
        <Field form={form} name="supports_class_c" label="Class C" type="checkbox" disabled={disabled} />
        <Field form={form} name="adr_enabled" label="ADR" type="checkbox" disabled={disabled} />
      </div>
      <div class="row">
        <Field form={form} name="rx1_delay" label="RX1 delay (s)" type="number" placeholder="region default" disabled={disabled} />
        <Field form={form} name="rx2_dr" label="RX2 data rate" type="number" placeholder="region default" disabled={disabled} />
        <Field form={form} name="rx2_frequency" label="RX2 frequency (Hz)" type="number" placeholder="region default" disabled={disabled} />
        <Field form={form} name="uplink_interval_s" label="Uplink interval (s)" type="number" disabled={disabled} />
      </div>
      <fieldset class="mac">
        <legend>MAC settings the network brings devices to (empty: leave as the device has it)</legend>
        <div class="row">
          <Field form={form} name="mac.rx1_dr_offset" label="RX1 DR offset" type="number" placeholder="0" disabled={disabled} />
          <Field form={form} name="mac.max_duty_cycle" label="Max duty cycle (1/2^n)" type="number" placeholder="0" disabled={disabled} />
          <Field form={form} name="mac.max_eirp" label="Max EIRP (TxParamSetup index)" type="number" disabled={disabled} />
          <Field form={form} name="mac.uplink_dwell_time" label="Uplink dwell time" type="select" options={DWELL} disabled={disabled} />
          <Field form={form} name="mac.downlink_dwell_time" label="Downlink dwell time" type="select" options={DWELL} disabled={disabled} />
        </div>
        <div class="row">
          <Field form={form} name="mac.adr_ack_limit_exp" label="ADR ack limit (2^n, 1.1)" type="number" placeholder="6" disabled={disabled} />
          <Field form={form} name="mac.adr_ack_delay_exp" label="ADR ack delay (2^n, 1.1)" type="number" placeholder="5" disabled={disabled} />
          <Field form={form} name="mac.rejoin_max_time_n" label="Rejoin every 2^(n+10) s (1.1)" type="number" disabled={disabled} />
          <Field form={form} name="mac.rejoin_max_count_n" label="Rejoin every 2^(n+4) uplinks (1.1)" type="number" disabled={disabled} />
        </div>
        <div class="row">
          <Field form={form} name="mac.dev_status_every_s" label="Device status every (s)" type="number" placeholder="86400" disabled={disabled} />
          <Field form={form} name="mac.dev_status_every_uplinks" label="Device status every (uplinks)" type="number" placeholder="off" disabled={disabled} />
          <Field form={form} name="flush_queue_on_activate" label="Flush the queue on (re)join" type="checkbox" disabled={disabled} />
        </div>
        <Field form={form} name="mac.extra_channels" label="Extra uplink channels (one per line: frequency Hz, min DR, max DR)" type="textarea" rows={3} placeholder="867100000 0 5" disabled={disabled} />
      </fieldset>
      <Field
        form={form}
        name="codec.kind"
        label="Codec"
        type="select"
        options={CODEC_KINDS.map((k) => [k, { none: "none (raw bytes)", cayenne_lpp: "Cayenne LPP", javascript: "JavaScript" }[k]])}
        disabled={disabled}
      />
      {form.values.codec.kind === "javascript" && (
        <Field form={form} name="codec.script" label="Codec script" type="textarea" rows={10} placeholder={CODEC_EXAMPLE} disabled={disabled} />
      )}
      {writable && (
        <SubmitRow form={form} done="saved" message="Saved.">{label}</SubmitRow>
      )}
    </form>
  );
}

export function ProfileNew() {
  const { api, organization } = useApp();
  return (
    <Page title="New device profile" subtitle={`In ${organization.name}`}>
      <ProfileForm
        writable
        label="Create device profile"
        onSave={async (body) => {
          const created = await api.post("/device-profiles", { ...body, organization_id: organization.id });
          navigate(`/device-profiles/${created.id}`);
        }}
      />
    </Page>
  );
}

export function ProfileView({ id }) {
  const { api, can } = useApp();
  const state = useLoad(() => api.get(`/device-profiles/${id}`), [id]);
  const writable = can("devices");
  return (
    <Loading state={state}>
      {(profile) => (
        <Page
          title={profile.name}
          subtitle="Device profile"
          actions={
            writable && (
              <ActionButton
                class="danger"
                confirm={`Delete the device profile ${profile.name}?`}
                action={async () => {
                  await api.del(`/device-profiles/${id}`);
                  navigate("/device-profiles");
                }}
              >
                Delete
              </ActionButton>
            )
          }
        >
          <ReadOnlyNote show={!writable} />
          <ProfileForm
            profile={profile}
            writable={writable}
            label="Save"
            onSave={async (body) => {
              await api.put(`/device-profiles/${id}`, { ...body, organization_id: profile.organization_id });
              return "saved";
            }}
          />
        </Page>
      )}
    </Loading>
  );
}
