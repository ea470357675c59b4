#!/usr/bin/env bash
# bench/run.sh: soapgate end-to-end benchmark (issue #6). See BENCHMARKS.md.
#
#   bench/run.sh                          # 3 rounds of 10 s runs, 1 KiB and 10 KiB responses
#   DURATION=3 ROUNDS=1 bench/run.sh      # smoke run
#
# Scenarios, run interleaved (A B C D E, A B C D E, ...) against one canned nginx SOAP backend:
#   A  clients -> backend (nginx, static canned SOAP response)
#   B  clients -> nginx reverse proxy (upstream keep-alive) -> backend
#   C  clients -> soapgate, minimal mediation (template + schema-less conversion; no auth, no limits)
#   D  clients -> soapgate, full mediation (RS256 JWT + scope, threat patterns, WSDL validation,
#      template, typed XML->JSON from the WSDL; rate limit when the build supports it)
#   E  clients -> Node.js mediator (express + node-soap, bench/peers/) doing D's job
# Saturation throughput with wrk; latency at a fixed rate (LATENCY_FRACTION of B's saturation, same
# round and size) with oha --latency-correction (coordinated omission corrected); CPU µs per request
# from /proc/<pid>/stat of the server process(es); peak RSS from VmHWM (reset before each scenario).
# Then a memory probe: idle RSS, and peak RSS converting a 10 MiB SOAP response.
#
# Knobs (environment):
#   DURATION=10        seconds per measured run (wrk and oha)
#   ROUNDS=3           interleaved rounds
#   WARMUP=2           seconds of unmeasured load before each saturation run
#   CONNECTIONS=32     client connections (wrk -c, oha -c)
#   LATENCY_FRACTION=0.5   fixed rate of the latency runs, as a fraction of B's saturation RPS
#   SIZES="1k 10k"     response sizes (1k, 10k)
#   SCENARIOS="A B C D E"
#   LOADGEN_CPU=0 SUT_CPU=1 BACKEND_CPU=$LOADGEN_CPU   taskset cores. The server under test gets
#                      SUT_CPU; the backend shares the load generator's core, except in A, where
#                      the backend *is* the server under test and is moved to SUT_CPU.
#   ACCESS_LOG=1       access logs on for B (nginx, to a file) and C/D (soapgate level info, to a
#                      file); 0: off for both
#   OWN_RATE=1         1: also run A and D at LATENCY_FRACTION x D's own saturation (the added
#                      latency at a load D can carry; B's half-load may be beyond D's saturation)
#   MEM_REQUESTS=3     sequential 10 MiB requests per route in the memory probe
#   CRITERION=0        1: also measure the conversion-vs-bare-quick-xml target: the mediation
#                      bench's conversions interleaved round by round (SOAPGATE_INTERLEAVE=15,
#                      about 3 min with its build); per-function criterion runs: benches/README.md
#   SKIP_BUILD=0       1: use the existing target/release/soapgate
#   SKIP_INSTALL=0     1: never apt-get/npm/cargo install (fail if something is missing)
#   KEEP_WORK=0        1: keep bench/.work/<timestamp>/ (configs, logs, raw outputs) after success
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH/.." && pwd)"
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-32}
LATENCY_FRACTION=${LATENCY_FRACTION:-0.5}
SIZES=${SIZES:-"1k 10k"}
SCENARIOS=${SCENARIOS:-"A B C D E"}
LOADGEN_CPU=${LOADGEN_CPU:-0}
SUT_CPU=${SUT_CPU:-1}
BACKEND_CPU=${BACKEND_CPU:-$LOADGEN_CPU}
ACCESS_LOG=${ACCESS_LOG:-1}
MEM_REQUESTS=${MEM_REQUESTS:-3}
OWN_RATE=${OWN_RATE:-1}
CRITERION=${CRITERION:-0}
SKIP_BUILD=${SKIP_BUILD:-0}
SKIP_INSTALL=${SKIP_INSTALL:-0}
KEEP_WORK=${KEEP_WORK:-0}
OHA_VERSION=1.16.0

TS="$(date -u +%Y%m%dT%H%M%SZ)"
WORK="$BENCH/.work/$TS"
RESULTS="$BENCH/results"
RAW="$WORK/raw.tsv"
mkdir -p "$WORK" "$RESULTS"
: >"$RAW"
# shellcheck source=lib/common.sh
. "$BENCH/lib/common.sh"

# ---------------------------------------------------------------- tools
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { apt_install nginx; NGINX=$(command -v nginx || echo /usr/sbin/nginx); }
command -v wrk >/dev/null || apt_install wrk
command -v curl >/dev/null || apt_install curl
command -v openssl >/dev/null || apt_install openssl
command -v python3 >/dev/null || apt_install python3
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    apt_install nodejs npm
    [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] || die "node >= 20.19 needed for node-soap 1.13 (have $(node --version))"
fi
OHA=""
for c in "$BENCH/.tools/bin/oha" "$(command -v oha || true)" "$HOME/.cargo/bin/oha"; do
    [ -n "$c" ] && [ -x "$c" ] && { OHA="$c"; break; }
done
if [ -z "$OHA" ]; then
    [ "$SKIP_INSTALL" = 1 ] && die "oha missing"
    log "cargo install oha $OHA_VERSION into bench/.tools (a few minutes, once)"
    cargo install oha --version "$OHA_VERSION" --locked --root "$BENCH/.tools" >"$WORK/oha-install.log" 2>&1 \
        || die "cargo install oha failed, see $WORK/oha-install.log"
    OHA="$BENCH/.tools/bin/oha"
fi
if [ ! -d "$BENCH/peers/node_modules" ] || [ "$BENCH/peers/package-lock.json" -nt "$BENCH/peers/node_modules/.package-lock.json" ]; then
    [ "$SKIP_INSTALL" = 1 ] && die "bench/peers/node_modules missing (npm ci)"
    log "npm ci (bench/peers)"
    (cd "$BENCH/peers" && npm ci --no-audit --no-fund --loglevel=error >"$WORK/npm-ci.log" 2>&1) \
        || die "npm ci failed, see $WORK/npm-ci.log"
fi
CPUS=$(nproc)
for c in "$LOADGEN_CPU" "$SUT_CPU" "$BACKEND_CPU"; do
    [ "$c" -lt "$CPUS" ] || die "core $c does not exist (nproc = $CPUS); set LOADGEN_CPU/SUT_CPU/BACKEND_CPU"
done
[ "$LOADGEN_CPU" != "$SUT_CPU" ] || log "WARNING: load generator and server share core $SUT_CPU"

# ---------------------------------------------------------------- build
SOAPGATE="$ROOT/target/release/soapgate"
if [ "$SKIP_BUILD" != 1 ]; then
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release --bin soapgate >"$WORK/build.log" 2>&1) \
        || { tail -30 "$WORK/build.log" >&2; die "build failed, see $WORK/build.log"; }
fi
[ -x "$SOAPGATE" ] || die "$SOAPGATE missing"

# ---------------------------------------------------------------- ports, fixtures, configs
read -r P_BACKEND P_PROXY P_C P_CA P_D P_DA P_M P_MA P_E < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(9):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)
python3 "$BENCH/lib/setup.py" --work "$WORK" --bench "$BENCH" --access-log "$ACCESS_LOG" \
    --ports "backend=$P_BACKEND,proxy=$P_PROXY,c=$P_C,c_admin=$P_CA,d=$P_D,d_admin=$P_DA,m=$P_M,m_admin=$P_MA,e=$P_E"
# shellcheck disable=SC1091
. "$WORK/env.sh"

# D's config: auth + WSDL-bound route, plus each optional block this build accepts (threat
# protection and rate limiting are being built; a build without them rejects the keys).
D_CONFIG="$WORK/gw-d/soapgate.yaml"
D_THREATS=0
D_RATE_LIMIT=0
compose_d() { # threats(0/1) rate_limit(0/1)
    cat "$WORK/gw-d/base.yaml" >"$D_CONFIG"
    [ "$1" = 1 ] && cat "$WORK/gw-d/threats.yaml" >>"$D_CONFIG"
    if [ "$2" = 1 ]; then
        cat "$WORK/gw-d/rate_limits.yaml" >>"$D_CONFIG"
        sed -i 's/^mappings: mappings$/mappings: mappings.rl/' "$D_CONFIG"
    fi
    "$SOAPGATE" check --config "$D_CONFIG" >"$WORK/check-d.log" 2>&1
}
compose_d 1 0 && D_THREATS=1
compose_d "$D_THREATS" 1 && D_RATE_LIMIT=1
compose_d "$D_THREATS" "$D_RATE_LIMIT" || { cat "$WORK/check-d.log" >&2; die "soapgate check of D's config"; }
[ "$D_THREATS" = 1 ] || log "this build rejects D's threats block: D runs without threat checks"
[ "$D_RATE_LIMIT" = 1 ] || log "this build rejects D's rate_limits block: D runs without a rate limit"
for cfg in "$WORK/gw-c/soapgate.yaml" "$D_CONFIG" "$WORK/gw-m/soapgate.yaml"; do
    "$SOAPGATE" check --config "$cfg" >"$WORK/check.log" 2>&1 || { cat "$WORK/check.log" >&2; die "soapgate check $cfg"; }
done

# ---------------------------------------------------------------- processes
hwm_reset() { local p; for p in "$@"; do echo 5 >"/proc/$p/clear_refs" 2>/dev/null || true; done; }
hwm_kib() { # pids...: summed VmHWM
    local p s=0 v
    for p in "$@"; do
        v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        s=$((s + ${v:-0}))
    done
    echo "$s"
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
CLK_TCK=$(getconf CLK_TCK)

log "starting backend (nginx :$P_BACKEND), proxy (nginx :$P_PROXY), soapgate C (:$P_C) and D (:$P_D), node E (:$P_E)"
start backend "$BACKEND_CPU" "$NGINX" -p "$WORK" -e "$WORK/backend-error.log" -c "$WORK/backend.conf"
wait_http "http://127.0.0.1:$P_BACKEND/jwks.json"
start proxy "$SUT_CPU" "$NGINX" -p "$WORK" -e "$WORK/proxy-error.log" -c "$WORK/proxy.conf"
start c "$SUT_CPU" "$SOAPGATE" serve --config "$WORK/gw-c/soapgate.yaml"
start d "$SUT_CPU" "$SOAPGATE" serve --config "$D_CONFIG"
start e "$SUT_CPU" env PORT="$P_E" BACKEND="http://127.0.0.1:$P_BACKEND" WSDL="$BENCH/fixtures/items.wsdl" \
    JWKS_URL="http://127.0.0.1:$P_BACKEND/jwks.json" ISSUER="$ISSUER" AUDIENCE="$AUDIENCE" \
    RATE_LIMIT="$D_RATE_LIMIT" THREATS="$D_THREATS" NODE_ENV=production node "$BENCH/peers/mediator.js"
wait_http "http://127.0.0.1:$P_PROXY/jwks.json"
wait_http "http://127.0.0.1:$P_CA/readyz"
wait_http "http://127.0.0.1:$P_DA/readyz"
wait_http "http://127.0.0.1:$P_E/e/1k/items" 404
sleep 1
printf 'idle\tscen=C\tkib=%s\nidle\tscen=D\tkib=%s\n' "$(rss_kib "$PID_c")" "$(rss_kib "$PID_d")" >>"$RAW"

# ---------------------------------------------------------------- what each scenario sends
cat >"$WORK/soap.lua" <<EOF
wrk.method = "POST"
local f = io.open("$WORK/soap-request.xml", "rb"); wrk.body = f:read("*a"); f:close()
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
wrk.headers["SOAPAction"] = '"$SOAP_ACTION"'
EOF
cat >"$WORK/json.lua" <<EOF
wrk.method = "POST"
local f = io.open("$WORK/request.json", "rb"); wrk.body = f:read("*a"); f:close()
wrk.headers["Content-Type"] = "application/json"
EOF
url() { # scenario size
    case $1 in
        A) echo "http://127.0.0.1:$P_BACKEND/items-$2" ;;
        B) echo "http://127.0.0.1:$P_PROXY/items-$2" ;;
        C) echo "http://127.0.0.1:$P_C/c/$2/items" ;;
        D) echo "http://127.0.0.1:$P_D/d/$2/items" ;;
        E) echo "http://127.0.0.1:$P_E/e/$2/items" ;;
    esac
}
server_of() { case $1 in A) echo backend ;; B) echo proxy ;; C) echo c ;; D) echo d ;; E) echo e ;; esac; }
wrk_args() { # scenario: one argument per line
    case $1 in
        A | B) printf '%s\n' -s "$WORK/soap.lua" ;;
        C) printf '%s\n' -s "$WORK/json.lua" ;;
        D | E) printf '%s\n' -s "$WORK/json.lua" -H "Authorization: Bearer $TOKEN" ;;
    esac
}
oha_args() { # scenario: one argument per line
    case $1 in
        A | B) printf '%s\n' -m POST -D "$WORK/soap-request.xml" -T 'text/xml; charset=utf-8' -H "SOAPAction: \"$SOAP_ACTION\"" ;;
        C) printf '%s\n' -m POST -D "$WORK/request.json" -T application/json ;;
        D | E) printf '%s\n' -m POST -D "$WORK/request.json" -T application/json -H "authorization: Bearer $TOKEN" ;;
    esac
}
curl_one() { # scenario size out-file: prints the HTTP status
    local s=$1 z=$2 out=$3
    case $s in
        A | B) curl -s -o "$out" -w '%{http_code}' --max-time 10 -H 'content-type: text/xml; charset=utf-8' \
            -H "SOAPAction: \"$SOAP_ACTION\"" --data-binary "@$WORK/soap-request.xml" "$(url "$s" "$z")" ;;
        C) curl -s -o "$out" -w '%{http_code}' --max-time 10 -H 'content-type: application/json' \
            --data-binary "@$WORK/request.json" "$(url "$s" "$z")" ;;
        D | E) curl -s -o "$out" -w '%{http_code}' --max-time 10 -H 'content-type: application/json' \
            -H "authorization: Bearer $TOKEN" --data-binary "@$WORK/request.json" "$(url "$s" "$z")" ;;
    esac
}

# ---------------------------------------------------------------- correctness before speed
log "checking every scenario answers, and that D and E answer the same JSON"
for z in $SIZES; do
    for s in A B C D E; do
        code=$(curl_one "$s" "$z" "$WORK/check-$s-$z.out") || true
        [ "$code" = 200 ] || { head -c 600 "$WORK/check-$s-$z.out" >&2; echo >&2; die "$s $z answered $code"; }
    done
    cmp -s "$WORK/check-A-$z.out" "$WORK/www/items-$z" || die "A $z did not return the canned response"
    cmp -s "$WORK/check-B-$z.out" "$WORK/www/items-$z" || die "B $z did not return the canned response"
    python3 - "$WORK" "$z" <<'EOF' || die "JSON check failed for $2"
import json, sys
work, z = sys.argv[1], sys.argv[2]
d = json.load(open(f"{work}/check-D-{z}.out"))
e = json.load(open(f"{work}/check-E-{z}.out"))
c = json.load(open(f"{work}/check-C-{z}.out"))
n = open(f"{work}/www/items-{z}").read().count("<i:item>")
assert len(d["item"]) == n, ("D", len(d["item"]), n)
assert d == e, "D and E differ:\nD=%s\nE=%s" % (json.dumps(d)[:400], json.dumps(e)[:400])
assert len(c["item"]) == n, ("C", n)
EOF
done
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' --data-binary "@$WORK/request.json" "$(url D 1k)")
[ "$code" = 401 ] || die "D without a token answered $code, not 401: auth is not on"
if [ "$D_THREATS" = 1 ]; then
    for s in D E; do
        code=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \
            --data-binary '{"category":"x'"'"' OR 1=1 --","limit":1}' "$(url $s 1k)")
        [ "$code" = 400 ] || die "$s let an SQL-injection pattern through ($code): threat checks are not on"
    done
fi
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \
    --data-binary '{"category":"books","limit":"many"}' "$(url D 1k)")
[ "$code" = 400 ] || die "D accepted a body that violates the WSDL ($code): validation is not on"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' --data-binary "@$WORK/request.json" "$(url E 1k)")
[ "$code" = 401 ] || die "E without a token answered $code, not 401"

# ---------------------------------------------------------------- measurement
run_wrk() { # round size scenario
    local r=$1 z=$2 s=$3 srv pids t0 t1 bt0 bt1 out args=()
    srv=$(server_of "$s")
    if [ "$s" = A ]; then pin backend "$SUT_CPU"; else pin backend "$BACKEND_CPU"; fi
    pids=$(pids_of "$srv")
    mapfile -t args < <(wrk_args "$s")
    # shellcheck disable=SC2086
    hwm_reset $pids
    timeout $((WARMUP + 30)) taskset -c "$LOADGEN_CPU" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" "${args[@]}" "$(url "$s" "$z")" >/dev/null 2>&1 || true
    # shellcheck disable=SC2086
    t0=$(cpu_ticks $pids); bt0=$(cpu_ticks $(pids_of backend))
    out="$WORK/wrk-$r-$z-$s.txt"
    timeout $((DURATION + 30)) taskset -c "$LOADGEN_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        "${args[@]}" "$(url "$s" "$z")" >"$out" 2>&1 || true
    # shellcheck disable=SC2086
    t1=$(cpu_ticks $pids); bt1=$(cpu_ticks $(pids_of backend))
    python3 "$BENCH/lib/parse.py" wrk "$out" "$r" "$z" "$s" "$((t1 - t0))" "$((bt1 - bt0))" "$CLK_TCK" >>"$RAW" \
        || die "could not parse $out"
    tail -1 "$RAW" | sed 's/^/  /' >&2
}
run_oha() { # round size scenario rate
    local r=$1 z=$2 s=$3 rate=$4 srv pids t0 t1 out
    srv=$(server_of "$s")
    if [ "$s" = A ]; then pin backend "$SUT_CPU"; else pin backend "$BACKEND_CPU"; fi
    pids=$(pids_of "$srv")
    # shellcheck disable=SC2086
    t0=$(cpu_ticks $pids)
    out="$WORK/oha-${LAT_KIND:-lat}-$r-$z-$s.json"
    local args=()
    mapfile -t args < <(oha_args "$s")
    timeout $((DURATION + 30)) taskset -c "$LOADGEN_CPU" "$OHA" --no-tui --output-format json -z "${DURATION}s" -q "$rate" \
        --latency-correction -c "$CONNECTIONS" "${args[@]}" "$(url "$s" "$z")" >"$out" 2>"$out.err" || true
    # shellcheck disable=SC2086
    t1=$(cpu_ticks $pids)
    # peak RSS of this scenario: over its saturation and fixed-rate runs
    # shellcheck disable=SC2086
    python3 "$BENCH/lib/parse.py" "${LAT_KIND:-lat}" "$out" "$r" "$z" "$s" "$((t1 - t0))" "$rate" "$CLK_TCK" "$(hwm_kib $pids)" >>"$RAW" \
        || die "could not parse $out ($(head -c 300 "$out.err"))"
    tail -1 "$RAW" | sed 's/^/  /' >&2
}

for r in $(seq "$ROUNDS"); do
    for z in $SIZES; do
        log "round $r/$ROUNDS, $z: saturation (wrk, ${DURATION}s each)"
        for s in $SCENARIOS; do run_wrk "$r" "$z" "$s"; done
        b_rps=$(awk -F'\t' -v r="$r" -v z="$z" '$1=="sat" && $2=="round="r && $3=="size="z && $4=="scen=B" {sub("rps=","",$5); print $5}' "$RAW")
        if [ -z "$b_rps" ]; then
            b_rps=${RATE_BASE:-1000}
            log "B not measured: fixed rate from RATE_BASE=$b_rps"
        fi
        rate=$(python3 -c "print(max(1, int(float('$b_rps') * $LATENCY_FRACTION)))")
        log "round $r/$ROUNDS, $z: latency at $rate req/s (oha, ${DURATION}s each)"
        for s in $SCENARIOS; do run_oha "$r" "$z" "$s" "$rate"; done
        # the same at a load D can carry: A and D at LATENCY_FRACTION x D's own saturation
        d_rps=$(awk -F'\t' -v r="$r" -v z="$z" '$1=="sat" && $2=="round="r && $3=="size="z && $4=="scen=D" {sub("rps=","",$5); print $5}' "$RAW")
        if [ "$OWN_RATE" = 1 ] && [ -n "$d_rps" ] && [[ " $SCENARIOS " == *" A "* ]]; then
            rate=$(python3 -c "print(max(1, int(float('$d_rps') * $LATENCY_FRACTION)))")
            log "round $r/$ROUNDS, $z: latency of A and D at $rate req/s ($LATENCY_FRACTION x D's saturation)"
            for s in A D; do LAT_KIND=latd run_oha "$r" "$z" "$s" "$rate"; done
        fi
    done
done

# ---------------------------------------------------------------- memory probe: 10 MiB response
log "memory probe: idle RSS, then $MEM_REQUESTS x 10 MiB response through a fresh soapgate"
pin backend "$BACKEND_CPU"
start m "$SUT_CPU" "$SOAPGATE" serve --config "$WORK/gw-m/soapgate.yaml"
wait_http "http://127.0.0.1:$P_MA/readyz"
sleep 2
idle=$(rss_kib "$PID_m")
printf 'idle\tscen=M\tkib=%s\n' "$idle" >>"$RAW"
for route in c t; do
    hwm_reset "$PID_m"
    t0=$(date +%s%N)
    for i in $(seq "$MEM_REQUESTS"); do
        code=$(curl -s -o "$WORK/mem-$route.json" -w '%{http_code}' --max-time 60 -H 'content-type: application/json' \
            --data-binary "@$WORK/request.json" "http://127.0.0.1:$P_M/$route/10m/items")
        [ "$code" = 200 ] || { head -c 600 "$WORK/mem-$route.json" >&2; die "10 MiB via route $route answered $code"; }
    done
    t1=$(date +%s%N)
    printf 'mem\troute=%s\tpayload=%s\tidle_kib=%s\tpeak_kib=%s\tms_per_req=%s\tjson_bytes=%s\n' "$route" "$BYTES_10M" "$idle" \
        "$(hwm_kib "$PID_m")" "$(( (t1 - t0) / 1000000 / MEM_REQUESTS ))" "$(stat -c %s "$WORK/mem-$route.json")" >>"$RAW"
    tail -1 "$RAW" | sed 's/^/  /' >&2
done

# ---------------------------------------------------------------- optional: conversion ratio
if [ "$CRITERION" = 1 ]; then
    # Interleaved rounds, not criterion's one-function-at-a-time: a noisy minute on a shared
    # machine would otherwise land on one side of the ratio.
    log "conversion vs bare quick-xml (benches/mediation.rs, SOAPGATE_INTERLEAVE=15)"
    (cd "$ROOT" && SOAPGATE_INTERLEAVE=15 cargo bench --bench mediation 2>"$WORK/criterion.log" | grep '^crit' >>"$RAW") \
        || log "conversion bench failed, see $WORK/criterion.log"
fi

# ---------------------------------------------------------------- report
{
    printf 'meta\tts=%s\tduration=%s\trounds=%s\twarmup=%s\tconnections=%s\tfraction=%s\tloadgen_cpu=%s\tsut_cpu=%s\tbackend_cpu=%s\taccess_log=%s\td_rate_limit=%s\td_threats=%s\n' \
        "$TS" "$DURATION" "$ROUNDS" "$WARMUP" "$CONNECTIONS" "$LATENCY_FRACTION" "$LOADGEN_CPU" "$SUT_CPU" "$BACKEND_CPU" "$ACCESS_LOG" "$D_RATE_LIMIT" "$D_THREATS"
    printf 'meta\tbytes_1k=%s\tbytes_10k=%s\tbytes_10m=%s\titems_1k=%s\titems_10k=%s\titems_10m=%s\n' \
        "$BYTES_1K" "$BYTES_10K" "$BYTES_10M" "$ITEMS_1K" "$ITEMS_10K" "$ITEMS_10M"
    printf 'meta\tcommit=%s\tdirty=%s\n' "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
        "$(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null | wc -l)"
    printf 'meta\tcpus=%s\tcpu_model=%s\tmem=%s\tkernel=%s\n' "$CPUS" \
        "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" \
        "$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)" "$(uname -r)"
    printf 'meta\tnginx=%s\twrk=%s\toha=%s\tnode=%s\tnode_soap=%s\texpress=%s\trustc=%s\tload=%s\n' \
        "$("$NGINX" -v 2>&1 | sed 's/.*\///')" "$(wrk -v 2>&1 | awk 'NR==1 {print $2}')" \
        "$("$OHA" --version | awk '{print $2}')" "$(node --version)" \
        "$(node -p "require('$BENCH/peers/node_modules/soap/package.json').version")" \
        "$(node -p "require('$BENCH/peers/node_modules/express/package.json').version")" \
        "$(rustc --version | awk '{print $2}')" "$(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$RAW"
cp "$RAW" "$RESULTS/$TS.tsv"
python3 "$BENCH/lib/report.py" "$RAW" >"$RESULTS/$TS.md"
cat "$RESULTS/$TS.md"
log "results: bench/results/$TS.md (raw: bench/results/$TS.tsv)"
