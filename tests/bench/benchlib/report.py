"""The results: the machine, the tables (markdown) and the chart (gnuplot)."""

import os
import platform
import statistics
import subprocess

BACKEND_ORDER = ["php-fpm", "cppfpm", "floor"]


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem_gib = int(f.readline().split()[1]) / 1024 / 1024
    except OSError:
        mem_gib = 0
    try:
        with open("/etc/debian_version") as f:
            debian = "Debian " + f.read().strip()
    except OSError:
        debian = platform.platform()
    return f"{model}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, {debian}, Linux {platform.release()}"


def load_average():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


# ------------------------------------------------------------------ cells


def cells_of(results):
    """{(keepalive, connections, page): {backend: merged figures}}, in the
    order measured; with several rounds each figure is the median over the
    rounds, and errors and timeouts are summed."""
    grouped = {}
    for r in results:
        grouped.setdefault((r["keepalive"], r["connections"], r["page"]), {}).setdefault(
            r["backend"], []).append(r)
    cells = {}
    for key, by_backend in grouped.items():
        cells[key] = {}
        for backend, runs in by_backend.items():
            merged = {k: statistics.median(run[k] for run in runs)
                      for k in ("rate", "p50_ms", "p99_ms", "p999_ms", "max_ms", "rss_mib", "pss_mib",
                                "mc_cmds", "mc_conns", "load", "cpu_us", "nginx_cpu_us")}
            for k in ("requests", "errors", "timeouts", "non2xx", "nginx_errors"):
                merged[k] = sum(run[k] for run in runs)
            merged["rounds"] = len(runs)
            merged["procs"] = runs[-1]["procs"]
            cells[key][backend] = merged
    return cells


def ms(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def keepalive_label(ka):
    return "none (keep_conn off)" if ka == "none" else str(ka)


def detail_table(cells):
    lines = ["| nginx keepalive | conns | page | backend | req/s | x php-fpm | x floor | p50 ms | p99 ms "
             "| p99.9 ms | errors | timeouts | CPU µs/req | nginx CPU µs/req | RSS MiB (procs) | PSS MiB | mc cmds/req "
             "| mc conns/req | load |",
             "|" + " --- |" * 19]
    for (ka, conns, page), by_backend in cells.items():
        php = by_backend.get("php-fpm", {}).get("rate")
        floor = by_backend.get("floor", {}).get("rate")
        for b in [b for b in BACKEND_ORDER if b in by_backend]:
            f = by_backend[b]
            lines.append(
                f"| {keepalive_label(ka)} | {conns} | {page} | {b} | {f['rate']:,.0f} | {ratio(f['rate'], php)} "
                f"| {ratio(f['rate'], floor)} | {ms(f['p50_ms'])} | {ms(f['p99_ms'])} | {ms(f['p999_ms'])} "
                f"| {f['errors']} | {f['timeouts']} | {f['cpu_us']:.0f} | {f['nginx_cpu_us']:.0f} "
                f"| {f['rss_mib']:.0f} ({f['procs']}) | {f['pss_mib']:.0f} "
                f"| {f['mc_cmds']:.2f} | {f['mc_conns']:.2f} | {f['load']:.1f} |")
    return "\n".join(lines)


def summary_table(cells):
    """One row per cell: cppfpm against php-fpm and the floor."""
    lines = ["| nginx keepalive | conns | page | cppfpm req/s (x php-fpm, x floor) | p99 ms cppfpm / php-fpm "
             "/ floor | p50 / p99.9 ms cppfpm | errors + timeouts cppfpm / php-fpm | CPU µs/req cppfpm / php-fpm "
             "| RSS MiB cppfpm / php-fpm |",
             "|" + " --- |" * 9]
    for (ka, conns, page), by in cells.items():
        c, p, fl = by.get("cppfpm"), by.get("php-fpm"), by.get("floor")

        def get(f, k):
            return f[k] if f else None

        rate = f"{c['rate']:,.0f}" if c else "-"
        lines.append(
            f"| {keepalive_label(ka)} | {conns} | {page} "
            f"| {rate} ({ratio(get(c, 'rate'), get(p, 'rate'))}x, {ratio(get(c, 'rate'), get(fl, 'rate'))}x) "
            f"| {ms(get(c, 'p99_ms'))} / {ms(get(p, 'p99_ms'))} / {ms(get(fl, 'p99_ms'))} "
            f"| {ms(get(c, 'p50_ms'))} / {ms(get(c, 'p999_ms'))} "
            f"| {errs(c)} / {errs(p)} "
            f"| {cpu(c)} / {cpu(p)} "
            f"| {ms(get(c, 'rss_mib'))} / {ms(get(p, 'rss_mib'))} |")
    return "\n".join(lines)


def cpu(f):
    return f"{f['cpu_us']:.0f}" if f else "-"


def errs(f):
    return f"{f['errors'] + f['timeouts']}" if f else "-"


def write_markdown(path, header, cells, odd, notes):
    with open(path, "w") as f:
        f.write("# cppfpm benchmark\n\n")
        f.write("\n".join(f"- {h}" for h in header) + "\n\n")
        f.write("## Summary: cppfpm against php-fpm and the floor\n\n")
        f.write(summary_table(cells) + "\n\n")
        f.write("## Every backend\n\n")
        f.write(detail_table(cells) + "\n\n")
        f.write("""- req/s: requests wrk completed (any status) per second. x php-fpm, x floor: this row's
  req/s over php-fpm's and the floor's in the same cell of the same run.
- p50/p99/p99.9: wrk's latency percentiles (requests that timed out are not in them).
- errors: non-2xx answers plus wrk's connect, read and write errors, plus lines nginx wrote
  to its error log during the cell; timeouts: requests with no answer within 2 s.
- CPU µs/req: CPU time (user + system) the backend's processes used during the cell over the
  requests served; nginx CPU µs/req the same for nginx. Other work on the machine slows
  every backend's req/s but hardly changes this.
- RSS: summed VmRSS of the backend's master and children at the end of the cell (shared
  pages counted in each process, as ps users add them up); PSS shares them out.
- mc cmds/req, mc conns/req: memcached commands (get, set, add, delete, incr...) and new
  memcached connections per request, from memcached's stats around the cell.
- load: the 1-minute load average at the end of the cell (other work on the machine).
""")
        if odd:
            f.write("\n## Odd answers\n\n" + "\n".join(f"- {o}" for o in odd) + "\n")
        if notes:
            f.write("\n## Backend logs (warnings and errors)\n\n```\n" + "\n".join(notes) + "\n```\n")


# ------------------------------------------------------------------ chart


def write_chart(out_dir, cells, title):
    """chart.png: req/s, p99 (log scale) and the backend's CPU time per
    request, per cell, one bar per backend. Returns the PNG's path."""
    data = os.path.join(out_dir, "chart.dat")
    backends = [b for b in BACKEND_ORDER if any(b in by for by in cells.values())]
    columns = ("rate", "p99_ms", "cpu_us")
    with open(data, "w") as f:
        f.write("# cell " + " ".join(f"{b}_{c}" for c in columns for b in backends) + "\n")
        for (ka, conns, page), by in cells.items():
            values = []
            for c in columns:
                for b in backends:
                    v = by[b][c] if b in by else None
                    values.append("?" if v is None else f"{max(v, 0.01):.3f}")
            f.write(f'"ka {ka} c{conns} {page}" ' + " ".join(values) + "\n")
    n = len(backends)
    colours = {"php-fpm": "#7a86b8", "cppfpm": "#e07b39", "floor": "#9e9e9e"}

    def plot(column_index):
        first = 2 + column_index * n
        return "plot " + ", ".join(
            f"'{data}' using {first + i}{':xtic(1)' if i == 0 else ''} title '{b}' lc rgb '{colours[b]}'"
            for i, b in enumerate(backends))

    width = max(900, 60 * len(cells) + 200)
    png = os.path.join(out_dir, "chart.png")
    script = os.path.join(out_dir, "chart.gp")
    with open(script, "w") as f:
        f.write(f"""set terminal pngcairo size {width},1500 font "sans,10"
set output '{png}'
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set key outside top center horizontal
set grid ytics
set xtics rotate by -50 scale 0 font "sans,8" nomirror
set multiplot layout 3,1 title "{title}"
set ylabel "req/s (higher is better)"
set yrange [0:*]
{plot(0)}
set logscale y
set yrange [*:*]
set ylabel "p99 ms, log scale (lower is better;\\ntimed-out requests not counted)"
{plot(1)}
unset logscale y
set yrange [0:*]
set ylabel "backend CPU µs per request\\n(lower is better)"
{plot(2)}
unset multiplot
""")
    subprocess.run(["gnuplot", script], check=True, capture_output=True, text=True)
    return png
