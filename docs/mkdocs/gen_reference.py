"""The documentation site's generated pages: configuration, CLI and REST API references.

Generated from the code at every build (ADR 29), never committed:
- `reference/configuration.md` from the `Settings` dataclass and its variables (leoflow/config.py);
- `reference/cli.md` from the argparse parser (`leoflow.cli.main.build_parser`);
- `reference/rest-api.md` from the OpenAPI document `/openapi.json` serves (leoflow/web/api_docs.py).

Used as an MkDocs hook (docs/mkdocs/mkdocs.yml: `hooks:`), which adds the pages to the build;
`python docs/mkdocs/gen_reference.py DIR` writes them to DIR to read them outside a build.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = "reference/configuration.md", "reference/cli.md", "reference/rest-api.md"


def _code(text: str) -> str:
    """Inline code in a Markdown table cell."""
    text = str(text).replace("|", "\\|")
    return f"`{text}`" if "`" not in text else f"``{text}``"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


# ---------------------------------------------------------------- configuration


def setting_comments() -> dict[str, str]:
    """Each Settings field's comment in config.py: the comment lines above it plus its inline comment."""
    from leoflow.config import Settings

    comments: dict[str, str] = {}
    pending: list[str] = []
    for line in inspect.getsource(Settings).splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("#").strip())
            continue
        field = re.match(r"\s{4}(\w+)\s*:", line)
        if field and not line.startswith("     "):
            inline = ""
            if "  # " in line:
                inline = line.split("  # ", 1)[1].strip()
            comments[field.group(1)] = " ".join([*pending, inline]).strip()
        pending = []
        if stripped.startswith("def "):
            break
    return comments


# For the settings config.py has no comment on (the code's comments come first).
UNCOMMENTED = {
    "home": "The folder holding every piece of state: database, logs, keys, the admin password.",
    "dags_folder": "The folder of DAG files.",
    "database_url": "The metadata database: `sqlite:///...` (lite) or `postgresql://...` (psycopg 3; a server).",
    "host": "The address the HTTP server listens on.",
    "port": "The port the HTTP server listens on.",
    "admin_password": "The `admin` user's password, taken when the user is created; lite generates one into the home.",
    "parallelism": "The most task tries running at once.",
    "task_heartbeat_interval": "Seconds between a running task's heartbeats.",
    "airflow_python": "With `task_runner = \"airflow\"`: the Python interpreter where apache-airflow 3.2 is installed.",
    "parse_timeout": "Seconds one DAG file may take to import before it is an import error.",
    "dag_dir_poll_interval": "Seconds between looks at the DAG folder for new, changed and deleted files.",
    "scheduler_poll_interval": "Seconds between the scheduler's sweeps when nothing wakes it earlier.",
    "execution_api_ca_pinned": "Set by a TLS server without a base URL: its tasks trust exactly its own certificate.",
}


def _default(field: dataclasses.Field) -> str:
    defaults = {"home": "the platform's user data folder (`~/.local/share/leoflow` on Linux)",
                "dags_folder": "`HOME/dags`", "database_url": "`sqlite:///HOME/leoflow.db`"}
    if field.name in defaults:
        return defaults[field.name]
    if field.default is dataclasses.MISSING:
        return "—"
    if field.default is None:
        return "none"
    if field.default == "":
        return "empty"
    return _code(json.dumps(field.default) if isinstance(field.default, bool) else field.default)


def other_variables() -> dict[str, list[str]]:
    """LEOFLOW_* variables read outside the Settings table, and the modules that read them."""
    from leoflow import config

    known = {env for env, _airflow, _kind in config._ENV.values()}
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "app" / "leoflow").rglob("*.py")):
        text = path.read_text()
        for name in set(re.findall(r"\bLEOFLOW_[A-Z0-9]+(?:_[A-Z0-9]+)*\b", text)):
            if name in known or name.startswith("LEOFLOW_TEST_") or name.endswith("_"):
                continue
            found.setdefault(name, set()).add(str(path.relative_to(ROOT / "app")))
    return {name: sorted(modules) for name, modules in sorted(found.items())}


def configuration_page() -> str:
    from leoflow import config

    comments = setting_comments()
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated from app/leoflow/config.py by docs/mkdocs/gen_reference.py: edit the code, not this page. -->",
        "",
        "Each setting can be given, from lowest to highest precedence, as a key of the TOML file "
        "(`leoflow.toml` in the platform's config folder, or the file `LEOFLOW_CONFIG` names), as the Airflow "
        "variable that means the same (`AIRFLOW__SECTION__KEY`), as its `LEOFLOW_*` variable, or as a "
        "command-line flag where the command has one (`--home`, `--dags-folder`, `--host`, `--port`).",
        "",
        "```toml",
        "# leoflow.toml",
        'dags_folder = "/srv/dags"',
        "parallelism = 16",
        "```",
        "",
        "| setting | default | what it does |",
        "|---|---|---|",
    ]
    for field in dataclasses.fields(config.Settings):
        if field.name == "extra":
            continue
        env, airflow, kind = config._ENV.get(field.name, ("", [], None))
        kind_name = kind.__name__ if kind else str(field.type).replace(" | None", "")
        seconds = any(word in field.name for word in ("timeout", "interval", "period", "threshold", "lifetime"))
        kind_name = {"Path": "a path", "str": "a string", "int": "an integer",
                     "float": "seconds" if seconds else "a number", "bool": "true or false"}.get(kind_name, kind_name)
        names = [f"TOML {_code(field.name)}", _code(env) if env else "(TOML only)", *(_code(a) for a in airflow)]
        lines.append("| " + " | ".join([
            "<br>".join(names),
            f"{_default(field)}<br>({kind_name})",
            _cell(comments.get(field.name) or UNCOMMENTED.get(field.name, "")),
        ]) + " |")
    lines += [
        "",
        "`dags_are_paused_at_creation` (TOML, `LEOFLOW_DAGS_ARE_PAUSED_AT_CREATION` or "
        "`AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION`): `true` or `false`, whether a new DAG starts paused.",
        "Other TOML keys are kept as they are and read by the part that knows them.",
        "",
        "## Other environment variables",
        "",
        "Read directly by the part that needs them (not TOML keys):",
        "",
        "| variable | read in |",
        "|---|---|",
    ]
    for name, modules in other_variables().items():
        lines.append(f"| {_code(name)} | {', '.join(_code(m) for m in modules)} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- CLI


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, help, parser) of each subcommand, in the order the parser lists them."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            seen = set()
            for name, sub in action.choices.items():
                if id(sub) in seen:  # an alias
                    continue
                seen.add(id(sub))
                found.append((name, helps.get(name, ""), sub))
    return found


def walk_commands(parser=None, prefix: tuple[str, ...] = ()):
    """Every command path (("dags",), ("dags", "list"), ...) with its help and parser, depth first."""
    if parser is None:
        from leoflow.cli.main import build_parser

        parser = build_parser()
    for name, text, sub in _subcommands(parser):
        path = (*prefix, name)
        yield path, text, sub
        yield from walk_commands(sub, path)


def _argument_row(action: argparse.Action) -> str | None:
    if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
        return None
    if action.option_strings:
        name = ", ".join(action.option_strings)
        if action.nargs != 0:
            name += " " + (action.metavar or action.dest.upper())
    else:
        name = action.metavar or action.dest
        if action.nargs in ("?", "*"):
            name = f"[{name}]"
    text = action.help if action.help not in (None, argparse.SUPPRESS) else ""
    if action.choices and not isinstance(action.choices, dict):
        text = (text + " " if text else "") + "One of " + ", ".join(f"`{c}`" for c in action.choices) + "."
    if action.default not in (None, False, argparse.SUPPRESS, []) and action.nargs != 0:
        text = (text + " " if text else "") + f"Default: `{action.default}`."
    return f"| {_code(name)} | {_cell(text)} |"


def cli_page() -> str:
    from leoflow.cli.main import build_parser

    parser = build_parser()
    lines = [
        "# CLI reference",
        "",
        "<!-- Generated from the argparse parser (leoflow.cli.main.build_parser) by "
        "docs/mkdocs/gen_reference.py: edit the code, not this page. -->",
        "",
        f"{parser.description}",
        "",
        "Every command prints its own help with `--help` (`leoflow dags list --help`).",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    commands = list(walk_commands(parser))
    for path, text, _sub in commands:
        anchor = "leoflow-" + "-".join(path)
        lines.append(f"| [`leoflow {' '.join(path)}`](#{anchor}) | {_cell(text)} |")
    for path, text, sub in commands:
        depth = min(len(path) + 1, 4)
        anchor = "leoflow-" + "-".join(path)
        lines += ["", f"{'#' * depth} `leoflow {' '.join(path)}` {{ #{anchor} }}", ""]
        if text:
            lines += [text[0].upper() + text[1:] + ("" if text.endswith(".") else "."), ""]
        if sub.description and sub.description != text:
            lines += [sub.description, ""]
        usage = " ".join(sub.format_usage().split())
        lines += ["```", usage.removeprefix("usage: "), "```"]
        rows = [row for row in map(_argument_row, sub._actions) if row]
        if rows:
            lines += ["", "| argument | meaning |", "|---|---|", *rows]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- REST API


def openapi_document() -> dict:
    """The document `/openapi.json` serves (build/fetch_swagger_ui.py fetches its source)."""
    sys.path.insert(0, str(ROOT / "build"))
    try:
        import fetch_swagger_ui
    finally:
        sys.path.pop(0)
    from leoflow.web.api_docs import OPENAPI_FILE, leoflow_document

    folder = fetch_swagger_ui.fetch()
    return leoflow_document(json.loads((folder / OPENAPI_FILE).read_text()))


def rest_api_page() -> str:
    document = openapi_document()
    by_tag: dict[str, list[tuple[str, str, dict]]] = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "patch", "delete"):
                tag = (operation.get("tags") or ["Other"])[0]
                by_tag.setdefault(tag, []).append((method.upper(), path, operation))
    count = sum(len(v) for v in by_tag.values())
    lines = [
        "# REST API reference",
        "",
        "<!-- Generated from the OpenAPI document Leoflow serves by docs/mkdocs/gen_reference.py. -->",
        "",
        f"{document['info']['description']}",
        "",
        f"Leoflow serves {count} operations. A running Leoflow serves the same document at `/openapi.json` "
        "and an interactive browser for it at `/docs` (the UI's **Docs → REST API Reference**), offline. "
        "A token for the examples:",
        "",
        "```bash",
        "TOKEN=$(curl -s -X POST localhost:8080/auth/token -H 'Content-Type: application/json' \\",
        "        -d '{\"username\": \"admin\", \"password\": \"...\"}' | python3 -c "
        "'import sys, json; print(json.load(sys.stdin)[\"access_token\"])')",
        "curl -s localhost:8080/api/v2/dags -H \"Authorization: Bearer $TOKEN\"",
        "```",
    ]
    for tag in sorted(by_tag):
        lines += ["", f"## {tag}", "", "| method | path | what it does |", "|---|---|---|"]
        for method, path, operation in sorted(by_tag[tag], key=lambda o: (o[1], o[0])):
            summary = operation.get("summary") or operation.get("operationId", "")
            description = (operation.get("description") or "").strip()
            same = description.lower().rstrip(".") == summary.lower()
            text = summary + (f": {description}" if description and not same else "")
            lines.append(f"| `{method}` | {_code(path)} | {_cell(text)} |")
    return "\n".join(lines) + "\n"


PAGES = {"reference/configuration.md": configuration_page, "reference/cli.md": cli_page,
         "reference/rest-api.md": rest_api_page}


# ---------------------------------------------------------------- MkDocs hook


def adr_nav(docs_dir: Path) -> list[dict]:
    """Every ADR, in number order, titled by its first heading."""
    entries = []
    for path in sorted((docs_dir / "adr").glob("*.md")):
        title = path.read_text().split("\n", 1)[0].lstrip("# ").strip() or path.stem
        entries.append({title: f"adr/{path.name}"})
    return entries


def on_config(config):
    for item in config["nav"]:
        if isinstance(item, dict) and "Decisions (ADRs)" in item:
            item["Decisions (ADRs)"] = adr_nav(Path(config["docs_dir"]))
    return config


def on_files(files, config):
    from mkdocs.structure.files import File

    for uri, make in PAGES.items():
        files.append(File.generated(config, uri, content=make()))
    return files


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "build/work/reference")
    for uri, make in PAGES.items():
        (out / uri).parent.mkdir(parents=True, exist_ok=True)
        (out / uri).write_text(make())
        print(out / uri)
