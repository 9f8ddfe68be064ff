#!/usr/bin/env bash
# Release binaries (make dist): every command of ./cmd for Linux and macOS on
# amd64 and arm64 and for Windows on amd64, into dist/ as NAME_OS_ARCH (.exe on
# Windows), with SHA256SUMS beside them; the release workflow uploads exactly
# these files.
#
# Reproducible: the same commit makes the same bytes on any machine, whoever runs
# it (make check-dist-reproducible builds it twice and compares). So the build
# sees none of the caller's environment or go env file (go env -w): GOFLAGS
# (-ldflags, -tags, -race, ...), GOAMD64, GOARM64, GOEXPERIMENT, GOFIPS140,
# CGO_ENABLED, GOWORK and GOROOT all change a binary. It runs under env -i with
# GOENV=off, keeping only PATH, HOME, TMPDIR and what says where modules come
# from and where the caches are (as go env tells them), and sets the rest:
# - GOTOOLCHAIN: exactly the toolchain go.mod names (its toolchain line, else its
#   go line), not "local" and not "auto": another Go makes other bytes, so a
#   local Go of another version fetches that one through the module proxy (as
#   make generate does) rather than build the release itself.
# - CGO_ENABLED=0: static binaries, cross-compiled without a C toolchain (the
#   SQLite driver is pure Go).
# - GOAMD64=v1, GOARM64=v8.0: Go's defaults, binaries for every CPU of the arch.
# - GOFLAGS empty, GOWORK=off, GOFIPS140=off.
# - -trimpath: no path of the build machine inside, so the checkout's directory
#   does not matter; the build ID is then a hash of the inputs alone.
# - -buildvcs=true: each binary names the commit it was built from (-version),
#   and a tagged commit its tag; a tree without git cannot make a release.
# - LC_ALL=C: SHA256SUMS lists the files in byte order, whatever the locale.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C
toolchain=$(awk '$1 == "toolchain" {print $2; exit}' go.mod)
if [ -z "$toolchain" ]; then toolchain=go$(awk '$1 == "go" {print $2; exit}' go.mod); fi
keep=(PATH="$PATH" HOME="${HOME:-/}" TMPDIR="${TMPDIR:-/tmp}")
names=(GOPROXY GONOPROXY GOSUMDB GONOSUMDB GOPRIVATE GOINSECURE GOAUTH GOMODCACHE GOCACHE GOPATH)
mapfile -t values < <(GOTOOLCHAIN=local go env "${names[@]}")
for i in "${!names[@]}"; do keep+=("${names[i]}=${values[i]}"); done
# gobuild OS ARCH ARGS...: go build ARGS for OS/ARCH, in the environment above.
gobuild() {
  local os=$1 arch=$2
  shift 2
  env -i "${keep[@]}" GOENV=off GOTOOLCHAIN="$toolchain" GOFLAGS= GOWORK=off \
    CGO_ENABLED=0 GOAMD64=v1 GOARM64=v8.0 GOFIPS140=off GOOS="$os" GOARCH="$arch" \
    go build -trimpath -buildvcs=true "$@"
}

# DIST_PLATFORMS narrows the build to some of them (.ci/run checks one for
# reproducibility, GitHub's CI all five).
read -r -a platforms <<<"${DIST_PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf dist
mkdir dist
for platform in "${platforms[@]}"; do
  os=${platform%/*}
  arch=${platform#*/}
  ext=""
  if [ "$os" = windows ]; then ext=.exe; fi
  echo "== $os/$arch"
  gobuild "$os" "$arch" -o "$tmp/$os-$arch/" ./cmd/...
  for bin in "$tmp/$os-$arch"/*; do
    mv "$bin" "dist/$(basename "$bin" "$ext")_${os}_${arch}$ext"
  done
done
(cd dist && sha256sum -- * >SHA256SUMS)
echo "dist/: $(wc -l <dist/SHA256SUMS) binaries and SHA256SUMS (check them with: cd dist && sha256sum -c SHA256SUMS)"
