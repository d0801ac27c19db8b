#!/usr/bin/env bash
# Builds the real kube-apiserver and etcd that internal/testenv starts, from the
# Go module proxy (hack/tools is their own module), into a per-version cache
# outside the clone:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/meshdoctor/test-binaries/<name>-<version>/<name>
# Idempotent: a binary already there is not rebuilt, so a second run, or a run
# from another clone on the same machine, costs nothing. Versions come from
# internal/testenv/versions.env, which the tests embed to find the same paths.
# A cold kube-apiserver build takes ~10 minutes and ~2.2 GB of memory on 2 cores.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
versions="$root/internal/testenv/versions.env"
tools="$root/hack/tools"

# Read one KEY=value line; the file is not sourced so it stays plain data.
version_of() {
  local v
  v=$(sed -n "s/^$1=\(v[0-9][0-9.]*\)[[:space:]]*\$/\1/p" "$versions")
  if [ -z "$v" ]; then
    echo "install-test-binaries: no $1 in $versions" >&2
    exit 1
  fi
  echo "$v"
}
kube_version=$(version_of KUBERNETES_VERSION)
etcd_version=$(version_of ETCD_VERSION)
# Staging modules (k8s.io/api, ...) of Kubernetes v1.X.Y are tagged v0.X.Y.
staging_version="v0.${kube_version#v1.}"

# hack/tools/go.mod must build exactly the versions the cache directories are
# named after, or a stale binary would hide behind a new name.
fail_mod() {
  echo "install-test-binaries: hack/tools/go.mod does not match $versions: $1" >&2
  exit 1
}
grep -Eq "^[[:space:]]*k8s\.io/kubernetes $kube_version( |\$)" "$tools/go.mod" ||
  fail_mod "want k8s.io/kubernetes $kube_version"
grep -Eq "^[[:space:]]*go\.etcd\.io/etcd/server/v3 $etcd_version( |\$)" "$tools/go.mod" ||
  fail_mod "want go.etcd.io/etcd/server/v3 $etcd_version"
stale=$(grep -E '^[[:space:]]*k8s\.io/[a-z0-9-]+ => ' "$tools/go.mod" | grep -Ev " $staging_version\$" || true)
[ -z "$stale" ] || fail_mod "every staging replace must be at $staging_version, not: $stale"

cache="${XDG_CACHE_HOME:-$HOME/.cache}/meshdoctor/test-binaries"

# build NAME VERSION PACKAGE [LDFLAGS...]: builds PACKAGE into the cache unless
# the binary is already there. It is built in a scratch directory and renamed,
# so an interrupted build never leaves a binary that looks complete.
build() {
  local name=$1 version=$2 pkg=$3 ldflags=$4
  local dir="$cache/$name-$version"
  if [ -x "$dir/$name" ]; then
    echo "$name $version: cached"
    return
  fi
  if ! command -v go >/dev/null; then
    export PATH="$PATH:/usr/local/go/bin"
  fi
  echo "$name $version: building $pkg (kube-apiserver takes ~10 minutes cold)"
  mkdir -p "$cache"
  local tmp
  tmp=$(mktemp -d "$cache/.$name-$version.XXXXXX")
  # shellcheck disable=SC2064 # expand $tmp now: it is local
  trap "rm -rf '$tmp'" EXIT
  local start=$SECONDS
  # CGO_ENABLED=0: static binaries, and no C compiler needed on a fresh
  # machine. GOWORK=off: build hack/tools exactly as its go.mod pins it.
  (cd "$tools" && CGO_ENABLED=0 GOWORK=off go build -trimpath \
    -ldflags="-s -w $ldflags" -o "$tmp/$name" "$pkg")
  rm -rf "$dir"
  mv -T "$tmp" "$dir"
  trap - EXIT
  echo "$name $version: built in $((SECONDS - start))s"
}

# The version variables that Kubernetes' own build stamps, so /version reports
# the real release instead of v0.0.0-master.
minor=${kube_version#v1.}
minor=${minor%%.*}
kube_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1"
  kube_ldflags+=" -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done

build etcd "$etcd_version" go.etcd.io/etcd/server/v3 ""
build kube-apiserver "$kube_version" k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"

echo "test binaries:"
echo "  $cache/etcd-$etcd_version/etcd"
echo "  $cache/kube-apiserver-$kube_version/kube-apiserver"
