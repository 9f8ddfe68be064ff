#!/usr/bin/env bash
# Release binaries (make dist): every command of ./cmd for Linux and macOS on
# amd64 and arm64 and for Windows on amd64, into dist/ as NAME_OS_ARCH (.exe on
# Windows), with SHA256SUMS beside them; the release workflow uploads exactly
# these files.
#
# CGO_ENABLED=0: static binaries, cross-compiled without a C toolchain (the
# SQLite driver is pure Go). -trimpath: no path of the build machine inside.
# -buildvcs=true: each binary names the commit it was built from (-version),
# even where GOFLAGS turns that stamping off, and a tagged commit its tag.
set -euo pipefail
cd "$(dirname "$0")/.."
platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64)

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
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=true -o "$tmp/$os-$arch/" ./cmd/...
  for bin in "$tmp/$os-$arch"/*; do
    mv "$bin" "dist/$(basename "$bin" "$ext")_${os}_${arch}$ext"
  done
done
(cd dist && sha256sum -- * >SHA256SUMS)
echo "dist/: $(wc -l <dist/SHA256SUMS) binaries and SHA256SUMS (check them with: cd dist && sha256sum -c SHA256SUMS)"
