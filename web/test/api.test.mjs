import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError, createClient, errorsByField, queryString } from "../src/api.js";

function fakeFetch(status, body, calls = []) {
  return async (url, init) => {
    calls.push({ url, init });
    return {
      ok: status >= 200 && status < 300,
      status,
      statusText: "Status",
      text: async () => (body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body)),
    };
  };
}

test("422 errors are split by the field they name; the rest go to the form", () => {
  const byField = errorsByField(["dev_eui: String should match pattern", "codec.kind: bad", "body: missing", "odd"]);
  assert.deepEqual(byField, {
    dev_eui: ["String should match pattern"],
    "codec.kind": ["bad"],
    "": ["missing", "odd"],
  });
});

test("query strings skip empty values", () => {
  assert.equal(queryString({ limit: 50, cursor: null, search: "", organization_id: "o 1" }), "?limit=50&organization_id=o+1");
  assert.equal(queryString({}), "");
});

test("requests carry the bearer token and JSON body; answers are parsed", async () => {
  const calls = [];
  const api = createClient({ baseUrl: "http://api/v1/", getToken: () => "tok", fetchImpl: fakeFetch(201, { id: "a" }, calls) });
  assert.deepEqual(await api.post("/applications", { name: "x" }), { id: "a" });
  assert.equal(calls[0].url, "http://api/v1/applications");
  assert.equal(calls[0].init.headers.Authorization, "Bearer tok");
  assert.equal(calls[0].init.body, '{"name":"x"}');
});

test("204 gives null", async () => {
  const api = createClient({ baseUrl: "http://api", getToken: () => null, fetchImpl: fakeFetch(204) });
  assert.equal(await api.del("/x"), null);
});

test("failures become ApiError with status, message and field errors", async () => {
  const api = createClient({
    baseUrl: "http://api",
    getToken: () => "t",
    fetchImpl: fakeFetch(422, { message: "invalid request", errors: ["name: too long"] }),
  });
  await assert.rejects(api.post("/applications", {}), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 422);
    assert.equal(error.message, "invalid request");
    assert.deepEqual(error.byField, { name: ["too long"] });
    return true;
  });
});

test("401 signs out, except on /login; unreachable API is status 0", async () => {
  let signedOut = 0;
  const api = createClient({
    baseUrl: "http://api",
    getToken: () => "t",
    onUnauthorized: () => signedOut++,
    fetchImpl: fakeFetch(401, { message: "bad token" }),
  });
  await assert.rejects(api.get("/me"), /bad token/);
  await assert.rejects(api.post("/login", {}), /bad token/);
  assert.equal(signedOut, 1);
  const down = createClient({
    baseUrl: "http://api",
    getToken: () => null,
    fetchImpl: async () => {
      throw new TypeError("Failed to fetch");
    },
  });
  await assert.rejects(down.get("/me"), (error) => error.status === 0 && /cannot reach/.test(error.message));
});

test("a non-JSON error body still gives a message", async () => {
  const api = createClient({ baseUrl: "http://api", getToken: () => null, fetchImpl: fakeFetch(502, "Bad Gateway") });
  await assert.rejects(api.get("/x"), (error) => error.status === 502 && error.message === "Bad Gateway");
});
