// The shell: session, the caller's organizations and role, the organization switcher, navigation and
// the route table. Pages get the API client and the caller's rights from AppContext.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { createClient } from "./api.js";
import { AppContext, ErrorText, Field, Page, Submit, useApp, useForm } from "./components.jsx";
import { canWrite } from "./model.js";
import { currentPath, interceptLinks, matchRoute, navigate, onNavigate } from "./router.js";
import { clearSession, loadOrganization, loadSession, saveOrganization, saveSession } from "./session.js";
import { routes } from "./routes.jsx";

export function App({ apiUrl }) {
  const [session, setSession] = useState(loadSession);
  const [me, setMe] = useState(null);
  const [organizations, setOrganizations] = useState(null);
  const [organizationId, setOrganizationId] = useState(loadOrganization);
  const [meError, setMeError] = useState(null);
  const [path, setPathState] = useState(currentPath);
  const token = useRef(session?.token);
  token.current = session?.token;

  const logout = () => {
    clearSession();
    setSession(null);
    setMe(null);
    setOrganizations(null);
  };
  const api = useMemo(
    () => createClient({ baseUrl: apiUrl, getToken: () => token.current, onUnauthorized: logout }),
    [apiUrl],
  );

  useEffect(() => {
    interceptLinks(document);
    return onNavigate(() => setPathState(currentPath()));
  }, []);

  const refresh = async () => {
    try {
      const mine = await api.get("/me");
      let list = mine.organizations || [];
      try {
        const page = await api.get("/organizations", { limit: 100 });
        const roles = new Map(list.map((o) => [o.id, o.role]));
        list = (page.items || []).map((o) => ({ ...o, role: roles.get(o.id) }));
      } catch {
        // /me's list is enough to work with
      }
      setMe(mine);
      setOrganizations(list);
      setMeError(null);
    } catch (error) {
      setMeError(error);
    }
  };

  useEffect(() => {
    if (session) refresh();
  }, [session?.token]);

  if (!session) {
    return (
      <AppContext.Provider value={{ api }}>
        <Login
          onLogin={(s) => {
            saveSession(s);
            token.current = s.token;
            setSession(s);
          }}
        />
      </AppContext.Provider>
    );
  }
  if (!me || !organizations) {
    return (
      <div class="center">
        {meError ? (
          <>
            <ErrorText error={meError} />
            <button onClick={refresh}>Try again</button> <button onClick={logout}>Sign out</button>
          </>
        ) : (
          <p class="muted">Loading…</p>
        )}
      </div>
    );
  }

  const isAdmin = !!me.user?.is_admin;
  const organization = organizations.find((o) => o.id === organizationId) || organizations[0] || null;
  const role = isAdmin ? "admin" : organization?.role || "viewer";
  const rights = { role, isAdmin };
  const chooseOrganization = (id) => {
    saveOrganization(id);
    setOrganizationId(id);
  };
  const context = {
    api,
    me,
    isAdmin,
    role,
    organization,
    organizations,
    chooseOrganization,
    refresh,
    can: (area) => canWrite(area, rights),
  };

  const pathname = path === "/" || path === "/login" ? "/applications" : path;
  const found = matchRoute(routes, pathname);
  const needsOrganization = found && found.route.organization !== false;
  let content;
  if (!found) {
    content = (
      <Page title="Not found">
        <p>
          Nothing lives at <code>{path}</code>. <a href="/applications">Go to the applications</a>.
        </p>
      </Page>
    );
  } else if (needsOrganization && !organization) {
    content = (
      <Page title="No organization">
        <p>
          You are not a member of any organization yet. An organization admin can invite you; accept on{" "}
          <a href="/account">your account page</a>.
        </p>
      </Page>
    );
  } else {
    const View = found.route.view;
    content = <View key={`${organization?.id}:${pathname}`} {...found.params} />;
  }

  return (
    <AppContext.Provider value={context}>
      <div class="shell">
        <header class="top">
          <a class="brand" href="/applications">
            <Logo /> Loraless
          </a>
          <label class="org-switch">
            <span>Organization</span>
            <select
              aria-label="Organization"
              value={organization?.id || ""}
              onChange={(e) => chooseOrganization(e.currentTarget.value)}
            >
              {organizations.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          </label>
          <span class="role" title="Your role in this organization">
            {isAdmin ? "global admin" : role.replace("_", " ")}
          </span>
          <span class="spacer" />
          <a href="/account" class="who">
            {me.user?.email}
          </a>
          <button type="button" class="link" onClick={logout}>
            Sign out
          </button>
        </header>
        <nav class="side" aria-label="Main">
          <NavLink path={pathname} href="/applications">Applications</NavLink>
          <NavLink path={pathname} href="/device-profiles">Device profiles</NavLink>
          <NavLink path={pathname} href="/gateways">Gateways</NavLink>
          <h2>Organization</h2>
          <NavLink path={pathname} href="/members">Members</NavLink>
          {context.can("org") && <NavLink path={pathname} href="/api-keys">API keys</NavLink>}
          <NavLink path={pathname} href="/organization">Settings</NavLink>
          {isAdmin && (
            <>
              <h2>Administration</h2>
              <NavLink path={pathname} href="/organizations">Organizations</NavLink>
              <NavLink path={pathname} href="/users">Users</NavLink>
            </>
          )}
        </nav>
        <main>{content}</main>
      </div>
    </AppContext.Provider>
  );
}

function NavLink({ path, href, children }) {
  const active = path === href || path.startsWith(`${href}/`);
  return (
    <a href={href} class={active ? "active" : ""} aria-current={active ? "page" : undefined}>
      {children}
    </a>
  );
}

function Logo() {
  return (
    <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true">
      <circle cx="12" cy="16" r="2.5" fill="currentColor" />
      <path d="M7 11a7 7 0 0 1 10 0M4 8a11 11 0 0 1 16 0" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
    </svg>
  );
}

function Login({ onLogin }) {
  const { api } = useApp();
  const form = useForm({ email: "", password: "" });
  return (
    <div class="login">
      <form class="card" onSubmit={form.submit(async (values) => onLogin(await api.post("/login", values)))}>
        <h1>
          <Logo /> Loraless
        </h1>
        <p class="muted">Sign in to manage your LoRaWAN devices and gateways.</p>
        <Field form={form} name="email" label="E-mail" type="email" />
        <Field form={form} name="password" label="Password" type="password" />
        <Submit form={form}>Sign in</Submit>
      </form>
    </div>
  );
}
