#!/usr/bin/env bash
# Compares meshdoctor binaries on one input, runs interleaved (A B A B ...)
# so that the machine's drift hits every binary alike. Prints, per binary,
# the minimum and median wall time and CPU (user+sys), and the peak RSS range.
# Usage: bench/ab.sh DIR RUNS BINARY...   e.g. bench/ab.sh /tmp/meshdoctor-bench/snap-50000-compact-yaml 5 /tmp/old /tmp/new
set -euo pipefail
dir=$1 runs=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Each binary runs from a copy: a file the Go linker has just written keeps
# page-cache pages that map ~15-20 MB more resident memory than a copy of
# the same file, so peak RSS would depend on how recently it was built.
for i in $(seq $#); do
  cp "${!i}" "$tmp/bin-$i"
done
for _ in $(seq "$runs"); do
  for i in $(seq $#); do
    bin=$tmp/bin-$i
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/t" "$bin" analyze "$dir" -o json --fail-on none > "$tmp/out-$i.json"
    cat "$tmp/t" >> "$tmp/times-$i"
  done
done
printf '| binary | wall min / median | CPU min / median | peak RSS | findings |\n|---|---|---|---|---|\n'
for i in $(seq $#); do
  bin=${!i}
  nfind=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$tmp/out-$i.json")
  python3 - "$bin" "$nfind" "$tmp/times-$i" <<'PY'
import sys, statistics
name, nf, path = sys.argv[1:]
rows = [list(map(float, l.split())) for l in open(path) if l.strip()]
wall = sorted(r[0] for r in rows)
cpu = sorted(r[1] + r[2] for r in rows)
rss = sorted(r[3] / 1024 for r in rows)
med = lambda v: v[(len(v) - 1) // 2]
print(f"| {name} | {wall[0]:.2f} / {med(wall):.2f} s | {cpu[0]:.2f} / {med(cpu):.2f} s | {rss[0]:.0f}–{rss[-1]:.0f} MB | {nf} |")
PY
done
