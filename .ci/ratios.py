#!/usr/bin/env python3
"""The README's ratio table from a BenchmarkCopy output file (see .ci/bench).

    python3 .ci/ratios.py bench-20261121-224349.txt

Each cell is median(io.Copy ns/op) / median(splice.Copy ns/op), and in brackets
median(raw ns/op) / median(splice.Copy ns/op): above 1, splice.Copy is faster.
The lowest io.Copy ratios go to stderr.
"""
import re, sys, statistics, collections
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r'BenchmarkCopy/(\S+?)/size=(\S+?)/impl=(\S+?)-\d+\s+\d+\s+([\d.]+) ns/op', line)
    if m:
        d[(m.group(1), m.group(2), m.group(3))].append(float(m.group(4)))
pairs = []
for (p, s, i) in d:
    if p not in pairs: pairs.append(p)
sizes = ["1B", "512B", "4KiB", "64KiB", "1MiB", "64MiB"]
print("| pair | " + " | ".join(sizes) + " |")
print("|---|" + "---|" * len(sizes))
low = []
for p in pairs:
    cells = []
    for s in sizes:
        io_, sp, raw = (d.get((p, s, k)) for k in ("io.Copy", "splice.Copy", "raw"))
        if not io_ or not sp:
            cells.append("")
            continue
        r = statistics.median(io_) / statistics.median(sp)
        c = f"{r:.2f}×"
        if raw:
            c += f" ({statistics.median(raw) / statistics.median(sp):.2f})"
        cells.append(c)
        low.append((r, p, s, len(io_)))
    print(f"| {p} | " + " | ".join(cells) + " |")
low.sort()
print("\nlowest io.Copy/splice.Copy:", ", ".join(f"{p} {s} {r:.2f} (n={n})" for r, p, s, n in low[:8]), file=sys.stderr)

# Throughput at the big sizes: median MB/s (10^6 bytes/s, as testing.B reports
# it) of each implementation, and Copy's share of the raw ceiling's.
sizebytes = {"1MiB": 1 << 20, "64MiB": 64 << 20}
for s, nbytes in sizebytes.items():
    print(f"\n{s}: MB/s, medians")
    print("| pair | io.Copy | splice.Copy | raw | Copy/io.Copy | Copy/raw |")
    print("|---|---|---|---|---|---|")
    for p in pairs:
        med = {k: statistics.median(d[(p, s, k)]) for k in ("io.Copy", "splice.Copy", "raw") if d.get((p, s, k))}
        if "splice.Copy" not in med or "io.Copy" not in med:
            continue
        mbs = {k: nbytes / v * 1e3 for k, v in med.items()}  # ns/op -> MB/s
        raw = f"{mbs['raw']:.0f}" if "raw" in mbs else ""
        share = f"{mbs['splice.Copy'] / mbs['raw']:.2f}" if "raw" in mbs else ""
        print(f"| {p} | {mbs['io.Copy']:.0f} | {mbs['splice.Copy']:.0f} | {raw} | {mbs['splice.Copy'] / mbs['io.Copy']:.2f}× | {share} |")
