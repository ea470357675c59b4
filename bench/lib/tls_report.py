#!/usr/bin/env python3
"""Renders bench/tls.sh's raw lines as markdown: per-round ratios to nginx with and without TLS.

  tls_report.py RAW.tsv
"""
import statistics
import sys


def rows(path):
    out = []
    for line in open(path):
        kind, *kv = line.rstrip("\n").split("\t")
        out.append((kind, dict(x.split("=", 1) for x in kv if "=" in x)))
    return out


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def spread(xs):
    return f"{min(xs):.2f}–{max(xs):.2f}" if xs else "–"


def main():
    data = rows(sys.argv[1])
    meta = next((m for k, m in data if k == "meta"), {})
    sat = [m for k, m in data if k == "sat"]
    by = {}
    for m in sat:
        by.setdefault(m["round"], {})[m["scen"]] = m
    scen = [s for s in ("B", "Bt", "C", "Ct", "D", "Dt") if any(s in r for r in by.values())]
    print(f"# TLS cost, {meta.get('ts', '?')} (commit {meta.get('commit', '?')})\n")
    print(f"{meta.get('rounds')} rounds × {meta.get('duration')} s, {meta.get('connections')} connections, "
          f"{meta.get('size')} response, CPU {meta.get('cpu_model', '?')}, nginx {meta.get('nginx', '?')}.\n")
    print("| scenario | RPS (median) | CPU µs/request | p99 ms | non-2xx | socket errors | backend handshakes / 10k requests |")
    print("|---|---|---|---|---|---|---|")
    for s in scen:
        ms = [r[s] for r in by.values() if s in r]
        rps = [float(m["rps"]) for m in ms]
        cpu = [float(m["cpu_us"]) for m in ms]
        p99 = [float(m["p99_ms"]) for m in ms]
        bad = sum(int(m["non2xx"]) for m in ms)
        err = sum(int(m["sockerr"]) for m in ms)
        hs = sum(int(m.get("handshakes", 0)) for m in ms)
        req = sum(int(m["requests"]) for m in ms)
        per10k = f"{hs * 10000 / req:.2f} ({hs} in {req})" if s.endswith("t") and req else "–"
        print(f"| {s} | {med(rps):,.0f} | {med(cpu):.1f} | {med(p99):.2f} | {bad} | {err} | {per10k} |")
    print("\n| ratio (per round, then median) | plain | TLS both sides | TLS lowers the ratio by |")
    print("|---|---|---|---|")
    for g in ("C", "D"):
        plain = [float(r[g]["rps"]) / float(r["B"]["rps"]) for r in by.values() if g in r and "B" in r]
        tls = [float(r[g + "t"]["rps"]) / float(r["Bt"]["rps"]) for r in by.values() if g + "t" in r and "Bt" in r]
        if not plain or not tls:
            continue
        drop = (med(plain) - med(tls)) / med(plain) * 100
        print(f"| {g}/B vs {g}t/Bt | {med(plain):.3f} ({spread(plain)}) | {med(tls):.3f} ({spread(tls)}) | {drop:+.1f} % |")
    print("\nTarget: TLS lowers soapgate's ratio to nginx by no more than 10 %; backend handshakes per"
          " 10,000 requests near the pool size (one worker, one pool per TLS profile).")


if __name__ == "__main__":
    main()
