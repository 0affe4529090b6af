// Applications: list, create, view (with their devices and HTTP integration), edit.
import {
  ActionButton, Field, ListFooter, Loading, Page, ReadOnlyNote, SearchBox, Submit, useApp, useForm,
  useList, useLoad,
} from "../components.jsx";
import { ApiError } from "../api.js";
import { navigate } from "../router.js";
import { DeviceTable } from "./devices.jsx";

export function ApplicationList() {
  const { organization, can } = useApp();
  const list = useList("/applications", { organization_id: organization.id });
  return (
    <Page
      title="Applications"
      subtitle={`In ${organization.name}`}
      actions={can("devices") && <a class="button primary" href="/applications/new">Add application</a>}
    >
      <SearchBox list={list} />
      <table class="list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Description</th>
            <th>Id</th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((a) => (
            <tr key={a.id}>
              <td>
                <a href={`/applications/${a.id}`}>{a.name}</a>
              </td>
              <td>{a.description}</td>
              <td>
                <code>{a.id}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ListFooter list={list} noun="applications" />
    </Page>
  );
}

function ApplicationForm({ initial, onSave, label }) {
  const form = useForm({ name: initial?.name ?? "", description: initial?.description ?? "" });
  return (
    <form class="card form" onSubmit={form.submit(onSave)}>
      <Field form={form} name="name" label="Name" />
      <Field form={form} name="description" label="Description" type="textarea" rows={3} />
      <Submit form={form}>{label}</Submit>
    </form>
  );
}

export function ApplicationNew() {
  const { api, organization } = useApp();
  return (
    <Page title="New application" subtitle={`In ${organization.name}`}>
      <ApplicationForm
        label="Create application"
        onSave={async (values) => {
          const created = await api.post("/applications", { ...values, organization_id: organization.id });
          navigate(`/applications/${created.id}`);
        }}
      />
    </Page>
  );
}

export function ApplicationEdit({ id }) {
  const { api } = useApp();
  const state = useLoad(() => api.get(`/applications/${id}`), [id]);
  return (
    <Page title="Edit application">
      <Loading state={state}>
        {(application) => (
          <ApplicationForm
            initial={application}
            label="Save"
            onSave={async (values) => {
              await api.put(`/applications/${id}`, { ...application, ...values });
              navigate(`/applications/${id}`);
            }}
          />
        )}
      </Loading>
    </Page>
  );
}

export function ApplicationView({ id }) {
  const { api, can } = useApp();
  const state = useLoad(() => api.get(`/applications/${id}`), [id]);
  const devices = useList("/devices", { application_id: id });
  const writable = can("devices");
  return (
    <Loading state={state}>
      {(application) => (
        <Page
          title={application.name}
          subtitle={application.description || "Application"}
          actions={
            writable && (
              <>
                <a class="button" href={`/applications/${id}/edit`}>Edit</a>
                <ActionButton
                  class="danger"
                  confirm={`Delete the application ${application.name}?`}
                  action={async () => {
                    await api.del(`/applications/${id}`);
                    navigate("/applications");
                  }}
                >
                  Delete
                </ActionButton>
              </>
            )
          }
        >
          <ReadOnlyNote show={!writable} />
          <section>
            <header class="section-head">
              <h2>Devices</h2>
              {writable && <a class="button primary" href={`/applications/${id}/devices/new`}>Add device</a>}
            </header>
            <SearchBox list={devices} />
            <DeviceTable devices={devices.items} />
            <ListFooter list={devices} noun="devices" />
          </section>
          <HttpIntegration id={id} writable={writable} />
        </Page>
      )}
    </Loading>
  );
}

function textToHeaders(text) {
  const headers = {};
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const at = line.indexOf(":");
    if (at < 1) {
      const error = new Error(`"${line.trim()}" is not "Name: value"`);
      error.field = "headers";
      throw error;
    }
    headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return headers;
}

function HttpIntegration({ id, writable }) {
  const { api } = useApp();
  const path = `/applications/${id}/integrations/http`;
  const state = useLoad(async () => {
    try {
      return { integration: await api.get(path) };
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return { integration: null };
      throw error;
    }
  }, [id]);
  return (
    <section>
      <header class="section-head">
        <h2>HTTP integration</h2>
      </header>
      <p class="muted">Every event of this application's devices is POSTed as JSON to this URL.</p>
      <Loading state={state}>
        {({ integration }) => (
          <IntegrationForm
            integration={integration}
            writable={writable}
            onSave={async (values) => {
              const body = { url: values.url };
              // Header values are write-only: sent only when typed again, else the stored ones stay.
              if (values.headers.trim() || values.clearHeaders) body.headers = textToHeaders(values.headers);
              if (values.secret) body.secret = values.secret;
              await api.put(path, body);
              state.reload();
              return "saved";
            }}
            onDelete={async () => {
              await api.del(path);
              state.reload();
            }}
          />
        )}
      </Loading>
    </section>
  );
}

function IntegrationForm({ integration, writable, onSave, onDelete }) {
  const form = useForm({ url: integration?.url ?? "", headers: "", clearHeaders: false, secret: "" });
  const names = integration?.headers || [];
  return (
    <form class="card form" onSubmit={form.submit(onSave)}>
      <Field form={form} name="url" label="URL" type="url" placeholder="https://example.com/lorawan" disabled={!writable} />
      {names.length > 0 && <p class="muted">Headers set (values are kept sealed and never shown): {names.join(", ")}</p>}
      {writable && (
        <Field
          form={form}
          name="headers"
          label={names.length ? "Replace headers" : "Headers"}
          type="textarea"
          rows={3}
          placeholder="Name: value"
          help="Write-only; leave empty to keep the current ones."
        />
      )}
      {writable && names.length > 0 && <Field form={form} name="clearHeaders" label="Remove all headers" type="checkbox" />}
      {writable && (
        <Field form={form} name="secret" label="Signing secret" type="password" help="Write-only; leave empty to keep the current one." />
      )}
      {writable && (
        <div class="row">
          <Submit form={form}>{integration ? "Save integration" : "Add integration"}</Submit>
          {integration && (
            <ActionButton class="danger" confirm="Remove the HTTP integration?" action={onDelete}>
              Remove
            </ActionButton>
          )}
          {form.done === "saved" && <span class="ok">Saved.</span>}
        </div>
      )}
      {!writable && !integration && <p class="muted">None configured.</p>}
    </form>
  );
}
