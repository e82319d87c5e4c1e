#!/usr/bin/env bash
# CPython 3.11 with a shared libpython (PyInstaller needs one) inside a manylinux_2_28 container,
# whose own Pythons are static: the release workflow's Linux builds (ADR 28). usage: PREFIX
# The same recipe build/oldglibc.sh runs in a Debian 11 chroot on machines without python.org.
set -euo pipefail
PREFIX=${1:-/opt/leoflow-python}
VERSION=${PYTHON_VERSION:-3.11.14}
[ -x "$PREFIX/bin/python3.11" ] && exit 0
dnf install -y -q openssl-devel zlib-devel libffi-devel sqlite-devel bzip2-devel xz-devel readline-devel \
  libuuid-devel ncurses-devel gdbm-devel
work=$(mktemp -d)
curl -fsSL "https://www.python.org/ftp/python/$VERSION/Python-$VERSION.tgz" | tar -xz -C "$work"
cd "$work/Python-$VERSION"
./configure -q --prefix="$PREFIX" --enable-shared --enable-optimizations LDFLAGS="-Wl,-rpath,$PREFIX/lib"
make -s -j"$(nproc)" >/dev/null
make -s install >/dev/null
"$PREFIX/bin/python3.11" -c "import ssl, _hashlib, sqlite3, ctypes, lzma, bz2, zlib, _uuid, _decimal; print(ssl.OPENSSL_VERSION)"
