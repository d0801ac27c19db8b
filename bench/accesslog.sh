#!/usr/bin/env bash
# Measures access-log scanning (internal/accesslog) against the usual
# one-liners on the same generated files: Istio TEXT against `wc -l` and a
# one-field mawk count, Istio JSON against `wc -l` and `jq -c .response_flags`.
# Runs are interleaved (tool after tool, RUNS rounds) so that load from other
# work on the machine hits every tool alike; the table shows the best run.
# With GZIP=1 (the default) the TEXT file is also gzipped once (gzip -1) and
# the scan of the .gz is timed against `gzip -dc` alone: the decompressor is
# the floor there.
# Usage: bench/accesslog.sh [SIZE]       (default 1G; K, M, G suffixes)
# Env:   RUNS=3, CACHE=/tmp/meshdoctor-accesslog, FORMATS="text json", GZIP=1
set -euo pipefail
cd "$(dirname "$0")/.."

size=${1:-1G}
runs=${RUNS:-3}
cache=${CACHE:-/tmp/meshdoctor-accesslog}
formats=${FORMATS:-text json}
gz=${GZIP:-1}
mkdir -p "$cache"
for tool in mawk jq /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "accesslog.sh: $tool is needed (apt-get install mawk jq time)" >&2; exit 2; }
done

go build -o "$cache/genaccesslog" ./bench/genaccesslog
go build -o "$cache/accesslogscan" ./bench/accesslogscan

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# run NAME CMD...: one timed run; appends "seconds peakKB" to $cache/NAME.times
run() {
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$cache/$name.one" "$@" >"$cache/$name.out"
  cat "$cache/$name.one" >>"$cache/$name.times"
}

best() { sort -n "$cache/$1.times" | head -1; }

for fmt in $formats; do
  file="$cache/istio-$fmt-$size.log"
  [ -f "$file" ] || "$cache/genaccesslog" -size "$size" -format "$fmt" -out "$file"
  bytes=$(stat -c %s "$file")
  cat "$file" >/dev/null # into the page cache for every tool alike
  names=(wc meshdoctor)
  if [ "$fmt" = text ]; then names+=(mawk); else names+=(jq); fi
  if [ "$fmt" = text ] && [ "$gz" = 1 ]; then
    [ -f "$file.gz" ] || gzip -1 -c "$file" >"$file.gz"
    cat "$file.gz" >/dev/null
    names+=(meshdoctor-gz gunzip)
  fi
  for n in "${names[@]}"; do rm -f "$cache/$fmt-$n.times"; done
  for _ in $(seq "$runs"); do
    run "$fmt-wc" wc -l "$file"
    run "$fmt-meshdoctor" "$cache/accesslogscan" -top 3 "$file"
    if [ "$fmt" = text ]; then
      run "$fmt-mawk" mawk '{c[$6]++} END{for(k in c) print k, c[k]}' "$file"
    else
      run "$fmt-jq" sh -c 'jq -c .response_flags "$1" >/dev/null' sh "$file"
    fi
    if [ "$fmt" = text ] && [ "$gz" = 1 ]; then
      run "$fmt-meshdoctor-gz" "$cache/accesslogscan" -top 3 "$file.gz"
      run "$fmt-gunzip" sh -c 'gzip -dc "$1" >/dev/null' sh "$file.gz"
    fi
  done
  echo
  echo "Istio $fmt: $((bytes / 1000000)) MB, $(cut -d' ' -f1 "$cache/$fmt-wc.out") lines; best of $runs interleaved runs"
  ms=$(best "$fmt-meshdoctor" | cut -d' ' -f1)
  printf '| tool | best time | throughput | its time / meshdoctor'"'"'s | peak RSS |\n|---|---|---|---|---|\n'
  for n in "${names[@]}"; do
    read -r secs kb < <(best "$fmt-$n")
    ref=$ms # the gunzip row compares with the scan of the .gz
    [ "$n" = gunzip ] && ref=$(best "$fmt-meshdoctor-gz" | cut -d' ' -f1)
    python3 - "$n" "$secs" "$kb" "$bytes" "$ref" <<'EOF'
import sys
name, secs, kb, size, ms = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
label = {"wc": "`wc -l`", "mawk": "`mawk '{c[$6]++} END{...}'`", "jq": "`jq -c .response_flags`", "meshdoctor": "meshdoctor `accesslog.Scan`",
         "meshdoctor-gz": "meshdoctor `accesslog.Scan`, the file gzipped (-1)", "gunzip": "`gzip -dc` of that file"}[name]
ratio = "—" if name.startswith("meshdoctor") else f"{secs / ms:.2f}×"
print(f"| {label} | {secs:.2f} s | {size / secs / 1e9:.2f} GB/s | {ratio} | {kb // 1024} MB |")
EOF
  done
  echo "meshdoctor: $(grep -m1 '^lines' "$cache/$fmt-meshdoctor.out")"
  echo "(throughput is of the uncompressed bytes, the .gz rows too)"
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
