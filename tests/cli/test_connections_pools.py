"""`leoflow connections ...` and `leoflow pools ...`: URI, JSON and field forms, Airflow's export files, secrets
encrypted at rest with the key the REST API uses."""

import json

from sqlalchemy import select

from leoflow.store.tables import connection

URI = "postgres://u:p%40ss@db.example:5432/sales?sslmode=require"


def test_connections_add_get_list_export_import_delete(cli, tmp_path):
    assert cli.ok("connections", "add", "pg", "--conn-uri", URI) == f"Successfully added `conn_id`=pg : {URI}\n"
    assert cli.ok("connections", "add", "web", "--conn-type", "http", "--conn-host", "example.com",
                  "--conn-login", "me", "--conn-password", "pw", "--conn-port", "443", "--conn-schema", "https",
                  "--conn-extra", '{"k": "v"}') == "Successfully added `conn_id`=web : http://me:******@example.com:443/https\n"
    cli.ok("connections", "add", "my", "--conn-json",
           '{"conn_type": "mysql", "host": "m", "login": "l", "password": "pp", "port": 3306, "extra": {"x": 1}}')
    again = cli.run("connections", "add", "pg", "--conn-uri", "postgres://x")
    assert (again.returncode, again.stderr) == (1, "A connection with `conn_id`=pg already exists.\n")
    both = cli.run("connections", "add", "bad", "--conn-uri", URI, "--conn-host", "h")
    assert (both.returncode, both.stderr) == (
        2, "leoflow: The following args are not compatible with the --conn-uri flag: ['conn_host']\n")

    [pg] = cli.json("connections", "get", "pg")
    assert pg["password"] == "p@ss" and pg["extra_dejson"] == {"sslmode": "require"} and pg["port"] == "5432"
    assert pg["get_uri"] == URI and pg["is_encrypted"] == "True"
    assert cli.json("connections", "list") == [{"conn_id": "my", "conn_type": "mysql"},
                                               {"conn_id": "pg", "conn_type": "postgres"},
                                               {"conn_id": "web", "conn_type": "http"}]
    masked = cli.json("connections", "list", "--show-values", "--hide-sensitive")
    assert masked[1]["password"] == "***" and masked[1]["get_uri"].startswith("postgres://***:***@db.example")

    with cli.engine.connect() as conn:
        row = conn.execute(select(connection).where(connection.c.conn_id == "pg")).one()
    assert row.password != "p@ss" and cli.crypt.decrypt(row.password) == "p@ss"
    assert cli.crypt.decrypt(row.extra) == '{"sslmode": "require"}'

    exported = tmp_path / "c.json"
    assert cli.ok("connections", "export", str(exported)) == f"3 Connections successfully exported to {exported}.\n"
    data = json.loads(exported.read_text())
    assert data["my"] == {"conn_type": "mysql", "description": None, "login": "l", "password": "pp", "host": "m",
                          "port": 3306, "schema": None, "extra": '{"x": 1}'}
    env = cli.run("connections", "export", "-", "--file-format", "env")
    assert env.stdout.splitlines() == [
        "my=mysql://l:pp@m:3306/?__extra__=%7B%22x%22%3A+1%7D", f"pg={URI}",
        "web=http://me:pw@example.com:443/https?k=v"]

    assert cli.ok("connections", "delete", "pg") == "Successfully deleted connection with `conn_id`=pg\n"
    gone = cli.run("connections", "delete", "pg")
    assert (gone.returncode, gone.stderr) == (1, "Did not find a connection with `conn_id`=pg\n")
    assert cli.ok("connections", "import", str(exported)) == (
        "Could not import connection my: connection already exists.\nImported connection pg\n"
        "Could not import connection web: connection already exists.\n")
    env_file = tmp_path / "c.env"
    env_file.write_text(env.stdout.replace("pp@m", "new@m"))
    cli.ok("connections", "import", str(env_file), "--overwrite")
    assert cli.json("connections", "get", "my")[0]["password"] == "new"
    assert cli.json("connections", "get", "pg")[0]["get_uri"] == URI
    missing = cli.run("connections", "get", "nope")
    assert (missing.returncode, missing.stderr) == (1, "Connection not found.\n")


def test_pools_set_get_list_export_import_delete(lite_cli, tmp_path):
    cli = lite_cli
    assert cli.ok("pools", "set", "etl", "5", "nightly loads") == "Pool etl created\n"
    cli.ok("pools", "set", "api", "2", "", "--include-deferred")
    assert cli.json("pools", "get", "etl") == [
        {"pool": "etl", "slots": "5", "description": "nightly loads", "include_deferred": "False"}]
    assert [p["pool"] for p in cli.json("pools", "list")] == ["default_pool", "etl", "api"]
    exported = tmp_path / "pools.json"
    assert cli.ok("pools", "export", str(exported)) == f"Exported 3 pools to {exported}\n"
    assert exported.read_text() == json.dumps({  # Airflow's file, byte for byte
        "api": {"slots": 2, "description": "", "include_deferred": True},
        "default_pool": {"slots": 128, "description": "Default pool", "include_deferred": False},
        "etl": {"slots": 5, "description": "nightly loads", "include_deferred": False}}, sort_keys=True, indent=4)
    assert cli.ok("pools", "delete", "api") == "Pool api deleted\n"
    missing = cli.run("pools", "get", "api")
    assert (missing.returncode, missing.stderr) == (1, "Pool api does not exist\n")
    assert cli.ok("pools", "import", str(exported)) == "Uploaded 3 pool(s)\n"
    assert cli.json("pools", "get", "api")[0]["include_deferred"] == "True"
    refused = cli.run("pools", "delete", "default_pool")
    assert (refused.returncode, refused.stderr) == (2, "leoflow: default_pool cannot be deleted\n")
    table = cli.ok("pools", "list").splitlines()
    assert table[0].split(" | ") == ["pool        ", "slots", "description  ", "include_deferred"]
