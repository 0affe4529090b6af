// Building blocks every page uses: loading state, forms that keep their values and show each API error
// next to the field it names, buttons whose failure shows beside them, paged lists, and the page frame.
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError } from "./api.js";

export const AppContext = createContext(null);
export const useApp = () => useContext(AppContext);

/** Runs `load()` now and whenever `deps` change; `reload()` runs it again. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const generation = useRef(0);
  const run = useCallback(async () => {
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await load();
      if (mine === generation.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (mine === generation.current) setState((s) => ({ data: s.data, error, loading: false }));
    }
  }, deps); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    run();
  }, [run]);
  const setData = (data) => setState((s) => ({ ...s, data: typeof data === "function" ? data(s.data) : data }));
  return { ...state, reload: run, setData };
}

export function getPath(object, path) {
  return path.split(".").reduce((value, key) => (value == null ? undefined : value[key]), object);
}

export function setPath(object, path, value) {
  const [head, ...rest] = path.split(".");
  if (!rest.length) return { ...object, [head]: value };
  return { ...object, [head]: setPath(object?.[head] || {}, rest.join("."), value) };
}

function leafNames(object, prefix = "") {
  return Object.entries(object).flatMap(([key, value]) =>
    value && typeof value === "object" && !Array.isArray(value)
      ? leafNames(value, `${prefix}${key}.`)
      : [`${prefix}${key}`],
  );
}

/** Form state: the values survive a failed submit; errors come back per field from ApiError.byField. */
export function useForm(initial) {
  const [values, setValues] = useState(initial);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(null);
  const known = useMemo(() => new Set(leafNames(initial)), []); // eslint-disable-line react-hooks/exhaustive-deps
  const byField = error instanceof ApiError ? error.byField : error?.field ? { [error.field]: [error.message] } : {};
  return {
    values,
    error,
    busy,
    done,
    known,
    setValues,
    setError,
    get: (name) => getPath(values, name),
    set: (name, value) => setValues((v) => setPath(v, name, value)),
    fieldErrors: (name) => byField[name] || [],
    /** Errors for no field on this form, shown by <FormError>. */
    otherErrors: () => Object.entries(byField).flatMap(([f, problems]) => (known.has(f) ? [] : problems.map((p) => (f ? `${f}: ${p}` : p)))),
    submit: (handler) => async (event) => {
      event?.preventDefault?.();
      setBusy(true);
      setError(null);
      setDone(null);
      try {
        setDone((await handler(values)) ?? true);
      } catch (failure) {
        setError(failure);
      } finally {
        setBusy(false);
      }
    },
  };
}

/** An error for one field raised before any request (e.g. a payload that is not hex). */
export function fieldError(field, message) {
  const error = new Error(message);
  error.field = field;
  return error;
}

export function Field({ form, name, label, type = "text", options, help, disabled, placeholder, rows = 6, extra }) {
  const id = `f-${name.replace(/\./g, "-")}`;
  const value = form.get(name);
  const problems = form.fieldErrors(name);
  const invalid = problems.length > 0;
  const common = {
    id,
    name,
    disabled,
    "aria-invalid": invalid ? "true" : undefined,
    "aria-describedby": invalid ? `${id}-error` : undefined,
  };
  let input;
  if (type === "checkbox") {
    input = <input {...common} type="checkbox" checked={!!value} onChange={(e) => form.set(name, e.currentTarget.checked)} />;
  } else if (type === "select") {
    input = (
      <select {...common} value={value ?? ""} onChange={(e) => form.set(name, e.currentTarget.value)}>
        {options.map((o) => {
          const [optionValue, text] = Array.isArray(o) ? o : [o, o];
          return (
            <option key={optionValue} value={optionValue}>
              {text}
            </option>
          );
        })}
      </select>
    );
  } else if (type === "textarea") {
    input = (
      <textarea {...common} rows={rows} placeholder={placeholder} value={value ?? ""} onInput={(e) => form.set(name, e.currentTarget.value)} />
    );
  } else {
    input = (
      <input
        {...common}
        type={type}
        step={type === "number" ? "any" : undefined}
        placeholder={placeholder}
        value={value ?? ""}
        onInput={(e) => form.set(name, e.currentTarget.value)}
      />
    );
  }
  return (
    <div class={`field${type === "checkbox" ? " check" : ""}${invalid ? " invalid" : ""}`}>
      <label for={id}>{label}</label>
      <div class="control">
        {input}
        {extra}
      </div>
      {help && <small class="help">{help}</small>}
      {invalid && (
        <p class="field-error" id={`${id}-error`} role="alert">
          {problems.join("; ")}
        </p>
      )}
    </div>
  );
}

/** The form's own error (the API's message and problems naming no field on it), beside its button. */
export function FormError({ form }) {
  if (!form.error) return null;
  const others = form.otherErrors();
  const error = form.error;
  const shownByField = !others.length && !(error instanceof ApiError) && error.field;
  if (shownByField) return null;
  return <ErrorText error={error} extra={others} />;
}

export function ErrorText({ error, extra }) {
  if (!error) return null;
  const status = error instanceof ApiError && error.status ? ` (${error.status})` : "";
  const details = extra ?? (error instanceof ApiError ? error.errors : []);
  return (
    <div class="error" role="alert">
      <strong>{error.message}</strong>
      {status}
      {details && details.length > 0 && (
        <ul>
          {details.map((d) => (
            <li key={d}>{d}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Submit({ form, children, disabled }) {
  return (
    <div class="actions">
      <button type="submit" class="primary" disabled={form.busy || disabled}>
        {form.busy ? "Saving…" : children}
      </button>
      <FormError form={form} />
    </div>
  );
}

/** The submit button and, once the form's action reported `done`, its confirmation beside it. */
export function SubmitRow({ form, done, message, children }) {
  return (
    <div class="row">
      <Submit form={form}>{children}</Submit>
      {form.done === done && <span class="ok">{message}</span>}
    </div>
  );
}

/** A button that runs an API call; if it fails, the message shows right next to it. */
export function ActionButton({ action, children, confirm, class: className = "", title }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const click = async () => {
    if (confirm && !globalThis.confirm(confirm)) return;
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button type="button" class={className} disabled={busy} onClick={click} title={title}>
        {children}
      </button>
      <ErrorText error={error} />
    </span>
  );
}

/** A paged, searchable list: `{items, next_cursor}` pages appended by "Load more". */
export function useList(path, query = {}, deps = []) {
  const { api } = useApp();
  const [search, setSearch] = useState("");
  const [state, setState] = useState({ items: [], next: null, error: null, loading: true });
  const key = JSON.stringify([path, query, search]);
  const fetchPage = useCallback(
    async (cursor) => {
      if (!path) return;
      setState((s) => ({ ...s, loading: true }));
      try {
        const page = await api.get(path, { ...query, search, cursor, limit: 50 });
        setState((s) => ({
          items: cursor ? [...s.items, ...(page.items || [])] : page.items || [],
          next: page.next_cursor || null,
          error: null,
          loading: false,
        }));
      } catch (error) {
        setState((s) => ({ ...s, error, loading: false }));
      }
    },
    [key, ...deps], // eslint-disable-line react-hooks/exhaustive-deps
  );
  useEffect(() => {
    fetchPage(null);
  }, [fetchPage]);
  return {
    ...state,
    search,
    setSearch,
    reload: () => fetchPage(null),
    loadMore: () => fetchPage(state.next),
  };
}

export function ListFooter({ list, noun }) {
  return (
    <div class="list-footer">
      <ErrorText error={list.error} />
      {!list.loading && !list.error && list.items.length === 0 && <p class="muted">No {noun} yet.</p>}
      {list.loading && <p class="muted">Loading…</p>}
      {list.next && !list.loading && (
        <button type="button" onClick={list.loadMore}>
          Load more
        </button>
      )}
    </div>
  );
}

export function SearchBox({ list, label = "Search by name" }) {
  const [text, setText] = useState(list.search);
  useEffect(() => {
    const timer = setTimeout(() => list.setSearch(text), 250);
    return () => clearTimeout(timer);
  }, [text]); // eslint-disable-line react-hooks/exhaustive-deps
  return <input class="search" type="search" aria-label={label} placeholder={label} value={text} onInput={(e) => setText(e.currentTarget.value)} />;
}

export function Page({ title, subtitle, actions, children }) {
  useEffect(() => {
    document.title = `${title} · Loraless`;
  }, [title]);
  return (
    <section class="page">
      <header class="page-head">
        <div>
          <h1>{title}</h1>
          {subtitle && <p class="muted">{subtitle}</p>}
        </div>
        {actions && <div class="page-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

export function Loading({ state, children }) {
  if (state.error && !state.data) return <ErrorText error={state.error} />;
  if (!state.data) return <p class="muted">Loading…</p>;
  return children(state.data);
}

export function Badge({ kind, children }) {
  return <span class={`badge ${kind || ""}`}>{children}</span>;
}

export function ReadOnlyNote({ show }) {
  return show ? <p class="note">Read only: your role in this organization cannot change this.</p> : null;
}
