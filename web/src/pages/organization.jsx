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
  const [added, setAdded] = useState(0);
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
      <Invitations base={`/organizations/${organization.id}`} writable={writable} version={added} />
      {writable && <AddMember path={base} onAdded={() => (list.reload(), setAdded(added + 1))} />}
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
  const { api, isAdmin } = useApp();
  const form = useForm({ email: "", role: "viewer" });
  return (
    <form
      class="card form"
      onSubmit={form.submit(async (values) => {
        const answer = await api.post(path, values);
        form.setValues({ email: "", role: values.role });
        onAdded();
        return answer.status === "invited" ? "invited" : "added";
      })}
    >
      <h2>Invite a member</h2>
      <p class="muted">
        The person joins when they accept the invitation (on their account page).
        {isAdmin && " As a global administrator you add an existing user at once."}
      </p>
      <div class="row">
        <Field form={form} name="email" label="E-mail" type="email" />
        <Field form={form} name="role" label="Role" type="select" options={roleOptions} />
      </div>
      <SubmitRow form={form} done={form.done || "-"} message={form.done === "invited" ? "Invited." : "Added."}>
        {isAdmin ? "Add member" : "Invite"}
      </SubmitRow>
    </form>
  );
}

function Invitations({ base, writable, version }) {
  const { api } = useApp();
  const state = useLoad(() => api.get(`${base}/invitations`), [base, version]);
  return (
    <Loading state={state}>
      {({ items }) =>
        items.length > 0 && (
          <section>
            <h2>Invitations not yet accepted</h2>
            <table class="list">
              <tbody>
                {items.map((i) => (
                  <tr key={i.email}>
                    <td>{i.email}</td>
                    <td>{ROLE_NAMES[i.role] || i.role}</td>
                    {writable && (
                      <td class="right">
                        <ActionButton class="small" action={async () => (await api.del(`${base}/invitations/${encodeURIComponent(i.email)}`), state.reload())}>
                          Withdraw
                        </ActionButton>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        )
      }
    </Loading>
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
  const { api, refresh, chooseOrganization } = useApp();
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
              <td>
                <button
                  type="button"
                  class="link"
                  title={`Switch to ${o.name} and open its settings`}
                  onClick={() => {
                    chooseOrganization(o.id);
                    navigate("/organization");
                  }}
                >
                  {o.name}
                </button>
              </td>
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
            <th>Login</th>
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
              <td>
                {u.locked ? (
                  <ActionButton class="small" action={async () => (await api.del(`/users/${u.id}/lock`), list.reload())}>
                    Unlock
                  </ActionButton>
                ) : (
                  "open"
                )}
              </td>
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
          {user.locked && (
            <section class="card">
              <p>This account is locked after too many failed logins.</p>
              <ActionButton action={async () => (await api.del(`/users/${id}/lock`), state.reload())}>Unlock</ActionButton>
            </section>
          )}
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
  const { api, me, refresh } = useApp();
  const own = me?.user?.id === userId;
  const form = useForm({ current_password: "", password: "", repeat: "" });
  return (
    <form
      class="card form"
      onSubmit={form.submit(async ({ current_password, password, repeat }) => {
        if (password !== repeat) {
          const error = new Error("the two passwords differ");
          error.field = "repeat";
          throw error;
        }
        await api.put(`/users/${userId}/password`, own ? { password, current_password } : { password });
        form.setValues({ current_password: "", password: "", repeat: "" });
        if (own) refresh(); // every session of this user has ended, this one too: sign in again
        return "changed";
      })}
    >
      <h2>Password</h2>
      {own && <Field form={form} name="current_password" label="Current password" type="password" />}
      <Field form={form} name="password" label="New password" type="password" />
      <Field form={form} name="repeat" label="New password again" type="password" />
      <p class="muted">Changing the password signs this user out everywhere.</p>
      <SubmitRow form={form} done="changed" message="Changed.">Change password</SubmitRow>
    </form>
  );
}

function MyInvitations() {
  const { api, refresh } = useApp();
  const state = useLoad(() => api.get("/me/invitations"), []);
  return (
    <Loading state={state}>
      {({ items }) => (
        <section class="card">
          <h2>Invitations</h2>
          {items.length === 0 && <p class="muted">No invitations waiting.</p>}
          <ul>
            {items.map((i) => (
              <li key={i.organization_id}>
                {i.organization_name} invites you as {ROLE_NAMES[i.role] || i.role}{" "}
                <ActionButton class="small primary" action={async () => (await api.post(`/me/invitations/${i.organization_id}`), refresh(), state.reload())}>
                  Accept
                </ActionButton>{" "}
                <ActionButton class="small" action={async () => (await api.del(`/me/invitations/${i.organization_id}`), state.reload())}>
                  Decline
                </ActionButton>
              </li>
            ))}
          </ul>
        </section>
      )}
    </Loading>
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
      {me.user.id && <MyInvitations />}
      <PasswordForm userId={me.user.id} />
    </Page>
  );
}
