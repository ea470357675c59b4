#!/usr/bin/env bash
# bench/ab.sh: before/after comparison of soapgate binaries on the benchmark's C and D routes.
#
#   bench/ab.sh WORK BIN_A BIN_B [BIN_C ...]
#
# WORK is a folder kept by `KEEP_WORK=1 bench/run.sh` (its nginx backend config, gateway configs
# and token are reused). Each binary in turn serves gw-c and gw-d pinned to SUT_CPU (one worker),
# the backend and wrk run on LOADGEN_CPU; rounds interleave the binaries (A B A B ...) so a noisy
# minute hits both. Prints RPS and CPU µs per request (user+system of the gateway ÷ requests).
#
# Knobs: ROUNDS=3 DURATION=8 WARMUP=2 CONNECTIONS=32 CASES="c/1k d/1k c/10k d/10k"
#        LOADGEN_CPU=0 SUT_CPU=1
set -euo pipefail
WORK=$(cd "$1" && pwd); shift
[ $# -ge 2 ] || { echo "usage: bench/ab.sh WORK BIN_A BIN_B [...]" >&2; exit 2; }
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-32}
CASES=${CASES:-"c/1k d/1k c/10k d/10k"}
LOADGEN_CPU=${LOADGEN_CPU:-0}
SUT_CPU=${SUT_CPU:-1}
CLK=$(getconf CLK_TCK)
# shellcheck disable=SC1091
. "$WORK/env.sh"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

port_of() { sed -n 's/^listen: 127.0.0.1:\([0-9]*\).*/\1/p' "$1"; }
P_C=$(port_of "$WORK/gw-c/soapgate.yaml")
P_D=$(port_of "$WORK/gw-d/soapgate.yaml")
A_D=$(sed -n 's/^admin_listen: 127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/gw-d/soapgate.yaml")
BACKEND_PORT=$(sed -n 's/.*listen 127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/backend.conf")

if ! curl -s -o /dev/null "http://127.0.0.1:$BACKEND_PORT/jwks.json"; then
    taskset -c "$LOADGEN_CPU" nginx -p "$WORK" -e "$WORK/backend-error.log" -c "$WORK/backend.conf" \
        >"$WORK/ab-backend.out" 2>&1 &
    PIDS+=($!)
    sleep 1
fi
LUA_C="$WORK/ab-c.lua"
LUA_D="$WORK/ab-d.lua"
printf 'wrk.method = "POST"\nwrk.body = [[%s]]\nwrk.headers["Content-Type"] = "application/json"\n' \
    "$(cat "$WORK/request.json")" >"$LUA_C"
{ cat "$LUA_C"; printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$TOKEN"; } >"$LUA_D"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wait_up() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }

printf 'round\tbinary\tcase\trps\tcpu_us\n'
for r in $(seq "$ROUNDS"); do
    for bin in "$@"; do
        taskset -c "$SUT_CPU" "$bin" serve --config "$WORK/gw-c/soapgate.yaml" >/dev/null 2>&1 &
        pc=$!
        taskset -c "$SUT_CPU" "$bin" serve --config "$WORK/gw-d/soapgate.yaml" >/dev/null 2>&1 &
        pd=$!
        PIDS+=("$pc" "$pd")
        wait_up "http://127.0.0.1:$A_D/readyz"
        wait_up "http://127.0.0.1:$P_C/"
        for case in $CASES; do
            kind=${case%/*} size=${case#*/}
            if [ "$kind" = c ]; then pid=$pc port=$P_C lua=$LUA_C; else pid=$pd port=$P_D lua=$LUA_D; fi
            url="http://127.0.0.1:$port/$kind/$size/items"
            taskset -c "$LOADGEN_CPU" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$lua" "$url" >/dev/null
            t0=$(ticks "$pid")
            out=$(taskset -c "$LOADGEN_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$lua" "$url")
            t1=$(ticks "$pid")
            n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
            rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out")
            bad=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' <<<"$out")
            [ -z "$bad" ] || { echo "$bin $case: $bad non-2xx responses" >&2; exit 1; }
            cpu=$(awk -v a="$t0" -v b="$t1" -v n="$n" -v c="$CLK" 'BEGIN {printf "%.1f", (b - a) * 1e6 / c / n}')
            printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$(basename "$bin")" "$case" "$rps" "$cpu"
        done
        kill "$pc" "$pd"
        wait "$pc" "$pd" 2>/dev/null || true
    done
done
