"""`leoflow jobs check`, `info`, `config get-value|list`, `db check-migrations` and `cheat-sheet`."""


def test_jobs_check_info_config_and_cheat_sheet(lite_cli, tmp_path):
    cli = lite_cli
    missing = cli.run("jobs", "check", "--job-type", "SchedulerJob")
    assert (missing.returncode, missing.stderr) == (1, "No alive jobs found.\n")
    info = {row["key"]: row["value"] for row in cli.json("info")}
    assert info["mode"] == "lite" and info["home"] == str(cli.home) and info["bus"] == "memory (in lite)"
    assert cli.ok("config", "get-value", "database", "sql_alchemy_conn") == f"sqlite:///{cli.home / 'leoflow.db'}\n"
    assert cli.ok("config", "get-value", "leoflow", "parallelism") == "32\n"
    unknown = cli.run("config", "get-value", "core", "no_such_key")
    assert (unknown.returncode, unknown.stderr) == (1, "The option [core/no_such_key] is not found in config.\n")
    listed = cli.ok("config", "list", env={"LEOFLOW_FERNET_KEY": "a-secret-value"})
    assert "fernet_key = < hidden >" in listed and "a-secret-value" not in listed
    behind = cli.run("db", "check-migrations", "-t", "0")
    assert (behind.returncode, behind.stderr) == (1, "There are still unapplied migrations after 0 seconds (the "
                                                     "database is at no revision): run `leoflow db migrate`\n")
    cli.ok("db", "migrate")
    assert cli.ok("db", "check-migrations", "-t", "0") == "DB migrations done.\n"
    sheet = cli.ok("cheat-sheet", "-o", "markdown")
    for command in ("leoflow variables export", "leoflow connections add", "leoflow pools set",
                    "leoflow dags list-runs", "leoflow tasks clear", "leoflow backfill create", "leoflow jobs check"):
        assert f"| `{command}` |" in sheet
