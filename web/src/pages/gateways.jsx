// Gateways: list with a plain position plot, create, edit, and a page with the hourly packet chart.
import { useState } from "preact/hooks";
import { GatewayMap, StatsChart } from "../charts.jsx";
import {
  ActionButton, Badge, ErrorText, Field, ListFooter, Loading, Page, ReadOnlyNote, SearchBox, Submit, useApp, useForm,
  useList, useLoad,
} from "../components.jsx";
import { ago } from "../model.js";
import { navigate } from "../router.js";
import { RadioTabs } from "../frames.jsx";
import { LiveEvents } from "./devices.jsx";

const Online = ({ gateway }) => (gateway.online ? <Badge kind="on">online</Badge> : <Badge kind="off">offline</Badge>);

export function GatewayList() {
  const { organization, can } = useApp();
  const list = useList("/gateways", { organization_id: organization.id });
  return (
    <Page
      title="Gateways"
      subtitle={`In ${organization.name}`}
      actions={can("gateways") && <a class="button primary" href="/gateways/new">Add gateway</a>}
    >
      <SearchBox list={list} />
      <table class="list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Gateway id</th>
            <th>State</th>
            <th>Last seen</th>
            <th>Position</th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((g) => (
            <tr key={g.gateway_id}>
              <td>
                <a href={`/gateways/${g.gateway_id}`}>{g.name || g.gateway_id}</a>
              </td>
              <td>
                <code>{g.gateway_id}</code>
              </td>
              <td>
                <Online gateway={g} />
              </td>
              <td title={g.last_seen_at || ""}>{ago(g.last_seen_at)}</td>
              <td>{g.latitude != null && g.longitude != null ? `${g.latitude}, ${g.longitude}` : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <ListFooter list={list} noun="gateways" />
      {list.items.length > 0 && <GatewayMap gateways={list.items} />}
    </Page>
  );
}

const NUMBERS = ["latitude", "longitude", "altitude"];

function GatewayForm({ gateway, creating, onSave, label }) {
  const form = useForm({
    gateway_id: gateway?.gateway_id ?? "",
    name: gateway?.name ?? "",
    description: gateway?.description ?? "",
    latitude: gateway?.latitude != null ? String(gateway.latitude) : "",
    longitude: gateway?.longitude != null ? String(gateway.longitude) : "",
    altitude: gateway?.altitude != null ? String(gateway.altitude) : "",
  });
  return (
    <form
      class="card form"
      onSubmit={form.submit((values) => {
        const body = { ...values };
        for (const name of NUMBERS) body[name] = values[name] === "" ? null : Number(values[name]);
        if (!creating) delete body.gateway_id;
        return onSave(body);
      })}
    >
      {creating && <Field form={form} name="gateway_id" label="Gateway id (EUI-64)" placeholder="0016c001ff10a235" />}
      <Field form={form} name="name" label="Name" />
      <Field form={form} name="description" label="Description" type="textarea" rows={2} />
      <div class="row">
        <Field form={form} name="latitude" label="Latitude" type="number" />
        <Field form={form} name="longitude" label="Longitude" type="number" />
        <Field form={form} name="altitude" label="Altitude (m)" type="number" />
      </div>
      <Submit form={form}>{label}</Submit>
    </form>
  );
}

export function GatewayNew() {
  const { api, organization } = useApp();
  return (
    <Page title="New gateway" subtitle={`In ${organization.name}`}>
      <GatewayForm
        creating
        label="Create gateway"
        onSave={async (body) => {
          const created = await api.post("/gateways", { ...body, organization_id: organization.id });
          navigate(`/gateways/${created.gateway_id}`);
        }}
      />
    </Page>
  );
}

export function GatewayEdit({ gateway_id }) {
  const { api } = useApp();
  const state = useLoad(() => api.get(`/gateways/${gateway_id}`), [gateway_id]);
  return (
    <Page title="Edit gateway" subtitle={gateway_id}>
      <Loading state={state}>
        {(gateway) => (
          <GatewayForm
            gateway={gateway}
            label="Save"
            onSave={async (body) => {
              await api.put(`/gateways/${gateway_id}`, { ...body, organization_id: gateway.organization_id });
              navigate(`/gateways/${gateway_id}`);
            }}
          />
        )}
      </Loading>
    </Page>
  );
}

export function GatewayView({ gateway_id }) {
  const { api, can } = useApp();
  const state = useLoad(() => api.get(`/gateways/${gateway_id}`), [gateway_id]);
  const [hours, setHours] = useState(24);
  const stats = useLoad(() => api.get(`/gateways/${gateway_id}/stats`, { hours }), [gateway_id, hours]);
  const writable = can("gateways");
  return (
    <Loading state={state}>
      {(gateway) => (
        <Page
          title={gateway.name || gateway.gateway_id}
          subtitle={`Gateway ${gateway.gateway_id}`}
          actions={
            writable && (
              <>
                <a class="button" href={`/gateways/${gateway_id}/edit`}>Edit</a>
                <ActionButton
                  class="danger"
                  confirm={`Delete the gateway ${gateway.name || gateway_id}?`}
                  action={async () => {
                    await api.del(`/gateways/${gateway_id}`);
                    navigate("/gateways");
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
            <section class="card">
              <h2>State</h2>
              {gateway.description && <p>{gateway.description}</p>}
              <dl class="facts">
                <dt>State</dt>
                <dd>
                  <Online gateway={gateway} />
                </dd>
                <dt>Last seen</dt>
                <dd title={gateway.last_seen_at || ""}>{ago(gateway.last_seen_at)}</dd>
                <dt>Position</dt>
                <dd>
                  {gateway.latitude != null ? `${gateway.latitude}, ${gateway.longitude}` : "—"}
                  {gateway.altitude != null ? `, ${gateway.altitude} m` : ""}
                </dd>
              </dl>
            </section>
            <section class="card">
              <GatewayMap gateways={[gateway]} width={360} height={180} />
            </section>
          </div>
          <BasicStation gateway={gateway} writable={writable} reload={state.reload} />
          <section class="card">
            <header class="section-head">
              <h2>Packets</h2>
              <label class="inline">
                Period{" "}
                <select value={hours} onChange={(e) => setHours(Number(e.currentTarget.value))} aria-label="Period">
                  <option value={24}>24 hours</option>
                  <option value={72}>3 days</option>
                  <option value={168}>7 days</option>
                </select>
              </label>
            </header>
            <ErrorText error={stats.error} />
            {stats.data && <StatsChart items={stats.data.items || []} />}
          </section>
          <RadioTabs base={`/gateways/${gateway_id}`} gateway />
          <LiveEvents path={`/gateways/${gateway_id}/events`} />
        </Page>
      )}
    </Loading>
  );
}

// LoRa Basics Station: what the gateway said of itself when it connected, and its token (LNS and CUPS).
function BasicStation({ gateway, writable, reload }) {
  const { api } = useApp();
  const [issued, setIssued] = useState(null);
  const station = gateway.basic_station;
  const issue = async () => {
    setIssued(await api.post(`/gateways/${gateway.gateway_id}/station-credentials`));
    reload?.();
  };
  return (
    <section class="card" aria-label="Basics Station">
      <header class="section-head">
        <h2>Basics Station</h2>
        {writable && (
          <ActionButton
            class="small"
            confirm={station?.credentials_issued_at ? "Rotate the token? The gateway's current token stops working on the LNS." : null}
            action={issue}
          >
            {station?.credentials_issued_at ? "Rotate token" : "Issue token"}
          </ActionButton>
        )}
      </header>
      {station ? (
        <dl class="facts">
          <dt>Station</dt>
          <dd>{station.version || "—"}</dd>
          <dt>Model</dt>
          <dd>{station.model || "—"}</dd>
          <dt>Package</dt>
          <dd>{station.package || "—"}</dd>
          <dt>Connected</dt>
          <dd title={station.connected_at || ""}>{station.connected_at ? ago(station.connected_at) : "—"}</dd>
          <dt>Token issued</dt>
          <dd title={station.credentials_issued_at || ""}>{station.credentials_issued_at ? ago(station.credentials_issued_at) : "—"}</dd>
        </dl>
      ) : (
        <p>No Basics Station credentials. Packet forwarders (Semtech UDP) need none.</p>
      )}
      {issued && (
        <div class="note token" role="status">
          <p>Copy these now; the token is not shown again. <code>tc.key</code> and <code>cups.key</code> hold the header line:</p>
          <code class="secret">{issued.tc_key}</code>
          <dl class="facts">
            <dt>tc.uri</dt>
            <dd>{issued.lns_uri || "—"}</dd>
            <dt>cups.uri</dt>
            <dd>{issued.cups_uri || "—"}</dd>
            <dt>tc.trust</dt>
            <dd>{issued.trust_pem ? <pre class="secret">{issued.trust_pem}</pre> : <a href={issued.trust_url}>{issued.trust_url}</a>}</dd>
          </dl>
        </div>
      )}
    </section>
  );
}
