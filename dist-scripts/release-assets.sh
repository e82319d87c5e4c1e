#!/usr/bin/env bash
# Release assets for this machine: now `make release` (dist/release; ADR 28). For Linux executables
# that run on glibc 2.31 and newer, build/oldglibc.sh builds in a Debian 11 chroot.
set -euo pipefail
cd "$(dirname "$0")/.."
exec make release
