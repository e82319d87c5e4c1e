"""A parse child stays light: it must not import the database layer (SQLAlchemy costs ~0.15 s per child)."""

import subprocess
import sys
import textwrap


def test_parsing_a_file_in_a_child_does_not_import_sqlalchemy(tmp_path):
    dag_file = tmp_path / "light.py"
    dag_file.write_text(textwrap.dedent("""
        import datetime
        from airflow.sdk import dag, task

        @dag(schedule=None, start_date=datetime.datetime(2026, 1, 1))
        def light():
            @task
            def one():
                return 1
            one()

        light()
    """))
    out = tmp_path / "out.json"
    code = (
        "import sys, json\n"
        "from leoflow.dagproc.parse import parse_to_file\n"
        f"parse_to_file({str(dag_file)!r}, {str(out)!r})\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy')\n"
        "print(json.dumps(loaded[:5]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"the parse child imported {result.stdout.strip()}"
    assert '"light"' in out.read_text()
