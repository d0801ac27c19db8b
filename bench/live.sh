#!/usr/bin/env bash
# Measures live analysis end to end (issue 4): for each size, a fresh
# envtest kube-apiserver + etcd is loaded with a bench/gen snapshot (Istio
# CRDs installed, namespaces first, status through the status subresource),
# then the built binary runs
#   meshdoctor analyze --kubeconfig K -o json --fail-on none --read-secrets -v
# and its wall time, peak RSS and API requests are compared with one LIST page
# per 500 objects per needed kind. The work is done by TestLiveBench
# (test/live/bench_test.go); this script runs it and prints its table.
# Usage: bench/live.sh [SIZES...]   (default: 8000 25000 64000)
# Env:   RUNS=3 (analyses per size), WORKERS=12 (concurrent creates),
#        CACHE=/tmp/meshdoctor-bench (snapshots, shared with bench/run.sh),
#        PROFILE_DIR=DIR (also one in-process run per size with CPU and
#        allocation profiles written to DIR)
# Needs the control-plane binaries: hack/install-test-binaries.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(8000 25000 64000)
out=$(mktemp)
log=$(mktemp)
trap 'rm -f "$out" "$log"' EXIT

spec=$(IFS=,; echo "${sizes[*]}")
if ! MESHDOCTOR_LIVE_BENCH="$spec" \
  MESHDOCTOR_LIVE_BENCH_RUNS="${RUNS:-3}" \
  MESHDOCTOR_LIVE_BENCH_WORKERS="${WORKERS:-12}" \
  MESHDOCTOR_LIVE_BENCH_OUT="$out" \
  MESHDOCTOR_LIVE_BENCH_PROFILE="${PROFILE_DIR:-}" \
  CACHE="${CACHE:-/tmp/meshdoctor-bench}" \
  go test ./test/live/ -run '^TestLiveBench$' -count 1 -v -timeout 120m >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
# The details (load, refusals, per-run numbers, objects per kind) to stderr.
grep -E 'bench_test.go:[0-9]+: (read|loaded|refused|needed|run|input|profiles)' "$log" | sed 's/^ *//' >&2 || true
cat "$out"
