#!/usr/bin/env bash
# Measures offline analysis when nearly every namespace has a finding: N
# namespaces, each with a Service pair that splits one pod port between
# two protocols and a Gateway sharing one TLS host with every other
# namespace, so the run reports thousands of findings and locates each in
# its document. Wall time and peak RSS should grow linearly with N.
# Usage: bench/many-findings.sh [N...]   (default: 2000 8000)
# Env:   RUNS=3, CACHE=/tmp/meshdoctor-many
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(2000 8000)
runs=${RUNS:-3}
cache=${CACHE:-/tmp/meshdoctor-many}
mkdir -p "$cache"
bin="$cache/meshdoctor"
# Built, then copied: a file the Go linker has just written maps ~15-20 MB
# more resident memory than a copy of it (see bench/ab.sh).
go build -o "$bin.new" ./cmd/meshdoctor
cp "$bin.new" "$bin" && rm "$bin.new"

gen() { # gen N FILE
  local n=$1 i ns
  for ((i = 0; i < n; i++)); do
    ns=$(printf 'team-%05d' "$i")
    cat <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: $ns}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: $ns}
spec:
  selector: {app: web}
  ports: [{name: http-web, port: 8080, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-raw, namespace: $ns}
spec:
  selector: {app: web}
  ports: [{name: tcp-web, port: 8080, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: $ns, labels: {app: web}}
spec:
  containers: [{name: web, image: web:1, ports: [{containerPort: 8080}]}]
status: {phase: Running, podIP: 10.$((i / 250)).$((i % 250)).5}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: $ns}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [shared.example.com]
    tls: {mode: SIMPLE, credentialName: shared-cert}
---
YAML
  done > "$2"
}

printf '| namespaces | findings | wall (median of %s) | user CPU (median) | peak RSS |\n|---|---|---|---|---|\n' "$runs"
for n in "${sizes[@]}"; do
  dir="$cache/ns-$n"
  if [ ! -f "$dir/all.yaml" ]; then
    mkdir -p "$dir"
    gen "$n" "$dir/all.yaml"
  fi
  walls=() users=() rss=0
  for _ in $(seq "$runs"); do
    out=$( { /usr/bin/time -f '%e %U %M' "$bin" analyze "$dir" -o json --fail-on none > "$cache/out.json"; } 2>&1 | tail -1)
    read -r w u r <<< "$out"
    walls+=("$w") users+=("$u")
    [ "$r" -gt "$rss" ] && rss=$r
  done
  mid=$(( (runs + 1) / 2 ))
  wall=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "${mid}p")
  user=$(printf '%s\n' "${users[@]}" | sort -n | sed -n "${mid}p")
  nfind=$(grep -o '"fingerprint":' "$cache/out.json" | wc -l)
  printf '| %s | %s | %s s | %s s | %s MB |\n' "$n" "$nfind" "$wall" "$user" "$((rss / 1024))"
done
