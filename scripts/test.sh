#!/usr/bin/env bash
# Every test of the project, from a fresh clone: installs what the tests need (the official
# TypeScript and Python MCP clients, idempotently), checks formatting and lints, then runs
# unit, integration, interop, conformance, trybuild UI and doc tests, a bounded fuzz smoke run
# and a smoke run of the load benchmark.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

start=$(date +%s)
scripts/setup.sh
echo "test: cargo fmt --check"
cargo fmt --all -- --check
echo "test: cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "test: cargo test"
cargo test --workspace --all-targets
echo "test: doctests"
cargo test --workspace --doc --quiet
echo "test: fuzz smoke (every target, bounded)"
FUZZ_SMOKE_SECS="${FUZZ_SMOKE_SECS:-10}" scripts/fuzz-smoke.sh
echo "test: load benchmark smoke (no timings asserted)"
scripts/bench-smoke.sh
echo "test: all passed in $(( $(date +%s) - start ))s"
