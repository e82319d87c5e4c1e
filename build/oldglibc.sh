#!/usr/bin/env bash
# The Linux executable for glibc 2.31 (Debian 11, Ubuntu 20.04) and newer, built in a Debian 11
# chroot (ADR 28). Needs root and debootstrap. Output: dist/oldglibc/leoflow and its onedir.
#
# Debian 11 ships Python 3.9 and Leoflow needs 3.11, so the chroot builds CPython 3.11 from the
# source Debian ships for Debian 12 (python3.11's orig tarball, from Debian's archive). Rootfs and
# interpreter are cached under $LEOFLOW_BUILD_CACHE (default ~/.cache/leoflow-build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${LEOFLOW_BUILD_CACHE:-$HOME/.cache/leoflow-build}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE=$CACHE/bullseye-minbase    # what tests run the result in: nothing but Debian 11's minbase
R=$CACHE/bullseye-build         # minbase + compilers + CPython 3.11
PY=/opt/python3.11/bin/python3.11
PY_SOURCE_SUITE=bookworm         # whose python3.11 source package to build
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}

mounted=()
cleanup() { for m in "${mounted[@]}"; do umount "$m" 2>/dev/null || true; done; }
trap cleanup EXIT
in_chroot() {
  for m in proc dev; do
    if ! mountpoint -q "$R/$m"; then mount --bind "/$m" "$R/$m"; mounted+=("$R/$m"); fi
  done
  cp /etc/resolv.conf "$R/etc/resolv.conf"
  # pip inside trusts what pip outside trusts (a network that re-signs TLS brings its own CA).
  cp "${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}" "$R/etc/ssl/certs/build-host-ca.crt"
  chroot "$R" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
    PIP_CERT=/etc/ssl/certs/build-host-ca.crt PIP_DEFAULT_TIMEOUT=180 \
    SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" LEOFLOW_BUILD_COMMIT="$(git rev-parse HEAD)" PYTHONHASHSEED=0 \
    /bin/sh -ec "$1"
}

if [ ! -x "$BASE/bin/sh" ]; then
  mkdir -p "$CACHE"
  debootstrap --variant=minbase bullseye "$BASE.tmp" "$MIRROR" >"$CACHE/debootstrap.log"
  mv "$BASE.tmp" "$BASE"
fi
if [ ! -x "$R$PY" ]; then
  rm -rf "$R" && cp -a "$BASE" "$R"
  in_chroot "
    echo 'deb-src $MIRROR $PY_SOURCE_SUITE main' > /etc/apt/sources.list.d/python-source.list
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends build-essential \
      libssl-dev zlib1g-dev libffi-dev libsqlite3-dev libbz2-dev liblzma-dev libreadline-dev uuid-dev \
      libncursesw5-dev libgdbm-dev xz-utils ca-certificates binutils dpkg-dev >/dev/null
    cd /root && apt-get source --download-only -qq python3.11
    rm -rf Python-3.11.* && tar xzf python3.11_3.11.*.orig.tar.gz && cd Python-3.11.*/
    ./configure -q --prefix=/opt/python3.11 --enable-shared LDFLAGS=-Wl,-rpath,/opt/python3.11/lib
    make -s -j\$(nproc) >/root/cpython-make.log 2>&1 && make -s install >/root/cpython-install.log 2>&1
    cd /root && rm -rf Python-3.11.*/"
fi

# The commit's files plus the fetched UI build and editor (never committed), nothing else.
rm -rf "$R/src" && mkdir -p "$R/src"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$R/src"
cp -a embedded "$R/src/"
in_chroot "
  [ -x /opt/venv/bin/python ] || $PY -m venv /opt/venv
  cd /src
  /opt/venv/bin/pip install -q --disable-pip-version-check -e '.[build]'
  /opt/venv/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/work build/leoflow.spec
  /opt/venv/bin/python build/selfextract.py dist/leoflow-onedir dist/leoflow"
rm -rf dist/oldglibc && mkdir -p dist/oldglibc
cp -a "$R/src/dist/leoflow" "$R/src/dist/leoflow-onedir" dist/oldglibc/
python3 build/glibc_needs.py dist/oldglibc/leoflow-onedir --max 2.31
echo "dist/oldglibc/leoflow: built on Debian 11 (glibc $(chroot "$R" ldd --version | head -1 | awk '{print $NF}'))"
