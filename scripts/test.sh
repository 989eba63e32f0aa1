#!/usr/bin/env bash
# Every test of the project, from a fresh clone: installs what the tests need (the official
# TypeScript and Python MCP clients, idempotently), checks formatting and lints, then runs
# unit, integration, interop, conformance, trybuild UI and doc tests (then checks that nothing
# the suite logged contains a token it issued), a bounded fuzz smoke run and a smoke run of
# the load benchmark.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

start=$(date +%s)
# A one-shot build: incremental compilation only costs time and ~3 GB of disk here.
export CARGO_INCREMENTAL=0
# A cold run peaks at ~7.1 GiB under target/ (the debug build, trybuild's own build, the fuzz build,
# the suite log); say so up front rather than fail halfway on a full disk.
mkdir -p target
free_kb=$(df -Pk target | awk 'NR == 2 { print $4 }')
if [[ -n $free_kb && $free_kb -lt $((9 * 1024 * 1024)) ]]; then
    echo "test: WARNING: only $((free_kb / 1024)) MiB free under target/; a cold run peaks at ~7.1 GiB" >&2
fi
scripts/setup.sh
echo "test: cargo fmt --check"
cargo fmt --all -- --check
echo "test: cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
# Every test process logs every crate at TRACE to one file, and records the tokens and
# secrets it issued; afterwards one test looks for each of them in every line.
log_dir="$PWD/target/test-log"
rm -rf "$log_dir" && mkdir -p "$log_dir"
export MCP_AUTH_TEST_LOG="$log_dir/suite.jsonl"
echo "test: cargo test (the whole suite logging at TRACE to target/test-log/suite.jsonl)"
cargo test --workspace --all-targets
echo "test: no issued token or secret in any line the suite logged"
cargo test --test audit --quiet -- --ignored --exact suite_log_has_no_issued_token --nocapture
unset MCP_AUTH_TEST_LOG
# Checked and clean: ~1 GiB that nothing reads again (kept when the check fails).
rm -rf "$log_dir"
echo "test: doctests"
cargo test --workspace --doc --quiet
echo "test: fuzz smoke (every target, bounded)"
FUZZ_SMOKE_SECS="${FUZZ_SMOKE_SECS:-10}" scripts/fuzz-smoke.sh
echo "test: load benchmark smoke (no timings asserted)"
scripts/bench-smoke.sh
echo "test: all passed in $(( $(date +%s) - start ))s"
