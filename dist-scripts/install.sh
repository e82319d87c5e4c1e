#!/bin/sh
# Install the leoflow executable for this OS and CPU from a Leoflow release (ADR 28):
#   curl -fsSL https://github.com/OWNER/REPO/releases/latest/download/install.sh | sh
# It downloads checksums.txt, checks its cosign signature when cosign is installed, picks this
# machine's asset, checks its sha256 against checksums.txt, and installs it as leoflow.
# LEOFLOW_VERSION=0.1.0   a given release instead of the latest
# LEOFLOW_INSTALL_DIR=... where to put it (default ~/.local/bin)
# LEOFLOW_RELEASE_URL=... the folder holding the assets (default: the GitHub release)
set -eu

REPO=${LEOFLOW_REPO:-@REPOSITORY@}  # the release workflow writes the repository here
VERSION=${LEOFLOW_VERSION:-latest}
DEST=${LEOFLOW_INSTALL_DIR:-$HOME/.local/bin}

fail() { echo "leoflow install: $*" >&2; exit 1; }

if [ -n "${LEOFLOW_RELEASE_URL:-}" ]; then
  BASE=$LEOFLOW_RELEASE_URL
else
  case $REPO in @*) fail "set LEOFLOW_RELEASE_URL (this copy of install.sh names no repository)" ;; esac
  if [ "$VERSION" = latest ]; then BASE=https://github.com/$REPO/releases/latest/download
  else BASE=https://github.com/$REPO/releases/download/v$VERSION; fi
fi

case $(uname -s) in
  Linux) os=linux ;;
  Darwin) os=macos ;;
  *) fail "no executable for $(uname -s) here; on Windows download leoflow-VERSION-windows-x86_64.exe (the client CLI)" ;;
esac
case $(uname -m) in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) if [ $os = macos ]; then arch=arm64; else arch=aarch64; fi ;;
  *) fail "no executable for $(uname -m) CPUs" ;;
esac

if command -v curl >/dev/null 2>&1; then get() { curl -fsSL -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then get() { wget -q -O "$2" "$1"; }
else fail "needs curl or wget"; fi
if command -v sha256sum >/dev/null 2>&1; then sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else fail "needs sha256sum or shasum"; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
get "$BASE/checksums.txt" "$tmp/checksums.txt" || fail "cannot download $BASE/checksums.txt"

if command -v cosign >/dev/null 2>&1; then
  get "$BASE/checksums.txt.sigstore.json" "$tmp/checksums.txt.sigstore.json" ||
    fail "cosign is installed but the release has no signature ($BASE/checksums.txt.sigstore.json)"
  cosign verify-blob --bundle "$tmp/checksums.txt.sigstore.json" \
    --certificate-identity-regexp "^https://github.com/$REPO/.github/workflows/release.yml@refs/tags/v" \
    --certificate-oidc-issuer https://token.actions.githubusercontent.com "$tmp/checksums.txt" >/dev/null 2>&1 ||
    fail "the signature of checksums.txt does not verify: not installing"
  echo "leoflow install: checksums.txt signature verified (cosign)"
else
  echo "leoflow install: cosign not found: checking the sha256 only"
fi

# The executable's line: "<sha256>  leoflow-<version>-<os>-<arch>" (not the onedir archive nor the SBOM).
line=$(grep -E "^[0-9a-f]{64}  leoflow-[^ /]+-$os-$arch\$" "$tmp/checksums.txt" | head -n 1)
[ -n "$line" ] || fail "the release has no executable for $os-$arch"
want=${line%% *}
name=${line##* }
get "$BASE/$name" "$tmp/$name" || fail "cannot download $BASE/$name"
got=$(sha256 "$tmp/$name")
[ "$got" = "$want" ] || fail "$name: sha256 $got does not match checksums.txt ($want): not installing"

mkdir -p "$DEST"
chmod 0755 "$tmp/$name"
mv -f "$tmp/$name" "$DEST/.leoflow.new" && mv -f "$DEST/.leoflow.new" "$DEST/leoflow"
echo "leoflow install: $name -> $DEST/leoflow"
case ":$PATH:" in
  *":$DEST:"*) ;;
  *) echo "leoflow install: $DEST is not on your PATH; add it, e.g. export PATH=\"$DEST:\$PATH\"" ;;
esac
