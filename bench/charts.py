#!/usr/bin/env python3
"""Renders the benchmark results of bench/run.sh as SVG charts (standard library only).

usage: python3 bench/charts.py RESULTS_DIR IMAGES_DIR

  files.json          -> files-throughput.svg (MB/s), files-server-cpu.svg (server CPU s/GB), both with the
                         ratio to nginx on each bar, files-small.svg (req/s, 16 KiB files), files-mixed.svg
                         (p50 and p99 latency of 16 KiB files during big downloads), files-conns-throughput.svg,
                         files-conns-cpu.svg and files-conns-rss.svg (per connection count), from bench/files.sh
  e2e.json            -> e2e-throughput.svg (MB/s), e2e-server-cpu.svg (server CPU s/GB, with the ratio
                         to plaintext sendfile written on each bar)
  jmh-<module>.json   -> jmh-<module>.svg (one panel per benchmark method, one bar per parameter set)
"""
import json
import os
import sys
from xml.sax.saxutils import escape

MODES = ["plain", "sslhandler", "inline", "offload"]
MODE_LABELS = {"plain": "plain sendfile", "sslhandler": "SslHandler", "inline": "ktls inline", "offload": "ktls offload",
               "nginx": "nginx"}
FILE_TESTS = [("c8", "h2load, 8 connections"), ("curl", "curl, 1 stream"), ("c256", "h2load, 256 connections")]
COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"]
FONT = 'font-family="Helvetica,Arial,sans-serif"'


def svg(width, height, body):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">\n<rect width="100%" height="100%" fill="white"/>\n'
            + "\n".join(body) + "\n</svg>\n")


def text(x, y, s, size=12, anchor="start", weight="normal", fill="#222"):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}" {FONT}>{escape(str(s))}</text>')


def nice_max(v):
    if v <= 0:
        return 1.0
    mag = 10 ** len(str(int(v))) / 10
    for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if v <= m * mag:
            return m * mag
    return 10 * mag


def grouped_bars(title, unit, groups, series, values, annotate=None, subtitle=None):
    """values[(group, series)] -> number; annotate[(group, series)] -> optional label above the value."""
    width, height = 760, 420
    left, right, top, bottom = 70, 20, 70 if subtitle else 50, 70
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax = nice_max(max([v for v in values.values()] + [0]))
    body = [text(width / 2, 28, title, 16, "middle", "bold")]
    if subtitle:
        body.append(text(width / 2, 46, subtitle, 11, "middle", fill="#555"))
    for i in range(6):
        v = vmax * i / 5
        y = top + plot_h - plot_h * v / vmax
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>')
        body.append(text(left - 6, y + 4, f"{v:g}", 11, "end"))
    body.append(text(16, top + plot_h / 2, unit, 12, "middle").replace(
        "<text ", f'<text transform="rotate(-90 16 {top + plot_h / 2:.1f})" ', 1))
    group_w = plot_w / max(1, len(groups))
    bar_w = min(60, group_w * 0.8 / max(1, len(series)))
    for gi, g in enumerate(groups):
        gx = left + gi * group_w + (group_w - bar_w * len(series)) / 2
        body.append(text(left + gi * group_w + group_w / 2, top + plot_h + 20, MODE_LABELS.get(g, g), 12, "middle"))
        for si, s in enumerate(series):
            v = values.get((g, s))
            if v is None:
                continue
            h = plot_h * v / vmax
            x = gx + si * bar_w
            y = top + plot_h - h
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 4:.1f}" height="{h:.1f}" '
                        f'fill="{COLORS[si % len(COLORS)]}"/>')
            label = f"{v:.0f}" if v >= 100 else f"{v:.2f}"
            body.append(text(x + (bar_w - 4) / 2, y - 4, label, 10, "middle"))
            if annotate and annotate.get((g, s)):
                # On a line of its own: beside the value it would run into the next bar's label.
                body.append(text(x + (bar_w - 4) / 2, y - 16, annotate[(g, s)], 10, "middle", fill="#555"))
    lx = left
    for si, s in enumerate(series):
        body.append(f'<rect x="{lx}" y="{height - 24}" width="12" height="12" fill="{COLORS[si % len(COLORS)]}"/>')
        body.append(text(lx + 16, height - 14, s, 12))
        lx += max(140, 30 + 7 * len(s))
    return svg(width, height, body)


def e2e_charts(results, images):
    path = os.path.join(results, "e2e.json")
    if not os.path.exists(path):
        return
    with open(path) as f:
        data = json.load(f)
    runs = data["runs"]
    streams = sorted({r["streams"] for r in runs})
    modes = [m for m in MODES if any(r["mode"] == m for r in runs)]
    series = [f"{n} stream" + ("s" if n != 1 else "") for n in streams]
    mbps, cpu, ratio = {}, {}, {}
    for r in runs:
        key = (r["mode"], series[streams.index(r["streams"])])
        mbps[key] = r["MBps"]
        cpu[key] = r["serverCpuSecPerGB"]
    for (mode, s), v in cpu.items():
        base = cpu.get(("plain", s))
        if base and mode != "plain":
            ratio[(mode, s)] = f"({v / base:.1f}x)"
    where = f'{data.get("cpus", "?")} cores, JDK {data.get("jvm", "?")}, TLS 1.3 AES-128-GCM, 1 GiB file on tmpfs'
    with open(os.path.join(images, "e2e-throughput.svg"), "w") as f:
        f.write(grouped_bars("Throughput over loopback (" + where + ")", "MB/s (higher is better)", modes, series, mbps))
    with open(os.path.join(images, "e2e-server-cpu.svg"), "w") as f:
        f.write(grouped_bars("Server CPU per GB sent (ratio to plaintext sendfile)", "CPU s/GB (lower is better)",
                             modes, series, cpu, ratio))


def files_charts(results, images):
    path = os.path.join(results, "files.json")
    if not os.path.exists(path):
        return
    with open(path) as f:
        data = json.load(f)
    servers = data["servers"]
    by_key = {(e["server"], e["test"]): e for e in data["results"]}
    tests = [(t, label) for t, label in FILE_TESTS if any((s, t) in by_key for s in servers)]
    series = [label for _, label in tests]
    mbps, cpu, x_mbps, x_cpu = {}, {}, {}, {}
    for s in servers:
        for t, label in tests:
            e = by_key.get((s, t))
            if e is None:
                continue
            mbps[(s, label)] = e["MBps"]
            cpu[(s, label)] = e["serverCpuSecPerGB"]
            if s != "nginx" and e.get("xMBps_nginx"):
                x_mbps[(s, label)] = f"({e['xMBps_nginx']:.2f}x)"
            if s != "nginx" and e.get("xCpu_nginx"):
                x_cpu[(s, label)] = f"({e['xCpu_nginx']:.2f}x)"
    size = data.get("fileBytes", 0) / 2 ** 20
    rounds = data.get("rounds", "?")
    where = (f'{data.get("date", "")[:10]}, {data.get("cpus", "?")} cores, JDK {data.get("jvm", "?")}, '
             f'nginx {data.get("nginx", "?").split(" ")[0]}, TLS 1.3 AES-128-GCM, {size:.0f} MiB file, '
             + ("one round" if rounds == 1 else f"median of {rounds} rounds"))
    charts = {"files-throughput.svg": ("File server vs nginx: download MB/s (ratio to nginx)", "MB/s (higher is better)",
                                       mbps, x_mbps),
              "files-server-cpu.svg": ("File server vs nginx: server CPU per GB (ratio to nginx)",
                                       "CPU s/GB (lower is better)", cpu, x_cpu)}
    for name, (title, unit, values, ratios) in charts.items():
        out = os.path.join(images, name)
        if not tests:
            if os.path.exists(out):
                os.remove(out)  # from an earlier run: it would not match files.json
            continue
        with open(out, "w") as f:
            f.write(grouped_bars(title, unit, servers, series, values, ratios, where))
    small = {(s, "16 KiB files, 1000 connections"): by_key[(s, "small")]["reqPerSec"]
             for s in servers if (s, "small") in by_key}
    small_svg = os.path.join(images, "files-small.svg")
    if not small and os.path.exists(small_svg):
        os.remove(small_svg)  # from an earlier run: it would not match files.json
    if small:
        base = by_key.get(("nginx", "small"))
        x_small = {k: f"({v / base['reqPerSec']:.2f}x)" for k, v in small.items()
                   if base and k[0] != "nginx"}
        with open(small_svg, "w") as f:
            f.write(grouped_bars("Small files: requests per second (ratio to nginx)", "req/s (higher is better)",
                                 servers, ["16 KiB files, 1000 connections"], small, x_small, where))
    mixed_charts(data, servers, by_key, images, where)
    conns_charts(data, servers, by_key, images, where)


def write_or_remove(path, content):
    """Writes the chart, or removes one left by an earlier run when this run has no figures for it."""
    if content is None:
        if os.path.exists(path):
            os.remove(path)
        return
    with open(path, "w") as f:
        f.write(content)


def mixed_charts(data, servers, by_key, images, where):
    series = ["p50", "p99"]
    values, x_nginx = {}, {}
    for s in servers:
        e = by_key.get((s, "mixed"))
        if e is None:
            continue
        for label, key in (("p50", "p50Ms"), ("p99", "p99Ms")):
            if e.get(key) is None:  # a round in which no small request finished: no median
                continue
            values[(s, label)] = e[key]
            ratio = e.get(f"x{key[0].upper()}{key[1:]}_nginx")
            if s != "nginx" and ratio:
                x_nginx[(s, label)] = f"({ratio:.2f}x)"
    title = (f"16 KiB files during {data.get('mixedDownloads', 8)} big downloads: latency (ratio to nginx)")
    write_or_remove(os.path.join(images, "files-mixed.svg"), grouped_bars(
        title, "ms (lower is better)", [s for s in servers if (s, "p50") in values], series, values, x_nginx,
        where) if values else None)


def conns_charts(data, servers, by_key, images, where):
    levels = sorted({int(t.split("-", 1)[1]) for (_, t) in by_key if t.startswith("conns-")})
    series = [f"{n:,} connections" for n in levels]
    kib = data.get("connsFileBytes", 65536) // 1024
    charts = {"files-conns-throughput.svg": ("MBps", f"{kib} KiB files by connection count: MB/s (ratio to nginx)",
                                             "MB/s (higher is better)", 1, "xMBps_nginx"),
              "files-conns-cpu.svg": ("serverCpuSecPerGB", f"{kib} KiB files by connection count: server CPU per GB "
                                      "(ratio to nginx)", "CPU s/GB (lower is better)", 1, "xCpu_nginx"),
              "files-conns-rss.svg": ("levelPeakPrivateKiB", f"{kib} KiB files by connection count: server peak "
                                      "private memory (RssAnon)", "MiB (lower is better)", 1 / 1024, None)}
    for name, (key, title, unit, scale, ratio_key) in charts.items():
        values, ratios = {}, {}
        for s in servers:
            for n, label in zip(levels, series):
                e = by_key.get((s, f"conns-{n}"))
                if e is None or e.get(key) is None:
                    continue
                values[(s, label)] = e[key] * scale
                base = by_key.get(("nginx", f"conns-{n}"))
                if s == "nginx":
                    continue
                if ratio_key and e.get(ratio_key):
                    ratios[(s, label)] = f"({e[ratio_key]:.2f}x)"
                elif not ratio_key and base and base.get(key):
                    ratios[(s, label)] = f"({e[key] / base[key]:.2f}x)"
        groups = [s for s in servers if any((s, label) in values for label in series)]
        write_or_remove(os.path.join(images, name),
                        grouped_bars(title, unit, groups, series, values, ratios, where) if values else None)


def param_label(params):
    return ", ".join(f"{k}={v}" for k, v in sorted((params or {}).items()))


def jmh_chart(module, entries, out):
    panels = {}
    for e in entries:
        name = e["benchmark"].rsplit(".", 2)
        method = ".".join(name[-2:])
        panels.setdefault(method, []).append(e)
    row_h, width, label_w = 20, 900, 430
    height = 50 + sum(40 + row_h * len(v) for v in panels.values())
    body = [text(width / 2, 28, f"JMH: {module}", 16, "middle", "bold")]
    y = 50
    for pi, (method, rows) in enumerate(sorted(panels.items())):
        unit = rows[0]["primaryMetric"]["scoreUnit"]
        mode = rows[0]["mode"]
        better = "higher is better" if mode == "thrpt" else "lower is better"
        body.append(text(10, y + 16, f"{method}  [{unit}, {better}]", 13, weight="bold"))
        y += 26
        vmax = max(r["primaryMetric"]["score"] for r in rows) or 1
        for r in rows:
            score = r["primaryMetric"]["score"]
            err = r["primaryMetric"].get("scoreError")
            w = (width - label_w - 120) * score / vmax
            body.append(text(label_w - 8, y + 14, param_label(r.get("params")) or "(no parameters)", 11, "end"))
            body.append(f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row_h - 6}" '
                        f'fill="{COLORS[pi % len(COLORS)]}"/>')
            label = f"{score:,.1f}" if score < 1e6 else f"{score:,.0f}"
            if isinstance(err, (int, float)) and err == err:
                label += f" ± {err:,.1f}"
            body.append(text(label_w + max(w, 1) + 6, y + 14, label, 11))
            y += row_h
        y += 14
    with open(out, "w") as f:
        f.write(svg(width, height, body))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    results, images = sys.argv[1], sys.argv[2]
    os.makedirs(images, exist_ok=True)
    files_charts(results, images)
    e2e_charts(results, images)
    for name in sorted(os.listdir(results)):
        if name.startswith("jmh-") and name.endswith(".json"):
            with open(os.path.join(results, name)) as f:
                entries = json.load(f)
            if entries:
                module = name[len("jmh-"):-len(".json")]
                jmh_chart(module, entries, os.path.join(images, f"jmh-{module}.svg"))


if __name__ == "__main__":
    main()
