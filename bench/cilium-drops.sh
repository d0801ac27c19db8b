#!/usr/bin/env bash
# Measures the Cilium drop checks (MD411, MD415) on a bundle whose node
# folder holds N compact `hubble observe` drop lines (the cni package's
# drops_bundle with its flows file replaced). Wall time and peak RSS should
# grow linearly with N.
# Usage: bench/cilium-drops.sh [N...]   (default: 50000 200000)
# Env:   CACHE=/tmp/meshdoctor-drops
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(50000 200000)
cache=${CACHE:-/tmp/meshdoctor-drops}
mkdir -p "$cache"
bin="$cache/meshdoctor"
# Built, then copied: a file the Go linker has just written maps ~15-20 MB
# more resident memory than a copy of it (see bench/ab.sh).
go build -o "$bin.new" ./cmd/meshdoctor
cp "$bin.new" "$bin" && rm "$bin.new"

printf '| drop lines | file | wall | peak RSS | findings |\n|---|---|---|---|---|\n'
for n in "${sizes[@]}"; do
  dir="$cache/bundle-$n"
  if [ ! -d "$dir" ]; then
    cp -r internal/analyzers/cni/testdata/drops_bundle "$dir"
    awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "Mar  2 09:58:%02d.%03d: 10.244.1.7:%d (world) -> shop/api-1:8080 (ID:23456) Policy denied DROPPED (TCP Flags: SYN)\n", i % 60, i % 1000, 10000 + i % 50000 }' \
      > "$dir/cilium/node-c1/hubble-observe.txt"
  fi
  size=$(du -h "$dir/cilium/node-c1/hubble-observe.txt" | cut -f1)
  out=$( { /usr/bin/time -f '%e %M' "$bin" analyze "$dir" --check MD411,MD415 -o json --fail-on none > "$cache/out.json"; } 2>&1 | tail -1)
  nfind=$(grep -o '"fingerprint":' "$cache/out.json" | wc -l)
  printf '| %s | %s | %s s | %s MB | %s |\n' "$n" "$size" "${out% *}" "$(( ${out#* } / 1024 ))" "$nfind"
done
