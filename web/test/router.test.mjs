import assert from "node:assert/strict";
import { test } from "node:test";
import { matchRoute } from "../src/router.js";

const routes = [
  { path: "/applications" },
  { path: "/applications/new" },
  { path: "/applications/:id" },
  { path: "/devices/:dev_eui/edit" },
];

test("patterns match in order and decode their parameters", () => {
  assert.equal(matchRoute(routes, "/applications").route.path, "/applications");
  assert.equal(matchRoute(routes, "/applications/").route.path, "/applications");
  assert.equal(matchRoute(routes, "/applications/new").route.path, "/applications/new");
  assert.deepEqual(matchRoute(routes, "/applications/a%20b").params, { id: "a b" });
  assert.deepEqual(matchRoute(routes, "/devices/0011223344556677/edit").params, { dev_eui: "0011223344556677" });
  assert.equal(matchRoute(routes, "/applications/x/y"), null);
  assert.equal(matchRoute(routes, "/nowhere"), null);
});
