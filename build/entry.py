"""Entry point of the single executable."""

import sys

if __name__ == "__main__":
    if getattr(sys, "frozen", False):
        # This build's unpacked folder is in use while this process or its forks live (ADR 28).
        from leoflow.cli.unpack_cache import hold

        hold(sys.executable)
        # The bundled OpenSSL's CA folder is the build distribution's: use this machine's bundle.
        from leoflow.cli import ca_bundle

        ca_bundle.apply()
    from leoflow.cli.main import entry

    entry()
