#!/usr/bin/env python3
"""Turns the measurements of bench/files.sh into medians, ratios and a table (standard library only).

usage: python3 bench/files_summary.py ROUNDS_CSV RESULTS_DIR [--meta KEY=VALUE...] [--rss SERVER=KIB...]

Reads one row per (server, test, round): requests, file bytes, seconds, server CPU seconds, protocol, cipher,
and for some tests connections, the server's peak RSS and peak private memory during the test (conns-N) or the
small-file latency percentiles (mixed). Writes RESULTS_DIR/files.csv and files.json (per server and test: the
median of the rounds of MB/s, server CPU s/GB, req/s, server CPU us/request, and of p50/p99/mean/max latency,
peak RSS and peak private memory where measured, each round's figures, and ratios against nginx and against
plain) and files.md (the tables docs/benchmarks.md shows). MB and GB are decimal.
"""
import csv
import json
import os
import statistics
import sys

SERVER_LABELS = {
    "nginx": "nginx",
    "plain": "file server `plain` (sendfile, no TLS)",
    "sslhandler": "file server `sslhandler` (SslHandler + ChunkedNioFile)",
    "inline": "file server `inline` (ktls-netty)",
    "offload": "file server `offload` (ktls-netty, default)",
}
TESTS = ["c8", "curl", "c256", "small", "mixed"]  # then conns-N, by N
LATENCY = ("p50Ms", "p99Ms", "meanMs", "maxMs")


def test_order(tests):
    """The fixed tests in their order, then the connection levels of conns, fewest first."""
    conns = sorted((t for t in tests if t.startswith("conns-")), key=lambda t: int(t.split("-", 1)[1]))
    return [t for t in TESTS if t in tests] + conns


def optional_float(row, key):
    v = row.get(key)
    return float(v) if v not in (None, "") else None


def parse_pairs(items):
    pairs = {}
    for item in items:
        key, _, value = item.partition("=")
        pairs[key] = value
    return pairs


def parse_args(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    rows_csv, results = argv[1], argv[2]
    groups = {"--meta": [], "--rss": []}
    current = None
    for arg in argv[3:]:
        if arg in groups:
            current = arg
        elif current is None:
            sys.exit(__doc__)
        else:
            groups[current].append(arg)
    return rows_csv, results, parse_pairs(groups["--meta"]), parse_pairs(groups["--rss"])


def summarise(rows):
    """(server, test) -> medians over the rounds and each round's figures, in the order measured."""
    by_key = {}
    for r in rows:
        by_key.setdefault((r["server"], r["test"]), []).append(r)
    out = {}
    for (server, test), rs in by_key.items():
        rounds = []
        for r in rs:
            n, b, s, cpu = int(r["requests"]), int(r["bytes"]), float(r["seconds"]), float(r["cpuSeconds"])
            if test == "mixed":  # n may be 0: a server too slow to finish a request in the time given
                one = {"seconds": s, "bytes": b, "samples": n}
            else:
                one = {
                    "MBps": b / s / 1e6,
                    "serverCpuSecPerGB": cpu / (b / 1e9),
                    "reqPerSec": n / s,
                    "serverCpuUsPerRequest": cpu * 1e6 / n,
                    "seconds": s,
                    "bytes": b,
                }
            for k in ("levelPeakRssKiB", "levelPeakPrivateKiB") + LATENCY:
                v = optional_float(r, {"levelPeakRssKiB": "peakRssKiB",
                                       "levelPeakPrivateKiB": "peakPrivateKiB"}.get(k, k))
                if v is not None:
                    one[k] = v
            rounds.append(one)
        # mixed: its bytes and seconds are those of the probes alone, its CPU that of the downloads too; only
        # its latencies mean something.
        rates = () if test == "mixed" else ("MBps", "serverCpuSecPerGB", "reqPerSec", "serverCpuUsPerRequest")
        med = {k: statistics.median(x[k] for x in rounds)
               for k in rates + ("levelPeakRssKiB", "levelPeakPrivateKiB", "samples") + LATENCY if all(k in x for x in rounds)}
        extra = {}
        if rs[0].get("connections"):
            extra["connections"] = int(rs[0]["connections"])
        if any(r.get("failed") for r in rs):  # conns: requests lost over all the rounds
            extra["failedRequests"] = sum(int(r["failed"] or 0) for r in rs)
        out[(server, test)] = {"server": server, "test": test, "rounds": rounds,
                               "protocol": rs[0]["protocol"], "cipher": rs[0]["cipher"], **extra, **med}
    return out


def add_ratios(summary):
    for (server, test), e in summary.items():
        for base in ("nginx", "plain"):
            b = summary.get((base, test))
            if b is None:
                continue
            if "MBps" in e:
                e[f"xMBps_{base}"] = e["MBps"] / b["MBps"]
                e[f"xCpu_{base}"] = e["serverCpuSecPerGB"] / b["serverCpuSecPerGB"] if b["serverCpuSecPerGB"] else None
            for k in ("p50Ms", "p99Ms"):
                if k in e and b.get(k):
                    e[f"x{k[0].upper()}{k[1:]}_{base}"] = e[k] / b[k]


def fmt(v, digits):
    return "" if v is None else f"{v:.{digits}f}"


def ratio(e, key):
    v = e.get(key)
    return "" if v is None else f"{v:.2f}x"


def rounds_of(e, key, digits):
    return " ".join(fmt(r.get(key), digits) or "-" for r in e["rounds"])


def markdown(summary, servers, meta, rss):
    lines = []
    head = (f"{meta.get('date', '?')}, {meta.get('cpus', '?')} cores ({meta.get('cpuModel', '?')}), "
            f"JDK {meta.get('jvm', '?')}, nginx {meta.get('nginx', '?')}, file {int(meta.get('fileBytes', 0)) / 2**20:.0f} MiB "
            f"on tmpfs, TLS 1.3 AES-128-GCM, " + ("one round" if meta.get("rounds") == "1" else
                                                  f"median of {meta.get('rounds', '?')} rounds") + " after "
            f"{meta.get('warmupDownloads', '?')} discarded downloads per server; access logs "
            f"{meta.get('accessLog', '?')} in every server; open-file caches {meta.get('openFiles', 'off')} in every "
            f"server; discarded runs per server before the rounds: {meta.get('smallWarmup', '0')} of the small-file test, "
            f"{meta.get('c256Warmup', '0')} of the 256-connection test"
            + (f", then more while a JVM's compiler threads took over {meta['jitSettledPercent']}% of its CPU in a run "
               f"(at most {meta.get('maxWarmup', '?')}; {meta['discardedRuns']})" if meta.get("discardedRuns") else "")
            + "; "
            + (f"JVM options of the file server `{meta['javaOpts']}`; " if meta.get("javaOpts") else "")
            + f"load average at the end {meta.get('loadAverageAtEnd', '?')}.")
    lines += [head, ""]
    if any((s, t) in summary for s in servers for t in ("c8", "curl")):
        lines += [f"One big file, `h2load --h1 -c 8 -n {meta.get('c8Requests', '8')}` and curl (one download):", "",
                  "| server | h2load c8 MB/s | x nginx | server CPU s/GB | x nginx | x plain | curl MB/s | x nginx | curl server CPU s/GB | rounds c8 (MB/s; s/GB) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for s in servers:
            c8, cu = summary.get((s, "c8")), summary.get((s, "curl"))
            if c8 is None and cu is None:
                continue
            c8v, cuv = c8 or {}, cu or {}
            lines.append("| " + " | ".join([
                SERVER_LABELS.get(s, s), fmt(c8v.get("MBps"), 0), ratio(c8v, "xMBps_nginx"),
                fmt(c8v.get("serverCpuSecPerGB"), 3), ratio(c8v, "xCpu_nginx"), ratio(c8v, "xCpu_plain"),
                fmt(cuv.get("MBps"), 0), ratio(cuv, "xMBps_nginx"), fmt(cuv.get("serverCpuSecPerGB"), 3),
                rounds_of(c8, "MBps", 0) + "; " + rounds_of(c8, "serverCpuSecPerGB", 3) if c8 else ""]) + " |")
        lines.append("")
    if any((s, "c256") in summary for s in servers):
        n = meta.get("c256Requests", "1024")
        lines += [f"256 connections, {n} downloads of a 4 MiB file (`h2load --h1 -c 256 -n {n}`); peak RSS is the "
                  "server's VmHWM over the whole run (all its processes; for the file server it includes the pages "
                  "of the 1 GiB file it maps, page cache that nginx's reads do not count):", "",
                  "| server | MB/s | x nginx | server CPU s/GB | x nginx | peak RSS MiB |", "|---|---|---|---|---|---|"]
        for s in servers:
            e = summary.get((s, "c256"))
            if e is None:
                continue
            lines.append("| " + " | ".join([
                SERVER_LABELS.get(s, s), fmt(e["MBps"], 0), ratio(e, "xMBps_nginx"), fmt(e["serverCpuSecPerGB"], 3),
                ratio(e, "xCpu_nginx"), fmt(rss.get(s) and int(rss[s]) / 1024, 0)]) + " |")
        lines.append("")
    if any((s, "small") in summary for s in servers):
        n = meta.get("smallRequests", "100000")
        lines += [f"16 KiB files, 1000 connections, {int(n):,} requests with keep-alive (`h2load --h1 -c 1000 -n {n}`):", "",
                  "| server | req/s | x nginx | server CPU us/request | x nginx |", "|---|---|---|---|---|"]
        for s in servers:
            e = summary.get((s, "small"))
            if e is None:
                continue
            x_req = e["reqPerSec"] / summary[("nginx", "small")]["reqPerSec"] if ("nginx", "small") in summary else None
            x_cpu = (e["serverCpuUsPerRequest"] / summary[("nginx", "small")]["serverCpuUsPerRequest"]
                     if ("nginx", "small") in summary and summary[("nginx", "small")]["serverCpuUsPerRequest"] else None)
            lines.append("| " + " | ".join([
                SERVER_LABELS.get(s, s), fmt(e["reqPerSec"], 0), fmt(x_req, 2) + ("x" if x_req else ""),
                fmt(e["serverCpuUsPerRequest"], 1), fmt(x_cpu, 2) + ("x" if x_cpu else "")]) + " |")
        lines.append("")
    if any((s, "mixed") in summary for s in servers):
        secs = meta.get("mixedSeconds", "?")
        probes = meta.get("mixedProbes", "?")
        lines += [f"16 KiB files during {meta.get('mixedDownloads', '8')} downloads of the big file (one curl each, over "
                  f"and over): {probes} curl processes fetch small files in turn for {secs} s, each on one keep-alive "
                  "connection; latency of each request (curl `time_total`, the connection's first request left "
                  "out), p99 by nearest rank; requests: how many they are over (median of the rounds):", "",
                  "| server | p50 ms | x nginx | p99 ms | x nginx | mean ms | max ms | requests | rounds p50; p99 ms |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for s in servers:
            e = summary.get((s, "mixed"))
            if e is None:
                continue
            lines.append("| " + " | ".join([
                SERVER_LABELS.get(s, s), fmt(e.get("p50Ms"), 1), ratio(e, "xP50Ms_nginx"), fmt(e.get("p99Ms"), 1),
                ratio(e, "xP99Ms_nginx"), fmt(e.get("meanMs"), 1), fmt(e.get("maxMs"), 1),
                fmt(e.get("samples"), 0), rounds_of(e, "p50Ms", 1) + "; " + rounds_of(e, "p99Ms", 1)]) + " |")
        lines.append("")
    levels = [t for t in test_order({t for (_, t) in summary}) if t.startswith("conns-")]
    if levels:
        kib = int(meta.get("connsFileBytes", 65536)) // 1024
        lines += [f"Connection count: `h2load --h1 -c N -n {meta.get('connsRequests', '?')}` with keep-alive on "
                  f"{kib} KiB files (round robin); peak private memory is the largest RssAnon (heap, stacks, "
                  "malloc, direct buffers) sampled every 0.2 s during that level; peak RSS is the server's VmHWM "
                  "during that level alone (reset before it), which also counts the pages of files the server has "
                  "mapped (page cache, shared with the kernel); both over all the server's processes. Failed "
                  "requests (over all rounds) are those of connections the server dropped, and the other figures "
                  "count only the requests that succeeded:", "",
                  "| server | connections | MB/s | x nginx | server CPU s/GB | x nginx | peak private MiB | x nginx "
                  "| peak RSS MiB | failed requests |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for t in levels:
            base = summary.get(("nginx", t))
            for s in servers:
                e = summary.get((s, t))
                if e is None:
                    continue
                rss_kib = e.get("levelPeakRssKiB")
                private_kib = e.get("levelPeakPrivateKiB")
                x_private = (private_kib / base["levelPeakPrivateKiB"] if private_kib is not None and base
                             and base.get("levelPeakPrivateKiB") else None)
                lines.append("| " + " | ".join([
                    SERVER_LABELS.get(s, s), f"{int(t.split('-', 1)[1]):,}", fmt(e["MBps"], 0),
                    ratio(e, "xMBps_nginx"), fmt(e["serverCpuSecPerGB"], 3), ratio(e, "xCpu_nginx"),
                    fmt(private_kib and private_kib / 1024, 0), "" if x_private is None else f"{x_private:.2f}x",
                    fmt(rss_kib and rss_kib / 1024, 0), f"{e.get('failedRequests', 0):,}"]) + " |")
        lines.append("")
    return "\n".join(lines)


def main():
    rows_csv, results, meta, rss = parse_args(sys.argv)
    with open(rows_csv) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"{rows_csv}: no measurements")
    servers = list(dict.fromkeys(r["server"] for r in rows))
    summary = summarise(rows)
    add_ratios(summary)
    ordered = [summary[(s, t)] for t in test_order({t for (_, t) in summary}) for s in servers if (s, t) in summary]
    for e in ordered:
        if e["server"] in rss:
            e["peakRssKiB"] = int(rss[e["server"]])

    columns = ["server", "test", "MBps", "serverCpuSecPerGB", "reqPerSec", "serverCpuUsPerRequest",
               "xMBps_nginx", "xCpu_nginx", "xMBps_plain", "xCpu_plain", "peakRssKiB", "connections",
               "levelPeakRssKiB", "levelPeakPrivateKiB", "failedRequests", "samples", "p50Ms", "p99Ms", "meanMs", "maxMs", "xP50Ms_nginx", "xP99Ms_nginx",
               "protocol", "cipher", "rounds"]
    with open(os.path.join(results, "files.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for e in ordered:
            row = []
            for c in columns:
                v = e.get(c)
                if c == "rounds" and e["test"] == "mixed":  # p50/p99 ms
                    v = ";".join(f"{fmt(r.get('p50Ms'), 3)}/{fmt(r.get('p99Ms'), 3)}" for r in v)
                elif c == "rounds" and "levelPeakRssKiB" in e:  # MB/s, CPU s/GB, peak RSS KiB, peak private KiB
                    v = ";".join(f"{r['MBps']:.1f}/{r['serverCpuSecPerGB']:.4f}/{r['levelPeakRssKiB']:.0f}"
                                 + (f"/{r['levelPeakPrivateKiB']:.0f}" if "levelPeakPrivateKiB" in r else "")
                                 for r in v)
                elif c == "rounds":  # MB/s, CPU s/GB
                    v = ";".join(f"{r['MBps']:.1f}/{r['serverCpuSecPerGB']:.4f}" for r in v)
                elif isinstance(v, float):
                    v = f"{v:.4f}"
                row.append("" if v is None else v)
            w.writerow(row)
    meta_out = dict(meta)
    for k in ("cpus", "fileBytes", "rounds", "warmupDownloads", "c8Requests", "c256Requests", "smallRequests",
              "smallWarmup", "c256Warmup", "jitSettledPercent", "maxWarmup", "mixedDownloads", "mixedProbes", "mixedSeconds", "connsRequests", "connsFileBytes", "nofile",
              "somaxconn"):
        if k in meta_out and meta_out[k].isdigit():
            meta_out[k] = int(meta_out[k])
    with open(os.path.join(results, "files.json"), "w") as f:
        json.dump({**meta_out, "servers": servers, "results": ordered}, f, indent=1)
        f.write("\n")
    with open(os.path.join(results, "files.md"), "w") as f:
        f.write(markdown(summary, servers, meta, rss) + "\n")


if __name__ == "__main__":
    main()
