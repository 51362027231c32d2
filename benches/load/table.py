"""Renders wrk rows (see lib.sh wrk_cell) as a markdown table with ratios against ours.
Usage: table.py ROWS OURS SERVER [SERVER ...]. A cell missing from ROWS is skipped."""
import re
import sys

rows_path, ours, servers = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = [l.rstrip("\n").split("\t") for l in open(rows_path) if l.strip()]
by = {(r[0], r[1], r[2]): r for r in rows}
has_db = any(len(r) > 8 and r[8] for r in rows if r[0] in servers)


def ms(s):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", s or "")
    if not m:
        return "—"
    v, u = float(m.group(1)), m.group(2)
    return f"{v / 1000 if u == 'us' else v * 1000 if u == 's' else v * 60000 if u == 'm' else v:.3f}"


head = "| connections | encoding | server | req/s | p50 ms | p99 ms | CPU s / 1k scrapes |"
sep = "|---|---|---|---:|---:|---:|---:|"
if has_db:
    head += " Postgres CPU s / 1k scrapes |"
    sep += "---:|"
print(head + " ours ÷ this (req/s) |")
print(sep + "---:|")
conns_seen = sorted({r[1] for r in rows}, key=int)
for conns in conns_seen:
    for enc in ["plain", "gzip", "paced"]:
        if (ours, conns, enc) not in by:
            continue
        base = float(by[(ours, conns, enc)][3])
        for name in servers:
            r = by.get((name, conns, enc))
            if r is None:
                continue
            rps = float(r[3] or 0)
            ratio = "—" if name == ours else (f"{base / rps:,.2f}×" if rps else "∞ (no answer)")
            err = f" ({r[7].strip()})" if len(r) > 7 and r[7].strip() else ""
            cpu = f"{float(r[6]):.4f}" if r[6] else "—"
            line = f"| {conns} | {enc} | {name}{err} | {rps:,.0f} | {ms(r[4])} | {ms(r[5])} | {cpu} |"
            if has_db:
                line += f" {r[8] if len(r) > 8 and r[8] else '—'} |"
            print(line + f" {ratio} |")
