// The REST API client (docs/rest-api.md): JSON in and out, `Authorization: Bearer <token>`, and every
// failure as an ApiError that says which form field it belongs to, so pages show it next to that field.

export class ApiError extends Error {
  /** status 0 means the API could not be reached at all. */
  constructor(status, message, errors = []) {
    super(message || `request failed (${status})`);
    this.name = "ApiError";
    this.status = status;
    this.errors = errors;
  }

  /** The 422 `errors` list ("field: problem") split by field; problems naming no field go to "". */
  get byField() {
    return errorsByField(this.errors);
  }
}

export function errorsByField(errors) {
  const result = {};
  for (const entry of errors || []) {
    const text = String(entry);
    const match = /^([A-Za-z_][\w.]*)\s*:\s*(.*)$/s.exec(text);
    const field = match && match[1] !== "body" ? match[1] : "";
    const problem = match ? match[2] || text : text;
    (result[field] ||= []).push(problem);
  }
  return result;
}

export function queryString(query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** `fetchImpl` is injectable for tests; `onUnauthorized` runs on a 401 (not for /login itself). */
export function createClient({ baseUrl, getToken, onUnauthorized = () => {}, fetchImpl }) {
  const base = String(baseUrl).replace(/\/+$/, "");
  const doFetch = fetchImpl || ((...args) => globalThis.fetch(...args));

  async function request(method, path, { query, body } = {}) {
    const headers = { Accept: "application/json" };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await doFetch(base + path + queryString(query), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(0, `cannot reach the API (${error.message || error})`);
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = { message: text.slice(0, 200) };
      }
    }
    if (!response.ok) {
      if (response.status === 401 && path !== "/login") onUnauthorized();
      const message = (data && data.message) || response.statusText || `HTTP ${response.status}`;
      throw new ApiError(response.status, message, (data && data.errors) || []);
    }
    return data;
  }

  return {
    request,
    get: (path, query) => request("GET", path, { query }),
    post: (path, body) => request("POST", path, { body: body ?? {} }),
    put: (path, body) => request("PUT", path, { body: body ?? {} }),
    del: (path) => request("DELETE", path),
  };
}
