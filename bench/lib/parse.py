#!/usr/bin/env python3
"""Turns one load-generator output into one raw line (tab-separated key=value) for report.py.

  parse.py wrk OUT round size scenario server_ticks backend_ticks clk_tck
  parse.py lat|latd OUT round size scenario server_ticks rate clk_tck peak_kib
"""
import json
import re
import sys


def line(kind, **kv):
    return kind + "\t" + "\t".join(f"{k}={v}" for k, v in kv.items())


def duration_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        return float("nan")
    v, u = float(m.group(1)), m.group(2)
    return v * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[u]


def wrk(out, rnd, size, scen, ticks, bticks, clk):
    t = open(out).read()
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+),", t)
    if not m:
        sys.exit(f"no request count in {out}:\n{t[:800]}")
    requests = int(m.group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    non2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", t) or [0, 0])[1])
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    errors = sum(int(x) for x in sock.groups()) if sock else 0
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", t, re.M))
    us = lambda ticks_: int(ticks_) * 1e6 / int(clk) / max(requests, 1)
    print(line("sat", round=rnd, size=size, scen=scen, rps=f"{rps:.1f}", requests=requests,
               non2xx=non2xx, sockerr=errors, cpu_us=f"{us(ticks):.1f}", backend_cpu_us=f"{us(bticks):.1f}",
               p50_ms=f"{duration_ms(pct.get('50', 'nan')):.3f}", p99_ms=f"{duration_ms(pct.get('99', 'nan')):.3f}"))


def oha(kind, out, rnd, size, scen, ticks, rate, clk, peak):
    j = json.load(open(out))
    s = j["summary"]
    lp = j["latencyPercentiles"]
    codes = j.get("statusCodeDistribution", {})
    ok = sum(v for k, v in codes.items() if k.startswith("2"))
    total = sum(codes.values())
    # requests still in flight at the deadline are aborted by oha: not errors of the server
    errors = sum(v for k, v in j.get("errorDistribution", {}).items() if "deadline" not in k)
    ms = lambda v: float("nan") if v is None else v * 1000.0
    print(line(kind, round=rnd, size=size, scen=scen, rate=rate,
               rps=f"{s.get('requestsPerSec') or 0:.1f}", requests=total, ok=ok, errors=errors,
               p50_ms=f"{ms(lp.get('p50')):.3f}", p99_ms=f"{ms(lp.get('p99')):.3f}",
               p999_ms=f"{ms(lp.get('p99.9')):.3f}",
               cpu_us=f"{int(ticks) * 1e6 / int(clk) / max(total, 1):.1f}", peak_kib=peak))


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "wrk":
        wrk(*sys.argv[2:9])
    elif kind in ("lat", "latd"):
        oha(kind, *sys.argv[2:10])
    else:
        sys.exit("unknown kind " + kind)
