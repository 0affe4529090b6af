#!/usr/bin/env bash
# Install everything the stack and its tests need on a fresh machine; safe to run again.
# Python 3.13 (the Lambda runtime) in .venv from uv.lock, the npm oracles from their lock
# file, and Debian's Mosquitto (the local stand-in for AWS IoT Core).
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  for candidate in python3.13 /root/.pyenv/versions/3.13*/bin/python3.13 /usr/bin/python3.13 /usr/local/bin/python3.13; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

if ! PYTHON=$(find_python); then
  echo "setup: Python 3.13 not found; installing Debian's python3.13" >&2
  apt-get update -qq && apt-get install -y -qq python3.13 python3.13-venv >/dev/null
  PYTHON=$(find_python)
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv" >&2
  python3 -m pip install -q uv 2>/dev/null || "$PYTHON" -m pip install -q uv
fi

uv sync --frozen --quiet --python "$PYTHON"

if command -v npm >/dev/null 2>&1; then
  if [ ! -d tests/oracles/node_modules/lora-packet ]; then
    npm ci --prefix tests/oracles --no-audit --no-fund --silent
  fi
else
  echo "setup: npm not found; installing Debian's nodejs and npm" >&2
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  npm ci --prefix tests/oracles --no-audit --no-fund --silent
fi

if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  echo "setup: installing Debian's mosquitto" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null
fi
# The local broker's policy plugin (localcloud/mosquitto_policy.c) is compiled against these headers.
if [ ! -f /usr/include/mosquitto_plugin.h ] || [ ! -f /usr/include/mosquitto.h ] || [ ! -f /usr/include/openssl/x509.h ] \
    || ! command -v cc >/dev/null 2>&1; then
  echo "setup: installing Mosquitto's plugin headers and a C compiler" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    mosquitto-dev libmosquitto-dev libssl-dev gcc >/dev/null
fi

# lora-mote-emulator (a third-party gateway + device client) installs a top-level package named `src`,
# so it lives in a virtual environment of its own.
if [ ! -x .oracles/mote-venv/bin/mote ]; then
  uv venv --quiet --python "$PYTHON" .oracles/mote-venv
  VIRTUAL_ENV=.oracles/mote-venv uv pip install --quiet "lora-mote-emulator==1.1.0"
fi

# The web interface (web/): npm packages from its lock file, rebuilt when a source is newer than the build.
if [ ! -d web/node_modules/esbuild ]; then
  npm ci --prefix web --no-audit --no-fund --silent
fi
if [ ! -f web/dist/index.html ] || [ -n "$(find web/src web/build.mjs web/package-lock.json -newer web/dist/index.html 2>/dev/null | head -n 1)" ]; then
  (cd web && node build.mjs >/dev/null)
fi

# Headless Chromium for the browser tests (Playwright drives Debian's; it cannot download its own here).
if [ ! -x /usr/bin/chromium ]; then
  echo "setup: installing Debian's chromium" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
