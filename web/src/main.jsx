// Boot: read /config.json (served next to index.html, so one bundle runs on AWS and locally), then render.
import "./style.css";
import { render } from "preact";
import { App } from "./app.jsx";

async function boot() {
  const root = document.getElementById("app");
  try {
    const response = await fetch("/config.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const config = await response.json();
    if (!config.apiUrl) throw new Error("no apiUrl in it");
    render(<App apiUrl={config.apiUrl} />, root);
  } catch (error) {
    render(
      <div class="error boot" role="alert">
        <strong>Cannot read /config.json</strong> ({String(error.message || error)}). The server that
        hosts this page must serve it as {'{"apiUrl": "https://…"}'}.
      </div>,
      root,
    );
  }
}

boot();
