#!/usr/bin/env bash
# A few seconds of the load benchmark (benches/load --smoke): starts bare rmcp, mcp-auth and the
# Python SDK in JSON and SSE modes, sends every scenario shape (tools/call, tools/list; eras
# 2026-07-28 and 2025-06-18) to each and checks every answer, verifies distinct tokens cold,
# and runs wrk for a second if it is installed. Asserts zero errors; no timing assertions.
# Reuses the debug build of `cargo test` (scripts/test.sh builds it with --all-targets).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[[ -x .venv/bin/python ]] || scripts/setup.sh
command -v openssl >/dev/null || { echo "bench-smoke: the openssl command is needed" >&2; exit 1; }

build_log=$(cargo test --bench load --no-run 2>&1) || { echo "$build_log" >&2; exit 1; }
exe=$(printf '%s\n' "$build_log" | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -n1)
[[ -x "$exe" ]] || { echo "bench-smoke: cannot find the load benchmark binary in:" >&2; echo "$build_log" >&2; exit 1; }
"$exe" --smoke "$@"
