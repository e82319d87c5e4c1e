"""`leoflow healthcheck`: exit 0 when the server in this container answers its probe.

The container image has no curl or wget worth trusting with TLS, so its HEALTHCHECK calls the
executable itself. It asks `/livez` (or `/readyz` with --ready) of the server on this host, at
LEOFLOW_PORT, and waits at most --timeout seconds.
"""

from __future__ import annotations

import sys


def run(args) -> int:
    import ssl
    import urllib.error
    import urllib.request

    url = args.url
    if not url:
        from .. import config

        settings = config.load()
        url = f"http://{config.client_host(settings.host)}:{settings.port}"
    url = url.rstrip("/") + ("/readyz" if args.ready else "/livez")
    # The server's own certificate on this host: names and CAs are the deployment's business, not the probe's.
    context = ssl._create_unverified_context() if url.startswith("https://") else None
    try:
        with urllib.request.urlopen(url, timeout=args.timeout, context=context) as response:
            body = response.read(4096)
    except urllib.error.HTTPError as exc:
        print(f"leoflow healthcheck: {url} answered {exc.code}: {exc.read(4096).decode(errors='replace')}",
              file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"leoflow healthcheck: {url}: {exc}", file=sys.stderr)
        return 1
    print(body.decode(errors="replace"))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("healthcheck", help="exit 0 if the server on this host answers /livez (or /readyz)")
    p.add_argument("--url", help="the server's base URL (default: http://127.0.0.1:LEOFLOW_PORT)")
    p.add_argument("--ready", action="store_true", help="ask /readyz: database reachable and schema current")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the answer (default 5)")
