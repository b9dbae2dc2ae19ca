#!/usr/bin/env bash
# Build govmomi's vCenter simulator (vcsim) for the vSphere tests and `vcc fake-cloud vmware`,
# from Debian's packaged Go sources (no Go module proxy is needed), and print the binary's path.
#
# The binary is cached in ${VCPSDK_CACHE:-~/.cache/vcpsdk}/vcsim-<hash>/vcsim, the hash covering
# scripts/vcsim/main.go, the govmomi package version and the Go version: a second run prints
# the path at once; $cache/vcsim links to the newest build (what vcpsdk.testing.fakes.vmware
# runs).  Installs golang-go, golang-github-vmware-govmomi-dev and golang-github-google-uuid-dev
# with apt-get when they are missing (about 470 MB).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(golang-go golang-github-vmware-govmomi-dev golang-github-google-uuid-dev)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "build-vcsim: installing ${missing[*]} with apt-get" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

source=scripts/vcsim/main.go
hash=$( {
    cat "$source"
    dpkg-query -W -f='${Version}' golang-github-vmware-govmomi-dev
    go version
} | sha256sum | cut -c1-16)
cache=${VCPSDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vcpsdk}
target=$cache/vcsim-$hash/vcsim
if [ ! -x "$target" ]; then
    echo "build-vcsim: building $target (about a minute the first time)" >&2
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/src/vcsim" "$(dirname "$target")"
    cp "$source" "$work/src/vcsim/main.go"
    (cd "$work/src/vcsim" && GO111MODULE=off GOPATH="$work:/usr/share/gocode" \
        GOCACHE="$cache/go-build" go build -o "$work/vcsim" .)
    mv "$work/vcsim" "$target"
fi
ln -sfn "$target" "$cache/vcsim"   # what vcpsdk.testing.fakes.vmware runs
echo "$target"
