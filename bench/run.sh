#!/usr/bin/env bash
# Measures offline analysis end to end: wall time and peak RSS of
# `meshdoctor analyze DIR -o json` on generated snapshots of growing size.
# Usage: bench/run.sh [SIZES...]   (default: 5000 20000 50000)
# Env:   PROFILE=full|compact (generator profile, default full), RUNS=3,
#        FORMAT=yaml|json (default yaml), CACHE=/tmp/meshdoctor-bench
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(5000 20000 50000)
profile=${PROFILE:-full}
runs=${RUNS:-3}
format=${FORMAT:-yaml}
cache=${CACHE:-/tmp/meshdoctor-bench}
mkdir -p "$cache"

bin="$cache/meshdoctor"
# Built, then copied: a file the Go linker has just written maps ~15-20 MB
# more resident memory than a copy of it (see bench/ab.sh).
go build -o "$bin.new" ./cmd/meshdoctor
cp "$bin.new" "$bin" && rm "$bin.new"
go build -o "$cache/gen" ./bench/gen

printf '| objects | input | files | wall (median of %s) | peak RSS | findings |\n|---|---|---|---|---|---|\n' "$runs"
for n in "${sizes[@]}"; do
  dir="$cache/snap-$n-$profile-$format"
  if [ ! -f "$dir/DEFECTS.txt" ]; then
    "$cache/gen" -objects "$n" -out "$dir" -profile "$profile" -format "$format" -defects 20 2>/dev/null
  fi
  bytes=$(du -sb "$dir" | cut -f1)
  files=$(find "$dir" -name "*.$format" | wc -l)
  walls=()
  rss=0
  for _ in $(seq "$runs"); do
    out=$( { /usr/bin/time -f '%e %M' "$bin" analyze "$dir" -o json --fail-on none > "$cache/out.json"; } 2>&1 | tail -1)
    walls+=("${out% *}")
    r=${out#* }
    [ "$r" -gt "$rss" ] && rss=$r
  done
  median=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  nfind=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$cache/out.json")
  objs=$(grep -m1 '"objects":' "$cache/out.json" | tr -dc '0-9')
  printf '| %s | %s MB | %s | %s s | %s MB | %s |\n' "$objs" "$((bytes / 1000000))" "$files" "$median" "$((rss / 1024))" "$nfind"
done
