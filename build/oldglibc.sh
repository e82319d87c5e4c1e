#!/usr/bin/env bash
# The Linux executable for glibc 2.31 (Debian 11, Ubuntu 20.04) and newer, built in a Debian 11
# chroot (ADR 28). Needs root and debootstrap. Output: dist/oldglibc/leoflow and its onedir.
# usage: build/oldglibc.sh [rootfs]
#
# Debian 11 ships Python 3.9 and Leoflow needs 3.11, so the chroot builds CPython 3.11 from the
# source Debian ships for Debian 12 (python3.11's orig tarball, from Debian's archive, pinned by its
# sha256). What is slow is cached under $LEOFLOW_BUILD_CACHE (default ~/.cache/leoflow-build), each
# entry named by a hash of its inputs, so a changed recipe builds anew and an unchanged one is reused:
#   bullseye-minbase-KEY  debootstrap's minbase (also what tests run the result in)
#   bullseye-build-KEY    minbase + compilers + CPython 3.11 in /opt/python3.11
#   pip/                  pip's wheel cache, shared by every build chroot
# Each phase prints its wall and CPU time; build/work/oldglibc-times.txt keeps them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${LEOFLOW_BUILD_CACHE:-$HOME/.cache/leoflow-build}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PY=/opt/python3.11/bin/python3.11
JOBS=${LEOFLOW_BUILD_JOBS:-$(nproc)}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
TIMES=$ROOT/build/work/oldglibc-times.txt

# The inputs. Debian 12's python3.11 source package is 3.11.2 (its updates only add Debian patches,
# which this build does not apply); the orig tarball is python.org's Python-3.11.2.tgz.
PY_ORIG=python3.11_3.11.2.orig.tar.gz
PY_ORIG_URL=$MIRROR/pool/main/p/python3.11/$PY_ORIG
PY_ORIG_SHA256=2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849
# What the bundle's stdlib needs: ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid (_decimal uses the
# bundled libmpdec). No readline, curses, dbm or tkinter: nothing in Leoflow imports them.
BUILD_DEPS="build-essential libssl-dev zlib1g-dev libffi-dev libsqlite3-dev libbz2-dev liblzma-dev uuid-dev"
# No PGO or LTO (--enable-optimizations runs the test suite: many more minutes), no test modules.
CONFIGURE="--prefix=/opt/python3.11 --enable-shared --disable-test-modules LDFLAGS=-Wl,-rpath,/opt/python3.11/lib"
NEEDED_MODULES="ssl _ssl _hashlib sqlite3 _sqlite3 ctypes _ctypes lzma _lzma bz2 _bz2 zlib _uuid _decimal _json _csv select _socket unicodedata"

key() { printf '%s\n' "$@" | sha256sum | cut -c1-12; }
BASE_KEY=$(key bullseye minbase "$MIRROR")
BUILD_KEY=$(key "$BASE_KEY" "$PY_ORIG_SHA256" "$BUILD_DEPS" "$CONFIGURE" "$NEEDED_MODULES")
BASE=$CACHE/bullseye-minbase-$BASE_KEY
R=$CACHE/bullseye-build-$BUILD_KEY

mkdir -p "$CACHE" "$(dirname "$TIMES")"
exec 9>"$CACHE/.lock"
flock 9                        # two builds on one machine take turns with the cache
: >"$TIMES"

# phase NAME COMMAND...: runs it, then prints and records its wall time and the CPU time of everything
# it started (user + sys, children included).
phase() {
  local name=$1 out; shift
  out=$(mktemp)
  { TIMEFORMAT="%R %U %S"; time "$@" 2>&3; } 3>&2 2>"$out"
  read -r wall user sys <"$out"; rm -f "$out"
  printf 'oldglibc %-10s %6.0f s wall  %6.0f s CPU (%.0f user + %.0f sys)\n' \
    "$name" "$wall" "$(awk "BEGIN{print $user + $sys}")" "$user" "$sys" | tee -a "$TIMES" >&2
}

# A build that stops half-way leaves no mount behind (in_chroot unbinds its own on the way out).
trap 'grep -o " $CACHE/bullseye-build-[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount 2>/dev/null || true' EXIT
# in_chroot ROOT SCRIPT: runs SCRIPT in ROOT with /proc, /dev and pip's cache bound, unbound after.
in_chroot() {
  local root=$1 m rc=0 mounted=()
  mkdir -p "$CACHE/pip" "$root/root/.cache/pip"
  for m in proc dev root/.cache/pip; do
    local from=/$m; [ "$m" = root/.cache/pip ] && from=$CACHE/pip
    if ! mountpoint -q "$root/$m"; then mount --bind "$from" "$root/$m"; mounted=("$root/$m" "${mounted[@]}"); fi
  done
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # pip inside trusts what pip outside trusts (a network that re-signs TLS brings its own CA).
  mkdir -p "$root/etc/ssl/certs"
  cp "${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}" "$root/etc/ssl/certs/build-host-ca.crt"
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
    PIP_CERT=/etc/ssl/certs/build-host-ca.crt PIP_DEFAULT_TIMEOUT=180 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" LEOFLOW_BUILD_COMMIT="$(git rev-parse HEAD)" PYTHONHASHSEED=0 \
    /bin/sh -ec "$2" || rc=$?
  for m in "${mounted[@]}"; do umount "$m"; done
  return $rc
}
# Older entries of the same kind go (each build chroot is about 1 GB), never one with a mount inside.
prune() {
  local d
  for d in "$CACHE/$1"-*; do
    [ "$d" = "$2" ] || [ ! -d "$d" ] || [ -L "$d" ] && continue
    if grep -q " $d/" /proc/mounts; then echo "oldglibc: $d has mounts inside, kept" >&2; continue; fi
    rm -rf "$d"
  done
}

rootfs() {
  rm -rf "$BASE.tmp"
  debootstrap --variant=minbase bullseye "$BASE.tmp" "$MIRROR" >"$CACHE/debootstrap.log"
  mv "$BASE.tmp" "$BASE"
  prune bullseye-minbase "$BASE"
  ln -sfn "$(basename "$BASE")" "$CACHE/bullseye-minbase"   # the tests' default rootfs
}

build_deps() {
  rm -rf "$R.tmp" && cp -a "$BASE" "$R.tmp"
  in_chroot "$R.tmp" "
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $BUILD_DEPS >/dev/null
    apt-get clean"
  curl -fsSL --retry 3 -o "$R.tmp/root/$PY_ORIG" "$PY_ORIG_URL"
  echo "$PY_ORIG_SHA256  $R.tmp/root/$PY_ORIG" | sha256sum --check --quiet
}

cpython() {
  in_chroot "$R.tmp" "
    cd /root && rm -rf Python-3.11.2 && tar xzf $PY_ORIG && cd Python-3.11.2
    ./configure -q $CONFIGURE >/root/cpython-configure.log 2>&1
    make -s -j$JOBS >/root/cpython-make.log 2>&1
    make -s -j$JOBS install COMPILEALL_OPTS=-j$JOBS >/root/cpython-install.log 2>&1
    cd /root && rm -rf Python-3.11.2 $PY_ORIG
    # Fails the build when an extension the bundle needs was not built (a missing -dev package).
    $PY -c 'import importlib, sys
missing = []
for name in \"$NEEDED_MODULES\".split():
    try:
        importlib.import_module(name)
    except ImportError as e:
        missing.append(f\"{name} ({e})\")
if missing:
    sys.exit(\"CPython lacks: \" + \", \".join(missing))
import ssl; print(\"CPython\", sys.version.split()[0], ssl.OPENSSL_VERSION)'"
  mv "$R.tmp" "$R"
  prune bullseye-build "$R"
}

# The commit's files plus the fetched UI build and editor (never committed), nothing else. The venv is
# made again when pyproject.toml changes (a kept venv would freeze a dependency that was dropped).
freeze() {
  rm -rf "$R/src" && mkdir -p "$R/src"
  git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$R/src"
  cp -a embedded "$R/src/"
  local venv_key
  venv_key=$(key "$(sha256sum pyproject.toml)")
  in_chroot "$R" "
    if [ \"\$(cat /opt/venv/.key 2>/dev/null)\" != $venv_key ]; then
      rm -rf /opt/venv && $PY -m venv /opt/venv && echo $venv_key >/opt/venv/.key
    fi
    cd /src
    /opt/venv/bin/pip install -q -e '.[build]'
    /opt/venv/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/work build/leoflow.spec
    /opt/venv/bin/python build/selfextract.py dist/leoflow-onedir dist/leoflow"
  rm -rf dist/oldglibc && mkdir -p dist/oldglibc
  cp -a "$R/src/dist/leoflow" "$R/src/dist/leoflow-onedir" dist/oldglibc/
}

start=$SECONDS
# `oldglibc.sh rootfs`: only the Debian 11 minbase the tests run the result in; prints its path (the
# release workflow tests the manylinux build there).
if [ "${1:-}" = rootfs ]; then
  [ -x "$BASE/bin/sh" ] || phase rootfs rootfs
  echo "$BASE"
  exit 0
fi
[ -x "$BASE/bin/sh" ] && echo "oldglibc rootfs     cached ($BASE)" | tee -a "$TIMES" >&2 || phase rootfs rootfs
if [ -x "$R$PY" ]; then
  echo "oldglibc cpython    cached ($R)" | tee -a "$TIMES" >&2
else
  phase build-deps build_deps
  phase cpython cpython
fi
phase freeze freeze
python3 build/glibc_needs.py dist/oldglibc/leoflow-onedir --max 2.31
echo "oldglibc total      $((SECONDS - start)) s wall" | tee -a "$TIMES" >&2
echo "dist/oldglibc/leoflow: built on Debian 11 (glibc $(chroot "$R" ldd --version | head -1 | awk '{print $NF}'))"
