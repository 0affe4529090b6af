// The signed-in session (token from POST /login, kept until it expires) and the chosen organization.
const SESSION = "loraless.session";
const ORGANIZATION = "loraless.organization";

export function loadSession(now = Date.now()) {
  try {
    const session = JSON.parse(globalThis.localStorage.getItem(SESSION) || "null");
    if (session && session.token && (!session.expires_at || Date.parse(session.expires_at) > now)) return session;
  } catch {
    // a damaged entry is the same as none
  }
  return null;
}

export function saveSession(session) {
  globalThis.localStorage.setItem(SESSION, JSON.stringify(session));
}

export function clearSession() {
  globalThis.localStorage.removeItem(SESSION);
}

export const loadOrganization = () => globalThis.localStorage.getItem(ORGANIZATION);
export const saveOrganization = (id) => globalThis.localStorage.setItem(ORGANIZATION, id);
