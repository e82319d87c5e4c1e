"""Where the executable's TLS finds CA certificates (ADR 28, "TLS in the executable").

The bundled OpenSSL looks in the folder of the distribution it was built on (Debian's /usr/lib/ssl,
RHEL's /etc/pki/tls, python.org's framework on macOS), which another distribution does not have: a
build from Debian would trust nothing on RHEL. So, unless SSL_CERT_FILE or SSL_CERT_DIR says otherwise,
the executable points SSL_CERT_FILE at this machine's bundle, the first of the well-known places that
exists (as Go's crypto/x509 does), else at the bundled certifi's. Tasks and what they start inherit it.
The system's hashed folder (SSL_CERT_DIR's default) is still read.
"""

from __future__ import annotations

import os
import sys

SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",                # Debian, Ubuntu, Alpine, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",                  # RHEL, Fedora, Rocky, Amazon Linux
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # RHEL 7+
    "/etc/ssl/ca-bundle.pem",                            # openSUSE, SLES
    "/etc/ssl/cert.pem",                                 # macOS, Alpine, BSDs
)


def choose(environ, isfile=os.path.isfile, bundled: str | None = None) -> str | None:
    """The file SSL_CERT_FILE should name, or None to leave the environment as it is."""
    if environ.get("SSL_CERT_FILE") or environ.get("SSL_CERT_DIR"):
        return None
    for path in SYSTEM_BUNDLES:
        if isfile(path):
            return path
    if bundled and isfile(bundled):
        return bundled
    return None


def apply() -> None:
    """For the frozen executable, at start: sets SSL_CERT_FILE when it should (see choose)."""
    bundled = os.path.join(getattr(sys, "_MEIPASS", os.path.dirname(sys.executable)), "certifi", "cacert.pem")
    path = choose(os.environ, bundled=bundled)
    if path:
        os.environ["SSL_CERT_FILE"] = path
