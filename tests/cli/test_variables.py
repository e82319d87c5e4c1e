"""`leoflow variables ...`: Airflow 3.2's verbs, messages and files; values stored encrypted as the API stores them."""

import json

from sqlalchemy import select

from leoflow.store.tables import variable


def test_set_get_list_delete_and_values_encrypted_at_rest(cli):
    assert cli.ok("variables", "set", "color", "blue") == "Variable color created\n"
    cli.ok("variables", "set", "--description", "how many", "rows", "100")
    cli.ok("variables", "set", "-j", "cfg", '{"a": 1}')  # -j stores the text as a JSON string, as Airflow
    assert cli.ok("variables", "get", "color") == "blue\n"
    assert cli.ok("variables", "get", "cfg", "-j") == '{"a": 1}\n'
    assert cli.ok("variables", "get", "nope", "-d", "fallback") == "fallback\n"
    missing = cli.run("variables", "get", "nope")
    assert (missing.returncode, missing.stderr) == (1, "Variable nope does not exist.\n")
    assert cli.json("variables", "list") == [{"key": "cfg"}, {"key": "color"}, {"key": "rows"}]
    assert cli.json("variables", "list", "--show-values", "--hide-sensitive")[1] == {"key": "color", "val": "***"}
    assert cli.ok("variables", "list", "-o", "plain") == "key\ncfg\ncolor\nrows\n"

    with cli.engine.connect() as conn:
        rows = {r.key: r for r in conn.execute(select(variable))}
    assert rows["color"].is_encrypted and rows["color"].val != "blue"
    assert cli.crypt.decrypt(rows["color"].val) == "blue" and rows["rows"].description == "how many"
    assert cli.crypt.decrypt(rows["cfg"].val) == '"{\\"a\\": 1}"'

    assert cli.ok("variables", "delete", "color") == "Variable color deleted\n"
    assert cli.ok("variables", "delete", "color") == "Variable color deleted\n"  # as Airflow: not an error
    assert [v["key"] for v in cli.json("variables", "list")] == ["cfg", "rows"]


def test_export_then_import_round_trips_in_airflows_file_format(lite_cli, tmp_path):
    cli = lite_cli
    incoming = tmp_path / "in.json"
    incoming.write_text(json.dumps({"plain": "text", "number": 5, "listed": [1, 2],
                                    "described": {"value": {"k": "v"}, "description": "an object"}}))
    assert cli.ok("variables", "import", str(incoming)) == "4 of 4 variables successfully updated.\n"
    exported = tmp_path / "out.json"
    assert cli.ok("variables", "export", str(exported)) == f"4 Variables successfully exported to {exported}.\n"
    text = exported.read_text()
    assert text == json.dumps({"described": {"description": "an object", "value": {"k": "v"}}, "listed": [1, 2],
                               "number": 5, "plain": "text"}, indent=4)

    skipped = cli.ok("variables", "import", str(exported), "-a", "skip")
    assert skipped == ("0 of 4 variables successfully updated.\nThe variables with these keys: "
                       "['described', 'listed', 'number', 'plain'] were skipped because they already exists\n")
    failed = cli.run("variables", "import", str(exported), "-a", "fail")
    assert failed.returncode == 1
    assert failed.stderr == "Failed. These keys: ['described', 'listed', 'number', 'plain'] already exists.\n"

    for key in ("plain", "number", "listed", "described"):
        cli.ok("variables", "delete", key)
    cli.ok("variables", "import", str(exported))
    to_stdout = cli.run("variables", "export", "-")
    assert to_stdout.stdout == text and to_stdout.stderr == "4 Variables successfully exported.\n"
    assert cli.ok("variables", "get", "number") == "5\n" and cli.ok("variables", "get", "plain") == "text\n"

    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    proc = cli.run("variables", "import", str(broken))
    assert proc.returncode == 2 and proc.stderr.startswith(f"leoflow: variables file {broken} is not valid JSON: ")
