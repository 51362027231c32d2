"""Renders benches/load/instructions.sh's rows: per connection count and encoding, our
server's and the static baseline's syscalls, context switches, CPU time (perf stat),
user share of CPU time (/proc) and user-space instructions (callgrind) per request, and
ours ÷ baseline. The last column estimates what our extra instructions cost in CPU: the
excess as a fraction of the baseline's user-space instructions, times the baseline's
user share of its CPU time (so it assumes our extra code runs at the speed of the
rest of user space).
Usage: instructions_table.py ROWS"""
import sys
from collections import defaultdict

perf = defaultdict(dict)  # (conns, enc) -> {server: (syscalls, switches, cpu µs) per request}
instr = defaultdict(dict)  # (conns, enc) -> {server: instructions per request}
user_share = defaultdict(dict)  # (conns, enc) -> {server: user ÷ (user + system) CPU}
for line in open(sys.argv[1]):
    r = line.rstrip("\n").split("\t")
    kind, server, conns, enc, reqs = r[0], r[1], int(r[2]), r[3], int(r[4] or 0)
    if not reqs:
        continue
    if kind == "split":
        user, system = int(r[5]), int(r[6])
        if user + system:
            user_share[(conns, enc)][server] = user / (user + system)
    elif kind == "perf":
        sys_, cs, clock_ms = float(r[5]), float(r[6]), float(r[7])
        perf[(conns, enc)][server] = (sys_ / reqs, cs / reqs, clock_ms * 1000 / reqs)
    else:
        instr[(conns, enc)][server] = float(r[5]) / reqs


def ratio(a, b):
    return f"{a / b:.3f}" if b else "—"


print("Per request, ours and the baseline (perf stat while a wrk cell runs):")
print()
print(
    "| connections | encoding | syscalls | context switches | CPU µs | CPU ours ÷ baseline "
    "| user share of CPU |"
)
print("|---:|---|---:|---:|---:|---:|---:|")
for (conns, enc), s in sorted(perf.items()):
    if "ours" not in s or "baseline" not in s:
        continue
    o, b = s["ours"], s["baseline"]
    u = user_share.get((conns, enc), {})
    share = f"{u['ours']:.2f} / {u['baseline']:.2f}" if "ours" in u and "baseline" in u else "—"
    print(
        f"| {conns} | {enc} | {o[0]:.2f} / {b[0]:.2f} | {o[1]:.3f} / {b[1]:.3f} "
        f"| {o[2]:.2f} / {b[2]:.2f} | {ratio(o[2], b[2])} | {share} |"
    )
print()
print("User-space instructions per request (callgrind; exact, whatever the machine's load):")
print()
print(
    "| connections | encoding | ours | baseline | ours − baseline | ours ÷ baseline "
    "| ≈ CPU ours ÷ baseline |"
)
print("|---:|---|---:|---:|---:|---:|---:|")
for (conns, enc), s in sorted(instr.items()):
    if "ours" not in s or "baseline" not in s:
        continue
    o, b = s["ours"], s["baseline"]
    share = user_share.get((conns, enc), {}).get("baseline")
    cpu = f"{1 + (o - b) / b * share:.3f}" if share is not None else "—"
    print(f"| {conns} | {enc} | {o:,.0f} | {b:,.0f} | {o - b:+,.0f} | {ratio(o, b)} | {cpu} |")
