// A tiny client-side router on the History API: routes are patterns like "/devices/:dev_eui";
// the servers (CloudFront's error rule, localcloud/web.py) answer unknown paths with index.html.

export function compile(pattern) {
  const names = [];
  const source = pattern
    .split("/")
    .map((part) => {
      if (part.startsWith(":")) {
        names.push(part.slice(1));
        return "([^/]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { regex: new RegExp(`^${source}/?$`), names };
}

/** The first route whose pattern matches `pathname`, with its decoded parameters; or null. */
export function matchRoute(routes, pathname) {
  for (const route of routes) {
    route.compiled ||= compile(route.path);
    const found = route.compiled.regex.exec(pathname);
    if (found) {
      const params = {};
      route.compiled.names.forEach((name, i) => {
        params[name] = decodeURIComponent(found[i + 1]);
      });
      return { route, params };
    }
  }
  return null;
}

const listeners = new Set();

export function currentPath() {
  return globalThis.location ? globalThis.location.pathname : "/";
}

export function navigate(path, { replace = false } = {}) {
  if (path === currentPath() + (globalThis.location?.search || "")) return;
  globalThis.history[replace ? "replaceState" : "pushState"](null, "", path);
  for (const listener of listeners) listener();
}

export function onNavigate(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Same-origin <a href> clicks route on the client; modified clicks and new tabs are left alone. */
export function interceptLinks(root) {
  root.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = event.target.closest && event.target.closest("a[href]");
    if (!anchor || anchor.target || anchor.hasAttribute("download")) return;
    const url = new URL(anchor.href, globalThis.location.href);
    if (url.origin !== globalThis.location.origin) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  globalThis.addEventListener("popstate", () => {
    for (const listener of listeners) listener();
  });
}
