"""Renders benches/load/instructions.sh's rows: per connection count and encoding, our
server's and the static baseline's syscalls, context switches, CPU time (perf stat) and
user-space instructions (callgrind) per request, and ours ÷ baseline.
Usage: instructions_table.py ROWS"""
import sys
from collections import defaultdict

perf = defaultdict(dict)  # (conns, enc) -> {server: (syscalls, switches, cpu µs) per request}
instr = defaultdict(dict)  # (conns, enc) -> {server: instructions per request}
for line in open(sys.argv[1]):
    r = line.rstrip("\n").split("\t")
    kind, server, conns, enc, reqs = r[0], r[1], int(r[2]), r[3], int(r[4] or 0)
    if not reqs:
        continue
    if kind == "perf":
        sys_, cs, clock_ms = float(r[5]), float(r[6]), float(r[7])
        perf[(conns, enc)][server] = (sys_ / reqs, cs / reqs, clock_ms * 1000 / reqs)
    else:
        instr[(conns, enc)][server] = float(r[5]) / reqs


def ratio(a, b):
    return f"{a / b:.3f}" if b else "—"


print("Per request, ours and the baseline (perf stat while a wrk cell runs):")
print()
print("| connections | encoding | syscalls | context switches | CPU µs | CPU ours ÷ baseline |")
print("|---:|---|---:|---:|---:|---:|")
for (conns, enc), s in sorted(perf.items()):
    if "ours" not in s or "baseline" not in s:
        continue
    o, b = s["ours"], s["baseline"]
    print(
        f"| {conns} | {enc} | {o[0]:.2f} / {b[0]:.2f} | {o[1]:.3f} / {b[1]:.3f} "
        f"| {o[2]:.2f} / {b[2]:.2f} | {ratio(o[2], b[2])} |"
    )
print()
print("User-space instructions per request (callgrind; exact, whatever the machine's load):")
print()
print("| connections | encoding | ours | baseline | ours − baseline | ours ÷ baseline |")
print("|---:|---|---:|---:|---:|---:|")
for (conns, enc), s in sorted(instr.items()):
    if "ours" not in s or "baseline" not in s:
        continue
    o, b = s["ours"], s["baseline"]
    print(f"| {conns} | {enc} | {o:,.0f} | {b:,.0f} | {o - b:+,.0f} | {ratio(o, b)} |")
