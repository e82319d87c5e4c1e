"""Mistakes end in one line that says what to do, exit code 2, no traceback: asserted word for word."""

import socket


def test_errors_a_person_can_act_on(lite_cli, tmp_path):
    cli = lite_cli
    unreachable = "postgresql://postgres@127.0.0.1:1/leoflow"  # nothing listens on port 1
    expected = ("leoflow: cannot reach the database postgresql://postgres@127.0.0.1:1/leoflow: connection refused; "
                "check that the database server is running and listens on that host and port, or set "
                "LEOFLOW_DATABASE_URL\n")
    for command in (["variables", "list"], ["db", "migrate"], ["dags", "list"]):
        proc = cli.run(*command, env={"LEOFLOW_DATABASE_URL": unreachable, "LEOFLOW_FERNET_KEY": ""})
        assert (proc.returncode, proc.stderr) == (2, expected), command

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    home = blocker / "home"
    proc = cli.run("variables", "list", "--home", str(home))
    assert (proc.returncode, proc.stderr) == (
        2, f"leoflow: home {home} is not writable (Not a directory); give a folder you can write with --home or "
           f"LEOFLOW_HOME\n")

    proc = cli.run("lite", "--port", "70000")
    assert (proc.returncode, proc.stderr) == (
        2, "leoflow: port 70000 is out of range: give a port from 1 to 65535 with --port or LEOFLOW_PORT\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = cli.run("lite", "--port", str(port))
    assert (proc.returncode, proc.stderr) == (
        2, f"leoflow: port {port} on 127.0.0.1 is in use by another process: stop it, or give another port with "
           f"--port or LEOFLOW_PORT\n")

    proc = cli.run("db", "reset")  # stdin is not a terminal
    assert (proc.returncode, proc.stderr) == (
        2, f"leoflow: `db reset` drops every table of sqlite:///{cli.home / 'leoflow.db'} and asks first, but there "
           f"is no terminal to ask on: add --yes to reset without asking\n")

    folder = tmp_path / "dags"
    folder.mkdir()
    proc = cli.run("dags", "trigger", "nope", "--dags-folder", str(folder))
    assert (proc.returncode, proc.stderr) == (2, f"leoflow: DAG 'nope' not found in the DAG folder {folder}\n")
    proc = cli.run("dags", "state", "nope", "2026-01-01")
    assert (proc.returncode, proc.stderr) == (
        2, f"leoflow: DAG 'nope' not found in the database sqlite:///{cli.home / 'leoflow.db'} (the DAG folder was "
           f"not searched: `leoflow dags list` parses it into the database)\n")
