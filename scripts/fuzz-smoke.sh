#!/usr/bin/env bash
# Fuzz smoke run: every cargo-fuzz target in fuzz/ for FUZZ_SMOKE_SECS seconds (default 20)
# each, starting from the committed seeds (fuzz/seeds/<target>) and the corpus kept from
# earlier runs (fuzz/corpus/<target>, not committed). Fails on the first crash, panic, broken
# invariant, timeout (> 10 s for one input) or out-of-memory (> 2 GiB), and says where the
# input that did it was written (fuzz/artifacts/<target>/).
#
# Stable Rust only: cargo-fuzz builds libFuzzer with SanitizerCoverage (`-Cpasses=sancov-module`,
# stable codegen options) and `--sanitizer none` (AddressSanitizer needs `-Zsanitizer`, a
# nightly flag; the targets are safe Rust). Debug assertions and overflow checks are on.
# cargo-fuzz itself is installed once, pinned, into target/tools.
#
#   scripts/fuzz-smoke.sh                 # all targets, 20 s each
#   FUZZ_SMOKE_SECS=600 scripts/fuzz-smoke.sh jwt_signed guard   # a longer run of two
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SECS="${FUZZ_SMOKE_SECS:-20}"
CARGO_FUZZ_VERSION="0.13.2"
TOOLS="$ROOT/target/tools"
FUZZ="$TOOLS/bin/cargo-fuzz"

if ! "$FUZZ" --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
    echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION into target/tools"
    cargo install --quiet --locked --root "$TOOLS" cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi

cd fuzz
ARGS=(--target-dir "$ROOT/target/fuzz" --sanitizer none)
echo "fuzz: building the targets (release, debug assertions, SanitizerCoverage)"
"$FUZZ" build "${ARGS[@]}"

if [[ $# -gt 0 ]]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <("$FUZZ" list)
fi

start=$(date +%s)
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log="$ROOT/target/fuzz/smoke-$t.log"
    if ! "$FUZZ" run "${ARGS[@]}" "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1; then
        echo "fuzz: $t FAILED; the last lines of $log:" >&2
        tail -n 40 "$log" >&2
        ls -1 "artifacts/$t" >&2 || true
        exit 1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz: $t ok, $runs inputs in ${SECS} s, no crash ($(ls "corpus/$t" | wc -l) corpus entries)"
done
echo "fuzz: ${#TARGETS[@]} targets passed in $(( $(date +%s) - start ))s"
