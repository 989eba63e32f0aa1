#!/usr/bin/env bash
# Instructions per request of one server, with valgrind's callgrind (repeatable whatever else
# the machine does; see BENCHMARKS.md, "Profile findings").
#
#   benches/load/callgrind.sh <bare|ours> <modern|legacy> <call|list> [SECONDS]
#   CACHE_SIM=1 benches/load/callgrind.sh ...   also simulated cache misses and branch
#                                               mispredictions per request
#
# Builds nothing: run scripts/bench.sh (or `CARGO_TARGET_DIR=target/bench cargo bench --bench
# load --no-run`) first. Starts the server under callgrind, warms it up with wrk, zeroes the
# counters, drives it for SECONDS (default 10) at 2 connections, dumps, and prints Ir/request.
# The profile stays in target/bench/callgrind/ for callgrind_annotate.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
kind=$1 era=$2 method=$3 secs=${4:-10}
out=target/bench/callgrind
mkdir -p "$out"
bin=$(CARGO_TARGET_DIR=target/bench cargo bench --bench load --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -n1)
[[ -x $bin ]] || { echo "no load benchmark binary; run scripts/bench.sh first" >&2; exit 1; }
[[ -f $out/key.pem ]] || {
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$out/key.pem" 2>/dev/null
    openssl pkey -pubout -in "$out/key.pem" -out "$out/key.pub.pem"
}
tag=$kind-$era-$method
rm -f "$out/$tag".*
sim=()
[[ ${CACHE_SIM:-0} == 1 ]] && sim=(--cache-sim=yes --branch-sim=yes)
valgrind --tool=callgrind "${sim[@]}" --callgrind-out-file="$out/$tag.cg" "$bin" serve "$kind" \
    --public-key "$out/key.pub.pem" >"$out/$tag.addr" 2>"$out/$tag.valgrind" &
vpid=$!
trap 'kill $vpid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do grep -q LISTEN "$out/$tag.addr" 2>/dev/null && break; sleep 0.2; done
addr=$(sed -n 's/LISTEN //p' "$out/$tag.addr")
token=$(.venv/bin/python - "$out/key.pem" "http://$addr/mcp" <<'PY'
import sys, time, jwt
key = open(sys.argv[1]).read()
now = int(time.time())
print(jwt.encode({"iss": "https://idp.bench.invalid", "aud": sys.argv[2], "sub": "bench-user",
                  "client_id": "bench-client", "scope": "mcp bench:write", "roles": ["editor"],
                  "iat": now, "exp": now + 3600}, key, algorithm="RS256", headers={"typ": "at+jwt"}))
PY
)
if [[ $method == call ]]; then
    name=tools/call params='"name":"echo","arguments":{"text":"hello-bench"}'
else
    name=tools/list params=''
fi
headers="wrk.headers['Content-Type']='application/json'
wrk.headers['Accept']='application/json, text/event-stream'
wrk.headers['Authorization']='Bearer $token'"
if [[ $era == modern ]]; then
    meta='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}'
    params=${params:+$params,}$meta
    headers="$headers
wrk.headers['MCP-Protocol-Version']='2026-07-28'
wrk.headers['Mcp-Method']='$name'"
    if [[ $method == call ]]; then
        headers="$headers
wrk.headers['Mcp-Name']='echo'"
    fi
else
    headers="$headers
wrk.headers['MCP-Protocol-Version']='2025-06-18'"
fi
cat >"$out/$tag.lua" <<LUA
wrk.method = 'POST'
wrk.body = [==[{"jsonrpc":"2.0","id":1,"method":"$name","params":{$params}}]==]
$headers
function done(s) io.write(string.format("REQUESTS %d\n", s.requests)) end
LUA
wrk -t1 -c2 -d3s -s "$out/$tag.lua" "http://$addr/mcp" >/dev/null
callgrind_control -z "$vpid" >/dev/null 2>&1
wrk -t1 -c2 -d"${secs}s" -s "$out/$tag.lua" "http://$addr/mcp" >"$out/$tag.wrk"
callgrind_control -d "$vpid" >/dev/null 2>&1
sleep 1
n=$(sed -n 's/REQUESTS //p' "$out/$tag.wrk")
ir=$(callgrind_annotate "$out/$tag.cg.1" 2>/dev/null | grep -m1 'PROGRAM TOTALS' | awk '{print $1}' | tr -d ,)
echo "$tag: $n requests, $((ir / n)) Ir/request (profile: $out/$tag.cg.1)"
if [[ ${CACHE_SIM:-0} == 1 ]]; then
    callgrind_annotate "$out/$tag.cg.1" 2>/dev/null | grep -B3 -m1 'PROGRAM TOTALS' | awk -v n="$n" '
        /^Ir/ { for (i = 1; i <= NF; i++) name[i] = $i; next }
        /PROGRAM TOTALS/ { k = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9,]+$/) { v = $i; gsub(",", "", v); k++; printf "%s %.0f/request  ", name[k], v / n } print "" }'
fi
