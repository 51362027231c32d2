"""Renders benches/load/scale.sh's cells as the growth table: per size and build, the
median over rounds (min-max when there are several) of CPU per publish, RSS, peak RSS
and /metrics requests/s, plus body sizes and the full ÷ incremental ratios.
Usage: scale_table.py CELLS WRK_ROWS"""
import statistics
import sys
from collections import defaultdict

cells_path, rows_path = sys.argv[1], sys.argv[2]
cells = defaultdict(list)
for line in open(cells_path):
    if not line.strip():
        continue
    size, mode, n, cpu, changes, rss, hwm, text, text_gz, om, om_gz = line.rstrip("\n").split("\t")
    cells[(int(size), mode)].append(
        dict(n=int(n), cpu=float(cpu), changes=float(changes), rss=int(rss), hwm=int(hwm),
             text=int(text), text_gz=int(text_gz), om=int(om), om_gz=int(om_gz)))
rps = defaultdict(list)
for line in open(rows_path):
    r = line.rstrip("\n").split("\t")
    if len(r) > 3 and r[1] == "16":
        rps[(r[0], r[2])].append(float(r[3] or 0))


def med(values, fmt):
    m = statistics.median(values)
    if len(values) > 1:
        return f"{fmt(m)} ({fmt(min(values))}–{fmt(max(values))})"
    return fmt(m)


def mb(b):
    return f"{b / 1e6:.2f}" if b < 1e8 else f"{b / 1e6:.0f}"


def mib(kb):
    return f"{kb / 1024:.0f}"


def ms(v):
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def num(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


print("| series | build | CPU per publish, ms | changes per publish | RSS, MiB | peak RSS, MiB | body 0.0.4 plain / gzip, MB | req/s plain | req/s gzip | MB/s plain / gzip |")
print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
sizes = sorted({s for s, _ in cells})
for size in sizes:
    for mode in ["full", "incremental"]:
        cs = cells.get((size, mode))
        if not cs:
            continue
        plain = rps.get((f"{mode}/{size}", "plain"), [0])
        gz = rps.get((f"{mode}/{size}", "gzip"), [0])
        last = cs[-1]
        rate = f"{statistics.median(plain) * last['text'] / 1e6:,.0f} / {statistics.median(gz) * last['text_gz'] / 1e6:,.0f}"
        print(f"| {size:,} | {mode} | {med([c['cpu'] for c in cs], ms)} | {statistics.median([c['changes'] for c in cs]):.2f} "
              f"| {med([c['rss'] for c in cs], mib)} | {med([c['hwm'] for c in cs], mib)} "
              f"| {mb(last['text'])} / {mb(last['text_gz'])} | {med(plain, num)} | {med(gz, num)} | {rate} |")

print()
print("| series | CPU per publish, full ÷ incremental | RSS, incremental ÷ full | peak RSS, incremental ÷ full | req/s plain, incremental ÷ full | req/s gzip, incremental ÷ full |")
print("|---:|---:|---:|---:|---:|---:|")
for size in sizes:
    f, i = cells.get((size, "full")), cells.get((size, "incremental"))
    if not f or not i:
        continue
    m = lambda cs, k: statistics.median([c[k] for c in cs])
    r = lambda mode, enc: statistics.median(rps.get((f"{mode}/{size}", enc), [0]))
    ratio = lambda a, b: f"{a / b:.2f}×" if b else "—"
    print(f"| {size:,} | {ratio(m(f, 'cpu'), m(i, 'cpu'))} | {ratio(m(i, 'rss'), m(f, 'rss'))} | {ratio(m(i, 'hwm'), m(f, 'hwm'))} "
          f"| {ratio(r('incremental', 'plain'), r('full', 'plain'))} | {ratio(r('incremental', 'gzip'), r('full', 'gzip'))} |")
