// The organization: its members and their roles, its API keys and its settings; for global admins,
// every organization and every user; for everyone, their own password.
import { useState } from "preact/hooks";
import {
  ActionButton, ErrorText, Field, ListFooter, Loading, Page, ReadOnlyNote, SearchBox, Submit, useApp, useForm,
  useList, useLoad, SubmitRow } from "../components.jsx";
import { ROLES, shortTime } from "../model.js";
import { navigate } from "../router.js";

const ROLE_NAMES = { admin: "admin", device_admin: "device admin", gateway_admin: "gateway admin", viewer: "viewer" };
const roleOptions = ROLES.map((r) => [r, ROLE_NAMES[r]]);

export function Members() {
  const { api, organization, can } = useApp();
  const base = `/organizations/${organization.id}/members`;
  const list = useList(base);
  const writable = can("org");
  return (
    <Page title="Members" subtitle={`Users of ${organization.name} and their roles`}>
      <ReadOnlyNote show={!writable} />
      <table class="list">
        <thead>
          <tr>
            <th>E-mail</th>
            <th>Role</th>
            {writable && <th />}
          </tr>
        </thead>
        <tbody>
          {list.items.map((m) => (
            <tr key={m.user_id}>
              <td>{m.email}</td>
              <td>{writable ? <RoleSelect path={`${base}/${m.user_id}`} member={m} /> : ROLE_NAMES[m.role] || m.role}</td>
              {writable && (
                <td class="right">
                  <ActionButton class="danger small" confirm={`Remove ${m.email} from ${organization.name}?`} action={async () => (await api.del(`${base}/${m.user_id}`), list.reload())}>
                    Remove
                  </ActionButton>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <ListFooter list={list} noun="members" />
      {writable && <AddMember path={base} onAdded={list.reload} />}
    </Page>
  );
}

function RoleSelect({ path, member }) {
  const { api } = useApp();
  const [role, setRole] = useState(member.role);
  const [error, setError] = useState(null);
  const change = async (next) => {
    const previous = role;
    setRole(next);
    setError(null);
    try {
      await api.put(path, { role: next });
    } catch (failure) {
      setRole(previous);
      setError(failure);
    }
  };
  return (
    <span class="action">
      <select aria-label={`Role of ${member.email}`} value={role} onChange={(e) => change(e.currentTarget.value)}>
        {roleOptions.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
      <ErrorText error={error} />
    </span>
  );
}

function AddMember({ path, onAdded }) {
  const { api } = useApp();
  const form = useForm({ email: "", role: "viewer" });
  return (
    <form
      class="card form"
      onSubmit={form.submit(async (values) => {
        await api.post(path, values);
        form.setValues({ email: "", role: values.role });
        onAdded();
        return "added";
      })}
    >
      <h2>Add a member</h2>
      <p class="muted">The user must exist already (global admins create users).</p>
      <div class="row">
        <Field form={form} name="email" label="E-mail" type="email" />
        <Field form={form} name="role" label="Role" type="select" options={roleOptions} />
      </div>
      <SubmitRow form={form} done="added" message="Added.">Add member</SubmitRow>
    </form>
  );
}

export function ApiKeys() {
  const { api, organization } = useApp();
  const base = `/organizations/${organization.id}/api-keys`;
  const list = useList(base);
  const form = useForm({ name: "", read_only: false });
  const [created, setCreated] = useState(null);
  return (
    <Page title="API keys" subtitle={`Keys act as an admin (or viewer, when read-only) of ${organization.name}`}>
      <table class="list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Access</th>
            <th>Created</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.items.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td>{k.read_only ? "read only" : "read and write"}</td>
              <td>{shortTime(k.created_at)}</td>
              <td class="right">
                <ActionButton class="danger small" confirm={`Revoke the API key ${k.name}?`} action={async () => (await api.del(`${base}/${k.id}`), list.reload())}>
                  Revoke
                </ActionButton>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ListFooter list={list} noun="API keys" />
      <form
        class="card form"
        onSubmit={form.submit(async (values) => {
          setCreated(null);
          setCreated(await api.post(base, values));
          list.reload();
        })}
      >
        <h2>Create an API key</h2>
        <div class="row">
          <Field form={form} name="name" label="Name" />
          <Field form={form} name="read_only" label="Read only" type="checkbox" />
        </div>
        <Submit form={form}>Create API key</Submit>
        {created?.token && (
          <div class="note token" role="status">
            <p>
              The key <strong>{created.name}</strong> — copy it now, it is not shown again:
            </p>
            <code class="secret">{created.token}</code>
          </div>
        )}
      </form>
    </Page>
  );
}

export function OrganizationSettings() {
  const { api, organization, can, refresh } = useApp();
  const state = useLoad(() => api.get(`/organizations/${organization.id}`), [organization.id]);
  const writable = can("org");
  return (
    <Page title="Organization settings" subtitle={organization.name}>
      <ReadOnlyNote show={!writable} />
      <Loading state={state}>{(org) => <OrganizationForm org={org} writable={writable} onSave={async (values) => {
        await api.put(`/organizations/${org.id}`, values);
        await refresh();
        return "saved";
      }} />}</Loading>
    </Page>
  );
}

function OrganizationForm({ org, writable, onSave, label = "Save" }) {
  const form = useForm({ name: org?.name ?? "", description: org?.description ?? "" });
  return (
    <form class="card form" onSubmit={form.submit(onSave)}>
      <Field form={form} name="name" label="Name" disabled={!writable} />
      <Field form={form} name="description" label="Description" type="textarea" rows={3} disabled={!writable} />
      {writable && (
        <SubmitRow form={form} done="saved" message="Saved.">{label}</SubmitRow>
      )}
    </form>
  );
}

export function Organizations() {
  const { api, refresh } = useApp();
  const list = useList("/organizations");
  return (
    <Page title="Organizations" subtitle="Every organization (global administrators)">
      <SearchBox list={list} />
      <table class="list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Description</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.items.map((o) => (
            <tr key={o.id}>
              <td>{o.name}</td>
              <td>{o.description}</td>
              <td class="right">
                <ActionButton
                  class="danger small"
                  confirm={`Delete the organization ${o.name} and everything in it?`}
                  action={async () => {
                    await api.del(`/organizations/${o.id}`);
                    list.reload();
                    refresh();
                  }}
                >
                  Delete
                </ActionButton>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ListFooter list={list} noun="organizations" />
      <section>
        <h2>New organization</h2>
        <OrganizationForm
          writable
          label="Create organization"
          onSave={async (values) => {
            await api.post("/organizations", values);
            list.reload();
            await refresh();
            return "created";
          }}
        />
      </section>
    </Page>
  );
}

export function Users() {
  const { api } = useApp();
  const list = useList("/users");
  return (
    <Page title="Users" subtitle="Every user (global administrators)" actions={<a class="button primary" href="/users/new">Add user</a>}>
      <SearchBox list={list} label="Search by e-mail" />
      <table class="list">
        <thead>
          <tr>
            <th>E-mail</th>
            <th>Global admin</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.items.map((u) => (
            <tr key={u.id}>
              <td>
                <a href={`/users/${u.id}`}>{u.email}</a>
              </td>
              <td>{u.is_admin ? "yes" : "no"}</td>
              <td class="right">
                <ActionButton class="danger small" confirm={`Delete the user ${u.email}?`} action={async () => (await api.del(`/users/${u.id}`), list.reload())}>
                  Delete
                </ActionButton>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ListFooter list={list} noun="users" />
    </Page>
  );
}

export function UserNew() {
  const { api } = useApp();
  const form = useForm({ email: "", password: "", is_admin: false });
  return (
    <Page title="New user">
      <form
        class="card form"
        onSubmit={form.submit(async (values) => {
          const created = await api.post("/users", values);
          navigate(`/users/${created.id}`);
        })}
      >
        <Field form={form} name="email" label="E-mail" type="email" />
        <Field form={form} name="password" label="Password" type="password" />
        <Field form={form} name="is_admin" label="Global administrator" type="checkbox" />
        <Submit form={form}>Create user</Submit>
      </form>
    </Page>
  );
}

export function UserView({ id }) {
  const { api } = useApp();
  const state = useLoad(() => api.get(`/users/${id}`), [id]);
  return (
    <Loading state={state}>
      {(user) => (
        <Page title={user.email} subtitle="User">
          <UserForm user={user} />
          <PasswordForm userId={id} />
        </Page>
      )}
    </Loading>
  );
}

function UserForm({ user }) {
  const { api } = useApp();
  const form = useForm({ email: user.email, is_admin: !!user.is_admin });
  return (
    <form class="card form" onSubmit={form.submit(async (values) => (await api.put(`/users/${user.id}`, values), "saved"))}>
      <Field form={form} name="email" label="E-mail" type="email" />
      <Field form={form} name="is_admin" label="Global administrator" type="checkbox" />
      <SubmitRow form={form} done="saved" message="Saved.">Save</SubmitRow>
    </form>
  );
}

function PasswordForm({ userId }) {
  const { api } = useApp();
  const form = useForm({ password: "", repeat: "" });
  return (
    <form
      class="card form"
      onSubmit={form.submit(async ({ password, repeat }) => {
        if (password !== repeat) {
          const error = new Error("the two passwords differ");
          error.field = "repeat";
          throw error;
        }
        await api.put(`/users/${userId}/password`, { password });
        form.setValues({ password: "", repeat: "" });
        return "changed";
      })}
    >
      <h2>Password</h2>
      <Field form={form} name="password" label="New password" type="password" />
      <Field form={form} name="repeat" label="New password again" type="password" />
      <SubmitRow form={form} done="changed" message="Changed.">Change password</SubmitRow>
    </form>
  );
}

export function Account() {
  const { me } = useApp();
  return (
    <Page title="Your account" subtitle={me.user.email}>
      <section class="card">
        <h2>Organizations</h2>
        <ul>
          {(me.organizations || []).map((o) => (
            <li key={o.id}>
              {o.name}: {ROLE_NAMES[o.role] || o.role}
            </li>
          ))}
        </ul>
        {me.user.is_admin && <p>You are a global administrator.</p>}
      </section>
      <PasswordForm userId={me.user.id} />
    </Page>
  );
}
