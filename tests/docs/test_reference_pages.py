"""The documentation site's generated references are complete: every command, setting and operation.

The pages come from docs/mkdocs/gen_reference.py at every `make docs`; these tests walk the same
sources independently (the parser, the Settings dataclass, the served OpenAPI document) and look for
each item in the generated Markdown.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import re

import pytest

from tests.reference import ROOT


@pytest.fixture(scope="module")
def gen():
    spec = importlib.util.spec_from_file_location("gen_reference", ROOT / "docs" / "mkdocs" / "gen_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _commands(parser: argparse.ArgumentParser, prefix=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from _commands(sub, (*prefix, name))


def _sections(page: str) -> dict[str, str]:
    """The CLI page's text under each `leoflow ...` heading."""
    parts = re.split(r"^#{2,4} `(leoflow[^`]*)`.*$", page, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_cli_reference_has_every_command_and_option(gen):
    from leoflow.cli.main import build_parser

    page = gen.cli_page()
    sections = _sections(page)
    commands = list(_commands(build_parser()))
    assert len(commands) > 40
    for path, sub in commands:
        title = "leoflow " + " ".join(path)
        assert title in sections, f"{title} has no section in the CLI reference"
        section = sections[title]
        assert f"](#leoflow-{'-'.join(path)})" in page, f"{title} is missing from the command table"
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            names = action.option_strings or [action.metavar or action.dest]
            for name in names:
                assert name in section, f"{title}: {name} is not documented"
            if action.help and action.help != argparse.SUPPRESS:
                assert " ".join(action.help.split()).replace("|", "\\|") in section, f"{title} {names}: its help"


def test_configuration_reference_has_every_setting_and_variable(gen):
    from leoflow import config

    page = gen.configuration_page()
    fields = [f for f in dataclasses.fields(config.Settings) if f.name != "extra"]
    assert len(fields) > 40
    for field in fields:
        assert f"TOML `{field.name}`" in page, field.name
        row = next(line for line in page.splitlines() if line.startswith(f"| TOML `{field.name}`"))
        assert row.rstrip(" |").split("|")[-1].strip(), f"{field.name} has no description"
    for name, (env, airflow, _kind) in config._ENV.items():
        row = next(line for line in page.splitlines() if line.startswith(f"| TOML `{name}`"))
        for variable in [env, *airflow]:
            assert f"`{variable}`" in row, f"{name}: {variable}"
    # Variables read elsewhere in the code are listed too.
    for variable in re.findall(r"LEOFLOW_[A-Z0-9]+(?:_[A-Z0-9]+)*", (ROOT / "app/leoflow/sdk/plugins.py").read_text()):
        assert f"`{variable}`" in page, variable


def test_configuration_descriptions_come_from_the_code(gen):
    comments = gen.setting_comments()
    assert comments["zombie_threshold"] == "A running task that has not heart-beaten for this long is a zombie."
    assert comments["metrics_token"] == "a static bearer token Prometheus may scrape /metrics with"
    assert "kubernetes" in comments["executor"]


def test_rest_api_reference_has_every_served_operation(gen):
    document = gen.openapi_document()
    page = gen.rest_api_page()
    operations = [(method.upper(), path) for path, item in document["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")]
    assert len(operations) == 110
    for method, path in operations:
        assert f"| `{method}` | `{path}` |" in page, (method, path)


def test_every_adr_is_in_the_site_navigation(gen):
    nav = gen.adr_nav(ROOT / "docs")
    listed = {page for entry in nav for page in entry.values()}
    assert listed == {f"adr/{p.name}" for p in (ROOT / "docs" / "adr").glob("*.md")}
    assert list(nav[0]) == ["1. The single executable is built with PyInstaller (onefile)"]
