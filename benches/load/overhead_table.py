"""Renders benches/load/overhead.sh's wrk rows (names `server#round`): per connection
count and encoding, each server's median req/s over rounds, and the median (min–max) of
the per-round ratios against the static baseline and, when present, against `before`;
then the same for the server's CPU time per scrape (the figure a busy shared machine
disturbs least: time spent waiting for a core is not in it).
Usage: overhead_table.py ROWS SERVER [SERVER ...]   (ours first, then baseline, then before)"""
import statistics
import sys
from collections import defaultdict

rows_path, servers = sys.argv[1], sys.argv[2:]
rps = defaultdict(dict)  # (conns, enc) -> {(server, round): req/s}
cpu = defaultdict(dict)  # (conns, enc) -> {(server, round): CPU µs per scrape}
for line in open(rows_path):
    r = line.rstrip("\n").split("\t")
    if len(r) < 7:
        continue
    server, rnd = r[0].split("#")
    rps[(int(r[1]), r[2])][(server, int(rnd))] = float(r[3] or 0)
    if r[6]:
        cpu[(int(r[1]), r[2])][(server, int(rnd))] = float(r[6]) * 1000


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"


def ratios(cell, a, b):
    rounds = sorted({rnd for (_, rnd) in cell})
    return [cell[(a, r)] / cell[(b, r)] for r in rounds if cell.get((a, r)) and cell.get((b, r))]


def table(data, unit, fmt, cols):
    head = "| connections | encoding | " + " | ".join(f"{s} {unit}" for s in servers)
    sep = "|---:|---|" + "---:|" * len(servers)
    head += " | " + " | ".join(f"{a} ÷ {b}" for a, b in cols) + " |"
    sep += "---:|" * len(cols)
    print(head)
    print(sep)
    for (conns, enc) in sorted(data, key=lambda k: (k[0], k[1] != "plain")):
        cell = data[(conns, enc)]
        line = f"| {conns} | {enc} | "
        line += " | ".join(
            fmt(statistics.median([v for (s, _), v in cell.items() if s == srv] or [0])) for srv in servers)
        line += " | " + " | ".join(spread(ratios(cell, a, b)) for a, b in cols) + " |"
        print(line)


# Throughput: above 1 is faster than the other. CPU: below 1 is cheaper than the other.
cols = [("ours", "baseline")]
if "before" in servers:
    cols += [("before", "baseline"), ("ours", "before")]
print("Requests per second (higher is better):")
print()
table(rps, "req/s", lambda v: f"{v:,.0f}", cols)
print()
print("Server CPU time per scrape, µs (lower is better):")
print()
table(cpu, "µs", lambda v: f"{v:.2f}", cols)
