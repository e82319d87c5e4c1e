"""`leoflow agents enroll|list|drain|resume|remove` (on the server's database) and `leoflow agent` (a
worker on another host, see agents/worker.py)."""

from __future__ import annotations

import json

from .output import print_rows

COLUMNS = ["name", "state", "queues", "free_slots", "running", "last_heartbeat", "version", "hostname"]


def _engine(args):
    from .users import _engine as engine_of

    return engine_of(args)


def run(args, parser) -> int:
    from leoflow.agents import admin

    action = args.agents_command
    if action is None:
        parser.parse_args(["agents", "--help"])
    engine = _engine(args)
    try:
        if action == "enroll":
            with engine.begin() as conn:
                made = admin.enroll(conn, args.name, args.queues, args.expires, created_by="cli", uses=args.uses)
            if args.output == "json":
                print(json.dumps(made))
            else:
                print(made["token"])
                print(f"# one-time enrollment token for agent {made['name']!r}, valid until {made['expires_at']}: "
                      f"leoflow agent --server https://HOST:PORT --token TOKEN", flush=True)
            return 0
        if action == "list":
            with engine.connect() as conn:
                rows = admin.describe(conn)
            for row in rows:
                row["queues"] = ",".join(row["queues"])
            print_rows(rows, COLUMNS, args.output)
            return 0
        with engine.begin() as conn:
            result = admin.set_state(conn, args.name, action)
        print(f"Agent {args.name!r}: {result['state']}"
              + (f"; {result['ended_tries']} running tr{'y' if result['ended_tries'] == 1 else 'ies'} ended"
                 if action == "remove" else ""))
        return 0
    except admin.AdminError as exc:
        raise SystemExit(f"leoflow agents {action}: {exc.message}")


def add_parser(sub) -> None:
    p = sub.add_parser("agents", help="enroll, list, drain, resume and remove agents (on the server's database)")
    agents_sub = p.add_subparsers(dest="agents_command", metavar="ACTION")
    q = agents_sub.add_parser("enroll", help="print a one-time enrollment token for a new agent")
    q.add_argument("name", help="the agent's name, or a prefix ending in '*' for a fleet (with --uses)")
    q.add_argument("--queues", default="", help="comma list of queues it serves (default: what the agent asks "
                                                "for, else `default`)")
    q.add_argument("--expires", default="1h", help="how long the token may be used (90s, 30m, 1h, 2d; default 1h)")
    q.add_argument("--uses", type=int, default=1, help="how many agents may enroll with it (default 1); more "
                                                       "than one needs a NAME prefix ending in '*', e.g. workers-*")
    q.add_argument("--output", "-o", choices=["plain", "json"], default="plain")
    q.add_argument("--home")
    q = agents_sub.add_parser("list", help="every agent: state, queues, free slots, running tries, heartbeat")
    q.add_argument("--output", "-o", choices=["table", "json", "yaml", "plain"], default="table")
    q.add_argument("--home")
    for name, text in (("drain", "no new tries for the agent; running ones finish"),
                       ("resume", "the agent takes tries again"),
                       ("remove", "revoke the agent's credential now; its running tries are failed or retried")):
        q = agents_sub.add_parser(name, help=text)
        q.add_argument("name")
        q.add_argument("--home")

    p = sub.add_parser("agent", help="run tries from the servers on this host (a worker)")
    p.add_argument("--server", required=True, help="the servers' address, https://HOST:PORT")
    p.add_argument("--token", help="the one-time enrollment token (`leoflow agents enroll`); only the first start")
    p.add_argument("--name", help="the agent's name (must be the enrolled name)")
    p.add_argument("--queues", help="comma list of queues to serve when the enrollment names none")
    p.add_argument("--concurrency", type=int, help="tries run at once (default 4)")
    p.add_argument("--ca-file", help="PEM CA bundle to trust the server's certificate with (a private CA)")
    p.add_argument("--home", help="the agent's folder: credential, DAG bundles, logs (default ~/leoflow-agent)")
    p.add_argument("--insecure", action="store_true", help="allow plain http:// to the server")
    p.add_argument("--client-cert", help="PEM client certificate, for a server that asks for one (--tls-client-ca)")
    p.add_argument("--client-key", help="PEM private key of --client-cert")
