#!/usr/bin/env python3
"""Markdown report of one bench/run.sh run from its raw lines (raw.tsv / results/<ts>.tsv).

  report.py RAW.tsv
"""
import statistics
import sys

NAMES = {
    "A": "A backend direct (nginx static)",
    "B": "B nginx reverse proxy",
    "C": "C soapgate minimal",
    "D": "D soapgate full mediation",
    "E": "E Node.js express + node-soap",
}


def load(path):
    rows = []
    for ln in open(path):
        ln = ln.rstrip("\n")
        if not ln:
            continue
        kind, *kvs = ln.split("\t")
        d = {"kind": kind}
        for kv in kvs:
            k, _, v = kv.partition("=")
            d[k] = v
        rows.append(d)
    return rows


def med(xs):
    xs = [x for x in xs if x == x]  # drop NaN
    return statistics.median(xs) if xs else float("nan")


def fmt(x, digits=1):
    if x != x:
        return "n/a"
    return f"{x:,.{digits}f}"


def rng(xs, digits=0):
    xs = [x for x in xs if x == x]
    if len(xs) < 2:
        return ""
    return f" ({fmt(min(xs), digits)}–{fmt(max(xs), digits)})"


def main():
    rows = load(sys.argv[1])
    meta = {}
    for r in rows:
        if r["kind"] == "meta":
            meta.update({k: v for k, v in r.items() if k != "kind"})
    sat = [r for r in rows if r["kind"] == "sat"]
    lat = [r for r in rows if r["kind"] == "lat"]
    latd = [r for r in rows if r["kind"] == "latd"]
    sizes = list(dict.fromkeys(r["size"] for r in sat + lat))
    scens = list(dict.fromkeys(r["scen"] for r in sat + lat))
    rounds = sorted({int(r["round"]) for r in sat + lat})

    def get(table, rnd, size, scen, key):
        for r in table:
            if r["round"] == str(rnd) and r["size"] == size and r["scen"] == scen:
                return float(r[key])
        return float("nan")

    out = []
    w = out.append
    w(f"# soapgate benchmark {meta.get('ts', '')}")
    w("")
    dirty = meta.get("dirty", "0")
    w(f"Commit `{meta.get('commit', '?')}`" + (f" with {dirty} uncommitted file(s) under src/ and Cargo.*" if dirty not in ("", "0") else "")
      + f"; {meta.get('cpus', '?')} cores, {meta.get('cpu_model', '?')}, {meta.get('mem', '?')}, Linux {meta.get('kernel', '?')};"
      f" load average at the end: {meta.get('load', '?')}.")
    w(f"Runs: {meta.get('rounds')} interleaved round(s), {meta.get('duration')} s per measured run after {meta.get('warmup')} s warm-up,"
      f" {meta.get('connections')} connections; load generator on core {meta.get('loadgen_cpu')}, server under test on core"
      f" {meta.get('sut_cpu')}, backend on core {meta.get('backend_cpu')} (core {meta.get('sut_cpu')} in A);"
      f" access logs {'on' if meta.get('access_log') == '1' else 'off'};"
      f" D's threat checks {'on' if meta.get('d_threats') == '1' else 'NOT AVAILABLE in this build (D and E run without them)'},"
      f" D's rate limit {'on' if meta.get('d_rate_limit') == '1' else 'NOT AVAILABLE in this build (D and E run without it)'}.")
    w(f"Tools: nginx {meta.get('nginx')}, wrk {meta.get('wrk')}, oha {meta.get('oha')}, node {meta.get('node')}"
      f" (node-soap {meta.get('node_soap')}, express {meta.get('express')}), rustc {meta.get('rustc')}.")
    w(f"Responses: 1k = {meta.get('bytes_1k')} B ({meta.get('items_1k')} items), 10k = {meta.get('bytes_10k')} B"
      f" ({meta.get('items_10k')} items), 10m = {meta.get('bytes_10m')} B ({meta.get('items_10m')} items).")
    w("")
    w("## Throughput, latency, CPU, memory")
    w("")
    w("Median over rounds (min–max when there are several). RPS: wrk saturation. p50/p99: oha at a fixed rate"
      " (LATENCY_FRACTION × B's saturation RPS of the same round and size), coordinated omission corrected."
      " CPU: user+system time of the server process(es) ÷ requests (backend excluded except in A)."
      " Peak RSS: VmHWM of the server process(es), reset before the scenario's runs.")
    w("")
    w("| size | scenario | RPS | fixed rate | p50 ms | p99 ms | CPU µs/req (sat) | CPU µs/req (fixed) | peak RSS MiB | errors |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for size in sizes:
        for scen in scens:
            rps = [get(sat, r, size, scen, "rps") for r in rounds]
            rate = [get(lat, r, size, scen, "rate") for r in rounds]
            held = [get(lat, r, size, scen, "rps") for r in rounds]
            p50 = [get(lat, r, size, scen, "p50_ms") for r in rounds]
            p99 = [get(lat, r, size, scen, "p99_ms") for r in rounds]
            cpu = [get(sat, r, size, scen, "cpu_us") for r in rounds]
            cpuf = [get(lat, r, size, scen, "cpu_us") for r in rounds]
            peak = [get(lat, r, size, scen, "peak_kib") / 1024 for r in rounds]
            errs = []
            for r in rounds:
                n = get(sat, r, size, scen, "non2xx") + get(sat, r, size, scen, "sockerr")
                lr = get(lat, r, size, scen, "requests") - get(lat, r, size, scen, "ok")
                if n == n and n > 0:
                    errs.append(f"r{r} wrk {int(n)}")
                if lr == lr and lr > 0:
                    errs.append(f"r{r} oha {int(lr)}")
            rate_s = fmt(med(rate), 0)
            if med(held) == med(held) and med(held) < 0.95 * med(rate):
                rate_s += f" (held {fmt(med(held), 0)})"
            w(f"| {size} | {NAMES.get(scen, scen)} | {fmt(med(rps), 0)}{rng(rps)} | {rate_s} | {fmt(med(p50), 3)}{rng(p50, 3)}"
              f" | {fmt(med(p99), 3)}{rng(p99, 3)} | {fmt(med(cpu))} | {fmt(med(cpuf))} | {fmt(med(peak))} | {', '.join(errs) or '0'} |")
    w("")

    def ratio(size, a, b, key="rps", table=None):
        table = table or sat
        xs = [get(table, r, size, a, key) / get(table, r, size, b, key) for r in rounds]
        return med(xs), xs

    w("## Ratios (throughput, median of per-round ratios)")
    w("")
    w("| size | D/B | D/A | C/B | D/E | CPU/req D÷B |")
    w("|---|---:|---:|---:|---:|---:|")
    for size in sizes:
        cells = []
        for a, b in (("D", "B"), ("D", "A"), ("C", "B"), ("D", "E")):
            m, xs = ratio(size, a, b)
            cells.append(f"{fmt(m, 2)}×{rng(xs, 2)}")
        m, xs = ratio(size, "D", "B", "cpu_us")
        cells.append(f"{fmt(m, 2)}×")
        w(f"| {size} | " + " | ".join(cells) + " |")
    w("")
    w("## Latency added by D over A (median of per-round differences)")
    w("")
    w("At B's half-load (the issue's definition; when D cannot hold that rate the difference is queueing),"
      " and at half of D's own saturation (OWN_RATE=1: a load D carries).")
    w("")
    w("| size | load | fixed rate | D held | A p50 / p99 ms | D p50 / p99 ms | p50 D−A ms | p99 D−A ms |")
    w("|---|---|---:|---:|---:|---:|---:|---:|")
    added = {}
    for size in sizes:
        for label, table in (("½ B saturation", lat), ("½ D saturation", latd)):
            if not any(r["size"] == size and r["scen"] == "D" for r in table):
                continue
            d50 = [get(table, r, size, "D", "p50_ms") - get(table, r, size, "A", "p50_ms") for r in rounds]
            d99 = [get(table, r, size, "D", "p99_ms") - get(table, r, size, "A", "p99_ms") for r in rounds]
            added[(size, label)] = (med(d50), med(d99))
            g = lambda sc, k: med([get(table, r, size, sc, k) for r in rounds])
            w(f"| {size} | {label} | {fmt(g('D', 'rate'), 0)} | {fmt(g('D', 'rps'), 0)} | {fmt(g('A', 'p50_ms'), 3)} / {fmt(g('A', 'p99_ms'), 3)}"
              f" | {fmt(g('D', 'p50_ms'), 3)} / {fmt(g('D', 'p99_ms'), 3)} | {fmt(med(d50), 3)} | {fmt(med(d99), 3)} |")
    w("")

    idle = {r["scen"]: int(r["kib"]) for r in rows if r["kind"] == "idle"}
    mem = [r for r in rows if r["kind"] == "mem"]
    w("## Memory")
    w("")
    w("Idle RSS (VmRSS after start and readiness, before any request): "
      + ", ".join(f"{k} {v / 1024:.1f} MiB" for k, v in idle.items())
      + " (C: minimal config, D: auth + WSDL, M: the fresh process of the 10 MiB probe).")
    w("")
    if mem:
        w("| 10 MiB response through | payload | peak RSS (VmHWM) | peak ÷ payload | JSON out | ms/request |")
        w("|---|---:|---:|---:|---:|---:|")
        label = {"c": "route C (template, schema-less conversion)", "t": "route bound to the WSDL (typed conversion)"}
        for r in mem:
            pay = int(r["payload"])
            peak = int(r["peak_kib"]) * 1024
            w(f"| {label.get(r['route'], r['route'])} | {pay / 1048576:.1f} MiB | {peak / 1048576:.1f} MiB | {peak / pay:.2f}× |"
              f" {int(r['json_bytes']) / 1048576:.1f} MiB | {r['ms_per_req']} |")
        w("")

    crit = {r["size"]: r for r in rows if r["kind"] == "crit"}
    w("## Targets of issue #6")
    w("")
    w("| target | measured | |")
    w("|---|---|---|")

    def verdict(ok):
        if ok is None:
            return "not measured"
        return "met" if ok else "**missed**"

    def target(text, value, ok):
        w(f"| {text} | {value} | {verdict(ok)} |")

    if "1k" in sizes and {"D", "B"} <= set(scens):
        m, _ = ratio("1k", "D", "B")
        target("D ≥ 0.6× B throughput at 1 KiB", f"{fmt(m, 2)}×", m >= 0.6 if m == m else None)
    for label in ("½ B saturation", "½ D saturation"):
        if ("1k", label) in added:
            a50, a99 = added[("1k", label)]
            target(f"latency added by D over A at 50 % load ({label}), p50 ≤ 0.2 ms (1 KiB)", f"{fmt(a50, 3)} ms", a50 <= 0.2 if a50 == a50 else None)
            target(f"latency added by D over A at 50 % load ({label}), p99 ≤ 1 ms (1 KiB)", f"{fmt(a99, 3)} ms", a99 <= 1.0 if a99 == a99 else None)
    for size in sizes:
        if {"D", "E"} <= set(scens):
            m, _ = ratio(size, "D", "E")
            target(f"D ≥ 10× E throughput ({size})", f"{fmt(m, 2)}×", m >= 10 if m == m else None)
    if crit:
        for size, r in crit.items():
            kinds = (("untyped_stream", "schema-less, JSON text written while parsing"),
                     ("typed_wsdl_stream", "typed, JSON text written while parsing"),
                     ("untyped", "schema-less tree, routes with select/includeHeader"),
                     ("typed_wsdl", "typed tree, routes with select/includeHeader"))
            for fn, what in kinds:
                if fn + "_ratio" not in r:
                    continue
                # interleaved rounds: the median of the per-round ratios, and their range
                x = float(r[fn + "_ratio"])
                value = f"{x:.2f}× (rounds {r[fn + '_ratio_range'].replace('-', '–')})"
                target(f"conversion ({what}) ≥ 0.5× bare quick-xml, {size}", value, x >= 0.5)
    else:
        target("conversion ≥ 0.5× bare quick-xml loop", "not run here (CRITERION=1, or benches/README.md)", None)
    for r in mem:
        pay = int(r["payload"])
        peak = int(r["peak_kib"]) * 1024
        target(f"10 MiB response, peak RSS < 4× payload (route {r['route']})", f"{peak / pay:.2f}× ({peak / 1048576:.1f} MiB)", peak < 4 * pay)
    if "M" in idle:
        target("idle RSS < 20 MiB (fresh gateway)", f"{idle['M'] / 1024:.1f} MiB", idle["M"] < 20 * 1024)
    w("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
