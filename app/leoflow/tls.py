"""TLS for Leoflow's HTTP server: the server-side context, and what a TLS connection tells the app.

`leoflow server --tls-cert F --tls-key F` serves HTTPS from http11.py with `server_context(F, F)`. With
a client CA as well, every client must present a certificate that CA signed (mutual TLS); the app reads
who it is from the ASGI TLS extension, `scope["extensions"]["tls"]["client_cert_name"]`.
"""

from __future__ import annotations

import ssl

# The forward-secret AEAD suites of TLS 1.2 (Mozilla's "intermediate" choice); TLS 1.3 has only such suites.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}  # as the ASGI extension numbers them (the wire's)


def server_context(certfile, keyfile=None, *, client_ca=None) -> ssl.SSLContext:
    """A server-side context: TLS 1.2 or later, forward-secret AEAD ciphers, no compression or
    renegotiation, HTTP/1.1 by ALPN. `certfile` may hold the chain after the certificate; `keyfile`
    defaults to `certfile`. With `client_ca` (a PEM file of CA certificates), clients must present a
    certificate one of them signed: `verify_mode` is CERT_REQUIRED.

    A file that cannot be read or does not hold a matching certificate and key is a ValueError
    naming it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.set_alpn_protocols(["http/1.1"])
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot use TLS certificate {certfile} with key {keyfile or certfile}: {exc}") from exc
    if client_ca:
        try:
            context.load_verify_locations(cafile=client_ca)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"cannot use client CA file {client_ca}: {exc}") from exc
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def scope_extension(ssl_object: ssl.SSLObject) -> dict:
    """The ASGI TLS extension (`scope["extensions"]["tls"]`) of one connection, after its handshake."""
    der = ssl_object.getpeercert(binary_form=True)
    name = error = None  # a certificate that did not verify ended the handshake: no error to report
    if der:
        try:
            name = subject_name(der)
        except ValueError as exc:  # OpenSSL took it, cryptography is stricter (a negative serial, ...)
            error = f"the client certificate's subject could not be read: {exc}"
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
        "client_cert_name": name,
        "client_cert_error": error,
        "tls_version": _VERSIONS.get(ssl_object.version()),
        "cipher_suite": None,
    }


def subject_name(der: bytes) -> str:
    """A certificate's subject as an RFC 4514 string (`CN=agent-1,O=Example`), what the extension asks for."""
    from cryptography import x509  # only for a client certificate, i.e. with mutual TLS

    return x509.load_der_x509_certificate(der).subject.rfc4514_string()
