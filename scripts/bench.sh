#!/usr/bin/env bash
# The benchmarks, in one command (see BENCHMARKS.md):
#   1. criterion micro-benchmarks of the authorization hot path   (benches/micro.rs)
#   2. the side-by-side load benchmark: bare rmcp vs mcp-auth vs the Python SDK, driven by wrk
#      in alternating rounds                                       (benches/load/)
# Builds in release into target/bench (a target dir of its own, so it does not wait on the
# shared debug build). Installs what it needs, idempotently: wrk (Debian package) and the
# Python SDK (.venv, through scripts/setup.sh).
#
#   scripts/bench.sh                      # everything: micro, then load (3 rounds x 3 s)
#   scripts/bench.sh --rounds 5 --duration 5
#   scripts/bench.sh --only c=32          # only scenarios whose label contains "c=32"
#   BENCH_MICRO=0 scripts/bench.sh        # load only;  BENCH_LOAD=0: micro only
#   scripts/bench.sh --syscalls           # also system calls and context switches per request
#   scripts/bench.sh --pin                # servers on CPU 0 (1 worker), wrk on CPU 1
#
# Results: target/bench/load-results.md and target/bench/micro-results.txt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v wrk >/dev/null; then
    echo "bench: installing wrk (Debian package)"
    SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    $SUDO apt-get install -y -qq wrk >/dev/null 2>&1 || {
        $SUDO apt-get update -qq >/dev/null
        $SUDO apt-get install -y -qq wrk >/dev/null
    }
fi
if [[ " $* " == *" --syscalls "* ]] && ! command -v perf >/dev/null; then
    echo "bench: installing perf (Debian package linux-perf) for --syscalls"
    SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    $SUDO apt-get install -y -qq linux-perf >/dev/null 2>&1 || {
        $SUDO apt-get update -qq >/dev/null
        $SUDO apt-get install -y -qq linux-perf >/dev/null
    }
fi
command -v openssl >/dev/null || { echo "bench: the openssl command is needed (Debian package openssl)" >&2; exit 1; }
if [[ ! -x .venv/bin/python ]]; then
    scripts/setup.sh
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/bench}"
mkdir -p "$CARGO_TARGET_DIR"
echo "bench: machine $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ "${BENCH_MICRO:-1}" != 0 ]]; then
    echo "bench: micro-benchmarks (cargo bench --bench micro)"
    cargo bench --bench micro -- --warm-up-time 1 --measurement-time 3 \
        | tee "$CARGO_TARGET_DIR/micro-results.txt"
fi
if [[ "${BENCH_LOAD:-1}" != 0 ]]; then
    echo "bench: load benchmark (cargo bench --bench load)"
    cargo bench --bench load -- --out "$CARGO_TARGET_DIR/load-results.md" "$@"
fi
