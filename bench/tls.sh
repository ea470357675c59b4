#!/usr/bin/env bash
# bench/tls.sh: what TLS costs soapgate, against nginx doing the same, in one run (BENCHMARKS.md "TLS").
#
#   bench/tls.sh                         # 3 interleaved rounds of 10 s, 1 KiB responses
#   DURATION=3 ROUNDS=1 bench/tls.sh     # smoke run
#
# Scenarios, interleaved round by round (saturation with wrk, 1 KiB canned SOAP response):
#   B   clients -> nginx reverse proxy -> backend, plain HTTP both sides (upstream keep-alive)
#   Bt  the same with TLS both sides: clients -> nginx `ssl` -> backend over TLS (verified,
#       upstream keep-alive, session reuse)
#   C   clients -> soapgate minimal mediation -> backend, plain
#   Ct  C over TLS both sides (the TLS listener; an https backend trusting a private CA)
#   D   clients -> soapgate full mediation (JWT, threats, rate limit, WSDL validation, typed
#       conversion) -> backend, plain
#   Dt  D over TLS both sides
# Reported: RPS and CPU µs per request of the server under test, the ratios C/B, Ct/Bt, D/B, Dt/Bt
# (how much TLS lowers soapgate's ratio to nginx), and backend handshakes per 10,000 requests of
# Bt, Ct and Dt (new TLS sessions towards the backend: pooling should keep it near the pool size).
#
# Knobs: DURATION=10 ROUNDS=3 WARMUP=2 CONNECTIONS=32 SIZE=1k SCENARIOS="B Bt C Ct D Dt"
#        LOADGEN_CPU=0 SUT_CPU=1 BACKEND_CPU=$LOADGEN_CPU SKIP_BUILD=0 SKIP_INSTALL=0 KEEP_WORK=0
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH/.." && pwd)"
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-32}
SIZE=${SIZE:-1k}
SCENARIOS=${SCENARIOS:-"B Bt C Ct D Dt"}
LOADGEN_CPU=${LOADGEN_CPU:-0}
SUT_CPU=${SUT_CPU:-1}
BACKEND_CPU=${BACKEND_CPU:-$LOADGEN_CPU}
SKIP_BUILD=${SKIP_BUILD:-0}
SKIP_INSTALL=${SKIP_INSTALL:-0}
KEEP_WORK=${KEEP_WORK:-0}

TS="$(date -u +%Y%m%dT%H%M%SZ)"
WORK="$BENCH/.work/tls-$TS"
RESULTS="$BENCH/results"
RAW="$WORK/raw.tsv"
mkdir -p "$WORK" "$RESULTS"
: >"$RAW"
# shellcheck source=lib/common.sh
. "$BENCH/lib/common.sh"

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { apt_install nginx; NGINX=$(command -v nginx || echo /usr/sbin/nginx); }
for tool in wrk curl openssl python3; do command -v "$tool" >/dev/null || apt_install "$tool"; done

SOAPGATE="$ROOT/target/release/soapgate"
if [ "$SKIP_BUILD" != 1 ]; then
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release --bin soapgate >"$WORK/build.log" 2>&1) \
        || { tail -30 "$WORK/build.log" >&2; die "build failed, see $WORK/build.log"; }
fi

# ---------------------------------------------------------------- configs
read -r P_BACKEND P_PROXY P_C P_CA P_D P_DA P_M P_MA P_E P_BT P_BTG P_PT P_CT P_CTA P_DT P_DTA < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(16):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)
python3 "$BENCH/lib/setup.py" --work "$WORK" --bench "$BENCH" --access-log 0 \
    --ports "backend=$P_BACKEND,proxy=$P_PROXY,c=$P_C,c_admin=$P_CA,d=$P_D,d_admin=$P_DA,m=$P_M,m_admin=$P_MA,e=$P_E"
# D with every optional block (threat patterns, rate limit), as bench/run.sh composes it.
cat "$WORK/gw-d/base.yaml" "$WORK/gw-d/threats.yaml" "$WORK/gw-d/rate_limits.yaml" \
    | sed 's/^mappings: mappings$/mappings: mappings.rl/' >"$WORK/gw-d/soapgate.yaml"
python3 "$BENCH/lib/tls_setup.py" --work "$WORK" \
    --ports "backend_tls=$P_BT,backend_tls_gw=$P_BTG,proxy_tls=$P_PT,ct=$P_CT,ct_admin=$P_CTA,dt=$P_DT,dt_admin=$P_DTA"
# shellcheck disable=SC1091
. "$WORK/env.sh"
for g in gw-c gw-d gw-ct gw-dt; do
    "$SOAPGATE" check --config "$WORK/$g/soapgate.yaml" >"$WORK/check-$g.log" 2>&1 \
        || { cat "$WORK/check-$g.log" >&2; die "soapgate check $g"; }
done

# ---------------------------------------------------------------- processes
log "starting nginx (backend plain :$P_BACKEND, TLS :$P_BT/:$P_BTG; proxies :$P_PROXY, :$P_PT) and soapgate C, Ct, D, Dt"
start backend "$BACKEND_CPU" "$NGINX" -p "$WORK" -e "$WORK/backend-error.log" -c "$WORK/backend.conf"
start backend_tls "$BACKEND_CPU" "$NGINX" -p "$WORK" -e "$WORK/backend-tls-error.log" -c "$WORK/backend-tls.conf"
start proxy "$SUT_CPU" "$NGINX" -p "$WORK" -e "$WORK/proxy-error.log" -c "$WORK/proxy.conf"
start proxy_tls "$SUT_CPU" "$NGINX" -p "$WORK" -e "$WORK/proxy-tls-error.log" -c "$WORK/proxy-tls.conf"
start c "$SUT_CPU" "$SOAPGATE" serve --config "$WORK/gw-c/soapgate.yaml"
start ct "$SUT_CPU" "$SOAPGATE" serve --config "$WORK/gw-ct/soapgate.yaml"
start d "$SUT_CPU" "$SOAPGATE" serve --config "$WORK/gw-d/soapgate.yaml"
start dt "$SUT_CPU" "$SOAPGATE" serve --config "$WORK/gw-dt/soapgate.yaml"
wait_http "http://127.0.0.1:$P_BACKEND/jwks.json"
for a in "$P_CA" "$P_CTA" "$P_DA" "$P_DTA"; do wait_http "http://127.0.0.1:$a/readyz"; done

url() {
    case $1 in
        B) echo "http://127.0.0.1:$P_PROXY/items-$SIZE" ;;
        Bt) echo "https://127.0.0.1:$P_PT/items-$SIZE" ;;
        C) echo "http://127.0.0.1:$P_C/c/$SIZE/items" ;;
        Ct) echo "https://127.0.0.1:$P_CT/c/$SIZE/items" ;;
        D) echo "http://127.0.0.1:$P_D/d/$SIZE/items" ;;
        Dt) echo "https://127.0.0.1:$P_DT/d/$SIZE/items" ;;
    esac
}
server_of() { case $1 in B) echo proxy ;; Bt) echo proxy_tls ;; *) echo "$1" | tr 'A-Z' 'a-z' ;; esac; }
handshake_log() { case $1 in Bt) echo "$WORK/handshakes-proxy.log" ;; Ct | Dt) echo "$WORK/handshakes-gateway.log" ;; *) echo "" ;; esac; }
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
wrk_args() {
    case $1 in
        B | Bt) printf '%s\n' -s "$WORK/soap.lua" ;;
        C | Ct) printf '%s\n' -s "$WORK/json.lua" ;;
        D | Dt) printf '%s\n' -s "$WORK/json.lua" -H "Authorization: Bearer $TOKEN" ;;
    esac
}

# ---------------------------------------------------------------- correctness before speed
log "checking every scenario answers 200, and that the TLS variants answer the same bytes"
for s in $SCENARIOS; do
    args=(-s -o "$WORK/check-$s.out" -w '%{http_code}' --max-time 10 --cacert "$CA_FILE")
    case $s in
        B | Bt) args+=(-H 'content-type: text/xml; charset=utf-8' -H "SOAPAction: \"$SOAP_ACTION\"" --data-binary "@$WORK/soap-request.xml") ;;
        C | Ct) args+=(-H 'content-type: application/json' --data-binary "@$WORK/request.json") ;;
        D | Dt) args+=(-H 'content-type: application/json' -H "authorization: Bearer $TOKEN" --data-binary "@$WORK/request.json") ;;
    esac
    code=$(curl "${args[@]}" "$(url "$s")") || true
    [ "$code" = 200 ] || { head -c 600 "$WORK/check-$s.out" >&2; echo >&2; die "$s answered $code"; }
done
for pair in "B Bt" "C Ct" "D Dt"; do
    set -- $pair
    [ -f "$WORK/check-$1.out" ] && [ -f "$WORK/check-$2.out" ] || continue
    cmp -s "$WORK/check-$1.out" "$WORK/check-$2.out" || die "$2 answered differently from $1"
done

# ---------------------------------------------------------------- measurement
run_wrk() { # round scenario
    local r=$1 s=$2 pids t0 t1 bt0 bt1 h0 h1 out hs args=()
    pids=$(pids_of "$(server_of "$s")")
    mapfile -t args < <(wrk_args "$s")
    timeout $((WARMUP + 30)) taskset -c "$LOADGEN_CPU" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" "${args[@]}" "$(url "$s")" >/dev/null 2>&1 || true
    hs=$(handshake_log "$s")
    h0=$( [ -n "$hs" ] && [ -f "$hs" ] && wc -l <"$hs" || echo 0)
    # shellcheck disable=SC2086
    t0=$(cpu_ticks $pids); bt0=$(cpu_ticks $(pids_of backend) $(pids_of backend_tls))
    out="$WORK/wrk-$r-$s.txt"
    timeout $((DURATION + 30)) taskset -c "$LOADGEN_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        "${args[@]}" "$(url "$s")" >"$out" 2>&1 || true
    # shellcheck disable=SC2086
    t1=$(cpu_ticks $pids); bt1=$(cpu_ticks $(pids_of backend) $(pids_of backend_tls))
    h1=$( [ -n "$hs" ] && [ -f "$hs" ] && wc -l <"$hs" || echo 0)
    python3 "$BENCH/lib/parse.py" wrk "$out" "$r" "$SIZE" "$s" "$((t1 - t0))" "$((bt1 - bt0))" "$CLK_TCK" \
        | sed "s/\$/\thandshakes=$((h1 - h0))/" >>"$RAW" || die "could not parse $out"
    tail -1 "$RAW" | sed 's/^/  /' >&2
}
CLK_TCK=$(getconf CLK_TCK)
for r in $(seq "$ROUNDS"); do
    log "round $r/$ROUNDS: saturation (wrk, ${DURATION}s each)"
    for s in $SCENARIOS; do run_wrk "$r" "$s"; done
done
printf 'meta\tts=%s\tduration=%s\trounds=%s\tconnections=%s\tsize=%s\tcommit=%s\tcpu_model=%s\tnginx=%s\n' \
    "$TS" "$DURATION" "$ROUNDS" "$CONNECTIONS" "$SIZE" "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" "$("$NGINX" -v 2>&1 | sed 's/.*\///')" >>"$RAW"
cp "$RAW" "$RESULTS/tls-$TS.tsv"
python3 "$BENCH/lib/tls_report.py" "$RAW" >"$RESULTS/tls-$TS.md"
cat "$RESULTS/tls-$TS.md"
log "results: bench/results/tls-$TS.md"
