#!/usr/bin/env bash
# Turn dist/leoflow into release assets: a versioned, platform-named file and its checksum.
# Build on the oldest Linux to support: the file needs the glibc of the machine that built it.
set -euo pipefail
cd "$(dirname "$0")/.."
make binary
version=$(dist/leoflow version)
name="leoflow-${version}-$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m)"
mkdir -p dist/release
cp dist/leoflow "dist/release/${name}"
(cd dist/release && sha256sum "${name}" > "${name}.sha256")
echo "dist/release/${name}"
