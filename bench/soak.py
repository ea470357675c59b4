#!/usr/bin/env python3
"""bench/soak.py: the THREATS.md E5 soak. soapgate under a fault mix at a fixed share of its own
capacity for a long time; passes when resident memory stops growing and no socket or file
descriptor is leaked.

  python3 bench/soak.py                       # 1 hour at 80 % of measured capacity
  python3 bench/soak.py --seconds 600         # a 10-minute run
  python3 bench/soak.py --seconds 120 --load 0.5 --keep

Needs what bench/run.sh installs (Debian nginx and wrk, oha in bench/.tools or on PATH) and a
release build (`cargo build --release`; --build does it). Everything listens on 127.0.0.1.

Steps:
 1. a canned nginx backend with one location per backend behaviour (good 1 KiB response, SOAP
    Fault with HTTP 500, connection closed without an answer, a response trickled at 1 KiB/s
    past the route's 2 s timeout, an HTML page), and one soapgate (`workers: 1`, pinned to
    SUT_CPU like the benchmark's D: RS256 JWT, threat patterns, WSDL validation, typed
    conversion, access log at info to /dev/null) with one route per behaviour;
 2. capacity: wrk saturation of the good route (after a warm-up);
 3. the mix: one `oha --latency-correction` process per row of MIX, each at its share of
    load x capacity, all for --seconds; meanwhile the gateway's VmRSS, open FDs, sockets (and
    their TCP states) and threads are sampled every --sample seconds;
 4. after the load stops, FDs are sampled until they settle (pooled and client keep-alive
    connections close after their idle timeouts).
Verdict (exit 1 when any fails):
  - RSS: the median of the last 5 samples under load is within +10 % of the median of the 5
    samples after the warm-up (the first 10 % of the run, at least 60 s; a third of a short run);
  - FDs: once idle (the gateway releases pooled backend connections after 30 s without a
    request), open FDs are back to at most the idle count before the load + 2;
  - sockets: none of the gateway's sockets is left in CLOSE_WAIT once idle;
  - every row answered with its expected status (any other status, or transport errors beyond
    the aborts at the deadline, fail the row).
Writes bench/results/soak-<timestamp>.md (and the samples as .tsv).
"""
import argparse
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(BENCH, "lib"))
import setup as bench_setup  # noqa: E402  (bench/lib/setup.py: fixtures, keys, nginx snippets)

NS = bench_setup.NS
FAULT = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    "<soap:Fault><faultcode>soap:Server</faultcode><faultstring>Item store unavailable</faultstring>"
    "</soap:Fault></soap:Body></soap:Envelope>\n"
)

# name, share of the total rate, path, body kind, with token, expected statuses.
MIX = [
    ("good", 0.70, "/soak/good", "json", True, {200}),
    ("rate-limited", 0.05, "/soak/limited", "json", True, {200, 429}),
    ("soap-fault", 0.04, "/soak/fault", "json", True, {502}),
    # 503: the backend's circuit breaker opens after consecutive failures (THREATS.md B8)
    ("backend-reset", 0.03, "/soak/reset", "json", True, {502, 503}),
    ("backend-slow", 0.01, "/soak/slow", "json", True, {504, 503}),
    ("backend-html", 0.03, "/soak/html", "json", True, {502}),
    ("bad-json", 0.04, "/soak/good", "broken", True, {400}),
    ("no-token", 0.04, "/soak/good", "json", False, {401}),
    ("injection", 0.03, "/soak/good", "sqli", True, {400}),
    ("unknown-path", 0.03, "/soak/nowhere", "json", True, {404}),
]
BODIES = {
    "json": '{"category":"books","limit":100}',
    "broken": '{"category":"books","limit":',
    "sqli": '{"category":"books\' OR 1=1 --","limit":100}',
}


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


write = bench_setup.write

# The canned backend of bench/run.sh plus one location per backend behaviour. Its keep-alive is
# shorter than the gateway's pool idle time: pooled connections are closed by the backend too.
SOAK_LOCATIONS = """    location = /reset { return 444; }
    location /fault/ { error_page 405 =500 $uri; }
    location /slow/ { limit_rate 1k; error_page 405 =200 $uri; }
    location /html/ { default_type text/html; error_page 405 =200 $uri; }
"""


def gateway(work, port, admin, backend):
    issuer = f"{backend}/issuer"
    aud = "urn:soapgate:soak"
    jwks, token = bench_setup.keys_and_token(work, issuer, aud)
    write(os.path.join(work, "www", "jwks.json"), json.dumps(jwks))
    gw = os.path.join(work, "gw")
    extra = bench_setup.D_GATEWAY.format(issuer=issuer, jwks=f"{backend}/jwks.json", aud=aud)
    extra += bench_setup.D_THREATS
    # oha, the "load balancer" here, keeps idle connections forever; with the gateway's default
    # keep-alive a connection idle for about that long can be closed by the gateway just as oha
    # sends on it (the HTTP/1.1 keep-alive race: one "connection error" in 133k on the slow row of
    # the first 1 h run). As in production, the side in front must time out first.
    extra += "timeouts:\n  keep_alive: 300s\n"
    extra += """rate_limits:
  policies:
    - name: bench      # the name bench/lib/setup.py's d_route refers to
      limit: 20
      window: 1s
      key: subject
"""
    write(os.path.join(gw, "soapgate.yaml"),
          bench_setup.gateway_yaml(port, admin, "info", extra))
    write(os.path.join(gw, "templates", "get-items.xml.hbs"), bench_setup.TEMPLATE)
    os.makedirs(os.path.join(gw, "wsdl"), exist_ok=True)
    shutil.copy(os.path.join(BENCH, "fixtures", "items.wsdl"), os.path.join(gw, "wsdl", "items.wsdl"))
    routes = {"good": "items-1k", "limited": "items-1k", "fault": "fault/items",
              "reset": "reset", "slow": "slow/items-10k", "html": "html/items-1k"}
    for name, target in routes.items():
        route = bench_setup.d_route("1k", name == "limited").replace(
            "id: items-1k", f"id: soak-{name}").replace("/d/1k/items", f"/soak/{name}")
        text = bench_setup.mapping(f"soak-{name}", f"{backend}/{target}", route, wsdl="wsdl/items.wsdl")
        if name == "slow":
            text = text.replace("timeout: 10s", "timeout: 2s")
        write(os.path.join(gw, "mappings", f"{name}.yaml"), text)
    return os.path.join(gw, "soapgate.yaml"), token


class Proc:
    """The gateway's /proc view: RSS, FDs, sockets by TCP state, threads."""

    STATES = {"01": "established", "06": "time_wait", "08": "close_wait", "0A": "listen"}

    def __init__(self, pid):
        self.pid = pid

    def status(self, key):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def sample(self):
        fd_dir = f"/proc/{self.pid}/fd"
        inodes = set()
        fds = 0
        for fd in os.listdir(fd_dir):
            fds += 1
            try:
                link = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        states = {}
        for table in ("tcp", "tcp6"):
            try:
                with open(f"/proc/{self.pid}/net/{table}") as f:
                    next(f)
                    for line in f:
                        cols = line.split()
                        if cols[9] in inodes:
                            st = self.STATES.get(cols[3], "other")
                            states[st] = states.get(st, 0) + 1
            except OSError:
                pass
        return {"rss_kib": self.status("VmRSS"), "fds": fds, "sockets": len(inodes),
                "threads": self.status("Threads"), **{s: states.get(s, 0) for s in
                                                     ("established", "close_wait", "time_wait", "other")}}


def wait_http(url, want, secs=30, headers=None):
    deadline = time.time() + secs
    last = None
    while time.time() < deadline:
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2",
                            *sum((["-H", h] for h in (headers or [])), []), url],
                           capture_output=True, text=True)
        last = r.stdout
        if last == str(want):
            return
        time.sleep(0.1)
    sys.exit(f"{url} did not answer {want} within {secs}s (last: {last})")


def find_oha():
    for c in (os.path.join(BENCH, ".tools", "bin", "oha"), shutil.which("oha") or "",
              os.path.expanduser("~/.cargo/bin/oha")):
        if c and os.access(c, os.X_OK):
            return c
    sys.exit("oha not found: run bench/run.sh once (it installs oha into bench/.tools) or put oha on PATH")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=3600, help="length of the mixed load (default 3600)")
    ap.add_argument("--load", type=float, default=0.8, help="share of measured capacity (default 0.8)")
    ap.add_argument("--sample", type=int, default=10, help="seconds between samples (default 10)")
    ap.add_argument("--loadgen-cpu", default="0")
    ap.add_argument("--sut-cpu", default="1")
    ap.add_argument("--build", action="store_true", help="cargo build --release first")
    ap.add_argument("--keep", action="store_true", help="keep bench/.work/soak-<ts>/")
    args = ap.parse_args()

    soapgate = os.path.join(ROOT, "target", "release", "soapgate")
    if args.build:
        subprocess.run(["cargo", "build", "--release", "--bin", "soapgate"], cwd=ROOT, check=True)
    if not os.access(soapgate, os.X_OK):
        sys.exit(f"{soapgate} missing: cargo build --release (or --build)")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    for tool in (nginx, shutil.which("wrk"), shutil.which("curl"), shutil.which("openssl")):
        if not tool or not os.access(tool, os.X_OK):
            sys.exit("needs nginx, wrk, curl and openssl (bench/run.sh installs them)")
    oha = find_oha()

    ts = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    work = os.path.join(BENCH, ".work", "soak-" + ts)
    os.makedirs(work)
    p_backend, p_gw, p_admin = free_ports(3)
    backend = f"http://127.0.0.1:{p_backend}"
    body_1k, _ = bench_setup.response(bench_setup.SIZES["1k"])
    body_10k, _ = bench_setup.response(bench_setup.SIZES["10k"])
    write(os.path.join(work, "www", "items-1k"), body_1k)
    write(os.path.join(work, "www", "slow", "items-10k"), body_10k)
    write(os.path.join(work, "www", "html", "items-1k"), "<html><body>Service moved</body></html>\n")
    write(os.path.join(work, "www", "fault", "items"), FAULT)
    write(os.path.join(work, "backend.conf"),
          bench_setup.backend_conf(work, p_backend, keepalive="10s", locations=SOAK_LOCATIONS))
    config, token = gateway(work, p_gw, p_admin, backend)
    for kind, text in BODIES.items():
        write(os.path.join(work, f"body-{kind}.json"), text)
    subprocess.run([soapgate, "check", "--config", config], check=True)

    procs = []

    def stop_all(*_):
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        out = open(os.path.join(work, "backend.out"), "w")
        procs.append(subprocess.Popen(["taskset", "-c", args.loadgen_cpu, nginx, "-p", work, "-e",
                                       os.path.join(work, "backend-error.log"), "-c",
                                       os.path.join(work, "backend.conf")], stdout=out, stderr=out))
        wait_http(f"{backend}/jwks.json", 200)
        gw = subprocess.Popen(["taskset", "-c", args.sut_cpu, soapgate, "serve", "--config", config],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "gw.err"), "w"))
        procs.append(gw)
        wait_http(f"http://127.0.0.1:{p_admin}/readyz", 200)
        auth = f"authorization: Bearer {token}"
        good = f"http://127.0.0.1:{p_gw}/soak/good"
        r = subprocess.run(["curl", "-s", "-H", auth, "-H", "content-type: application/json",
                            "-d", BODIES["json"], "-w", "\n%{http_code}", good], capture_output=True, text=True)
        if not r.stdout.endswith("\n200"):
            sys.exit(f"the good route does not answer 200: {r.stdout[-400:]}")
        proc = Proc(gw.pid)
        idle_before = proc.sample()

        # 2. capacity of the good route
        wrk_lua = os.path.join(work, "post.lua")
        write(wrk_lua, 'wrk.method = "POST"\nwrk.body = \'%s\'\nwrk.headers["content-type"] = "application/json"\n'
              'wrk.headers["authorization"] = "Bearer %s"\n' % (BODIES["json"], token))
        wrk = ["taskset", "-c", args.loadgen_cpu, "wrk", "-t1", "-c32", "-s", wrk_lua, good]
        subprocess.run(wrk + ["-d3s"], capture_output=True, check=True)
        t = subprocess.run(wrk + ["-d10s"], capture_output=True, text=True, check=True).stdout
        capacity = float(t.split("Requests/sec:")[1].split()[0])
        total = capacity * args.load
        print(f"[soak] capacity {capacity:.0f} req/s; mixed load {total:.0f} req/s for {args.seconds} s",
              flush=True)

        # 3. the mix
        loads = []
        for name, share, path, body, with_token, _ in MIX:
            rate = max(1.0, total * share)
            held = 3.0 if name == "backend-slow" else 0.05  # seconds a request holds its connection
            conns = max(2, math.ceil(rate * held * 2))
            cmd = ["taskset", "-c", args.loadgen_cpu, oha, "--no-tui", "--output-format", "json",
                   "--latency-correction", "-z", f"{args.seconds}s", "-q", f"{rate:.1f}", "-c", str(conns),
                   "-m", "POST", "-H", "content-type: application/json", "-D",
                   os.path.join(work, f"body-{body}.json")]
            if with_token:
                cmd += ["-H", auth]
            cmd.append(f"http://127.0.0.1:{p_gw}{path}")
            f = open(os.path.join(work, f"oha-{name}.json"), "w")
            loads.append((name, rate, subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)))
        procs.extend(p for _, _, p in loads)
        samples = []
        start = time.time()
        while any(p.poll() is None for _, _, p in loads):
            s = proc.sample()
            s["t"] = round(time.time() - start, 1)
            s["phase"] = "load"
            samples.append(s)
            time.sleep(args.sample)
        loaded_for = time.time() - start

        # 4. settle (pooled backend connections are released after 30 s idle, checked every 15 s)
        settle_start = time.time()
        idle_after = proc.sample()
        while time.time() - settle_start < 120:
            time.sleep(5)
            s = proc.sample()
            s["t"] = round(time.time() - start, 1)
            s["phase"] = "idle"
            samples.append(s)
            idle_after = s
            if s["fds"] <= idle_before["fds"] + 2 and s["close_wait"] == 0:
                break
        alive = gw.poll() is None
    finally:
        stop_all()

    # verdict
    rows = []
    ok = alive
    for name, rate, _ in loads:
        j = json.load(open(os.path.join(work, f"oha-{name}.json")))
        codes = {int(k): v for k, v in j.get("statusCodeDistribution", {}).items()}
        errors = {k: v for k, v in j.get("errorDistribution", {}).items() if "deadline" not in k}
        expected = next(m[5] for m in MIX if m[0] == name)
        good_row = bool(codes) and set(codes) <= expected and not errors
        ok &= good_row
        p99 = (j.get("latencyPercentiles") or {}).get("p99")
        rows.append((name, rate, sum(codes.values()), codes, errors, p99, good_row))
    under_load = [s for s in samples if s["phase"] == "load"]
    warm = min(max(60.0, loaded_for * 0.1), loaded_for / 3)
    after_warm = [s for s in under_load if s["t"] >= warm]
    k = min(5, len(after_warm) // 3)
    base = statistics.median(s["rss_kib"] for s in after_warm[:k]) if k else float("nan")
    end = statistics.median(s["rss_kib"] for s in after_warm[-k:]) if k else float("nan")
    growth = end / base - 1 if base == base else float("nan")
    rss_ok = growth == growth and growth <= 0.10
    fd_ok = idle_after["fds"] <= idle_before["fds"] + 2
    cw_ok = idle_after["close_wait"] == 0
    ok &= rss_ok and fd_ok and cw_ok

    res = os.path.join(BENCH, "results")
    os.makedirs(res, exist_ok=True)
    keys = ["t", "phase", "rss_kib", "fds", "sockets", "established", "close_wait", "time_wait", "other", "threads"]
    with open(os.path.join(res, f"soak-{ts}.tsv"), "w") as f:
        f.write("\t".join(keys) + "\n")
        for s in samples:
            f.write("\t".join(str(s.get(k, "")) for k in keys) + "\n")
    lines = [f"# soapgate soak {ts}", "",
             f"{args.seconds} s of mixed load at {args.load:.0%} of capacity ({capacity:.0f} req/s on the good "
             f"route, wrk -c32) = {total:.0f} req/s; gateway `workers: 1` on core {args.sut_cpu}, load and "
             f"backend on core {args.loadgen_cpu}; {len(samples)} samples every {args.sample} s.", "",
             "| row | rate/s | requests | statuses | errors | p99 ms | ok |", "|---|---|---|---|---|---|---|"]
    for name, rate, n, codes, errors, p99, good_row in rows:
        st = ", ".join(f"{k}: {v}" for k, v in sorted(codes.items()))
        er = ", ".join(f"{k}: {v}" for k, v in errors.items()) or "-"
        p = "-" if p99 is None else f"{p99 * 1000:.1f}"
        lines.append(f"| {name} | {rate:.1f} | {n} | {st} | {er} | {p} | {'yes' if good_row else 'NO'} |")
    peak_fds = max(s["fds"] for s in under_load) if under_load else 0
    lines += ["",
              f"- RSS: {base / 1024:.1f} MiB after the {warm:.0f} s warm-up, {end / 1024:.1f} MiB at the end "
              f"({growth:+.1%}; limit +10 %): {'pass' if rss_ok else 'FAIL'}",
              f"- FDs: {idle_before['fds']} idle before, peak {peak_fds} under load, {idle_after['fds']} idle after "
              f"(limit {idle_before['fds'] + 2}): {'pass' if fd_ok else 'FAIL'}",
              f"- sockets in CLOSE_WAIT once idle: {idle_after['close_wait']}: {'pass' if cw_ok else 'FAIL'}",
              f"- gateway still running at the end: {'yes' if alive else 'NO'}",
              "", f"Verdict: {'PASS' if ok else 'FAIL'}", ""]
    report = "\n".join(lines)
    with open(os.path.join(res, f"soak-{ts}.md"), "w") as f:
        f.write(report)
    print(report)
    if args.keep or not ok:
        print(f"[soak] work folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
