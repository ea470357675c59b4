#!/usr/bin/env bash
# bench/lib/common.sh: shell helpers shared by bench/run.sh and bench/tls.sh (sourced, not run).
# Expects WORK, KEEP_WORK and SKIP_INSTALL to be set by the caller.

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }


# Everything started with start() is stopped on exit; the work folder is kept on failure.
PIDS=()
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [ "$rc" -eq 0 ] && [ "$KEEP_WORK" != 1 ]; then
        rm -rf "$WORK"
    elif [ "$rc" -ne 0 ]; then
        log "failed (exit $rc); configs and logs kept in $WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

apt_install() {
    [ "$SKIP_INSTALL" = 1 ] && die "missing $*; install it or unset SKIP_INSTALL"
    log "apt-get install $*"
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ]; then
        apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || {
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}
wait_http() { # url [expected-status] [seconds]
    local url=$1 want=${2:-200} secs=${3:-30} code
    for _ in $(seq $((secs * 10))); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
        [ "$code" = "$want" ] && return 0
        sleep 0.1
    done
    die "$url did not answer $want within ${secs}s (last: $code)"
}
start() { # name cpu cmd...: starts a pinned process, logs to $WORK/name.out
    local name=$1 cpu=$2; shift 2
    taskset -c "$cpu" "$@" >"$WORK/$name.out" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    eval "PID_$name=$pid"
}
pids_of() { # name: the process and its direct children (nginx workers)
    local pid
    pid=$(eval "echo \${PID_$1}")
    echo "$pid" $(pgrep -P "$pid" || true)
}
pin() { # name cpu
    local p
    for p in $(pids_of "$1"); do taskset -a -p -c "$2" "$p" >/dev/null; done
}
cpu_ticks() { # pids...: utime+stime summed over all threads of the processes
    local t=0 p f
    for p in "$@"; do
        f=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null) || continue
        set -- $f
        t=$((t + ${12} + ${13}))
    done
    echo "$t"
}
