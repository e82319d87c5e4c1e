"""`airflow.*` names resolve to Leoflow modules; unknown ones say what is missing."""

import importlib
import sys

import pytest

from leoflow.sdk import importhook


def test_airflow3_names():
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import (DAG, BaseOperator, Connection, Param, TriggerRule, Variable, XComArg,  # noqa: F401
                             chain, dag, get_current_context, task, timezone)

    from leoflow.sdk.baseoperator import BaseOperator as Ours

    assert issubclass(BashOperator, Ours) and issubclass(PythonOperator, Ours) and issubclass(EmptyOperator, Ours)
    assert TriggerRule.ALL_DONE == "all_done"
    assert timezone.datetime(2021, 1, 1).utcoffset().total_seconds() == 0


def test_airflow2_names():
    from airflow import DAG
    from airflow.decorators import dag, task  # noqa: F401
    from airflow.exceptions import AirflowException, AirflowFailException, AirflowSkipException, AirflowTaskTimeout
    from airflow.operators.bash import BashOperator  # noqa: F401
    from airflow.operators.empty import EmptyOperator  # noqa: F401
    from airflow.operators.python import PythonOperator  # noqa: F401
    from airflow.utils.trigger_rule import TriggerRule

    import airflow.sdk

    assert DAG is airflow.sdk.DAG
    assert issubclass(AirflowSkipException, AirflowException)
    assert issubclass(AirflowFailException, AirflowException) and issubclass(AirflowTaskTimeout, AirflowException)
    assert TriggerRule("one_success") is TriggerRule.ONE_SUCCESS


def test_modules_are_real_modules():
    import airflow.operators.bash as mod

    assert type(mod).__name__ == "module" and mod.__name__ == "airflow.operators.bash"
    assert sys.modules["airflow.operators.bash"] is mod


def test_unsupported_module_names_itself():
    # A missing module is a ModuleNotFoundError, as Python raises, so DAG files' fallbacks catch it
    with pytest.raises(ModuleNotFoundError, match=r"`airflow\.providers\.amazon` needs the provider `amazon`, which "
                       r"is not installed: `leoflow providers install amazon`") as err:
        importlib.import_module("airflow.providers.amazon.aws.operators.s3")
    assert err.value.name == "airflow.providers.amazon"


def test_unsupported_name_from_supported_module():
    # a plain ImportError: Python would replace a ModuleNotFoundError's message with "cannot import name"
    with pytest.raises(ImportError, match=r"`airflow\.sdk\.NotAThing`") as err:
        exec("from airflow.sdk import NotAThing", {})
    assert type(err.value) is ImportError


@pytest.mark.parametrize(("module", "replacement"), [
    ("airflow.operators.dummy", "`airflow.providers.standard.operators.empty.EmptyOperator`"),
    ("airflow.operators.bash_operator", "`airflow.providers.standard.operators.bash.BashOperator`"),
    ("airflow.operators.subdag", "`airflow.sdk.TaskGroup`"),
    ("airflow.operators.python_operator", "`airflow.providers.standard.operators.python`"),
    ("airflow.sensors.external_task_sensor",
     "`airflow.providers.standard.sensors.external_task.ExternalTaskSensor`"),
    ("airflow.hooks.base_hook", "`airflow.sdk.BaseHook`"),
])
def test_a_module_airflow_3_removed_is_not_found_and_the_error_names_its_replacement(module, replacement):
    with pytest.raises(ModuleNotFoundError) as err:
        exec(f"from {module} import Something", {})
    assert err.value.name == module
    assert str(err.value).startswith(f"No module named '{module}': it was removed in Airflow 3; use ")
    assert replacement in str(err.value) and "does not support" not in str(err.value)
    fallback = {}
    exec(f"try:\n    import {module}\nexcept ModuleNotFoundError:\n    caught = True\n", fallback)
    assert fallback["caught"] is True


def test_every_replacement_leoflow_provides_imports():
    import re

    from leoflow.sdk.removed_paths import REMOVED

    for replacement in REMOVED.values():
        if "not provided by Leoflow" in replacement or "providers.*" in replacement:
            continue
        for path in re.findall(r"`(airflow\.[\w.]+)`", replacement):
            try:
                importlib.import_module(path)
            except ImportError:  # a class: its module, then the name in it
                module, _, name = path.rpartition(".")
                assert hasattr(importlib.import_module(module), name), path


def test_install_is_idempotent_and_uninstall_removes():
    importhook.install()
    importhook.install()
    assert sum(isinstance(f, importhook.AirflowCompatFinder) for f in sys.meta_path) == 1
    import airflow  # noqa: F401

    importhook.uninstall()
    try:
        assert not importhook.installed()
        assert "airflow" not in sys.modules
    finally:
        importhook.install()


def test_every_mapped_module_imports():
    for name in importhook.MODULES:
        importlib.import_module(name)


def test_served_folder_answers_for_its_package(tmp_path):
    pkg = tmp_path / "bundle"
    (pkg / "libs").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "libs" / "__init__.py").write_text("")
    (pkg / "libs" / "helper.py").write_text("VALUE = 42\n")
    importhook.serve_folder("airflow.test_bundle", str(pkg))
    try:
        assert importlib.import_module("airflow.test_bundle.libs.helper").VALUE == 42
        with pytest.raises(ImportError, match="No module named 'airflow.test_bundle.missing'"):
            importlib.import_module("airflow.test_bundle.missing")
    finally:
        importhook.FOLDERS.pop("airflow.test_bundle", None)
        for name in [n for n in sys.modules if n.startswith("airflow.test_bundle")]:
            del sys.modules[name]


def test_decorator_module_paths_serve_the_operator_classes():
    from airflow.providers.standard.decorators.branch_python import _BranchPythonDecoratedOperator
    from airflow.providers.standard.decorators.python import python_task
    from airflow.sdk import DAG

    with DAG("paths") as d:
        @python_task
        def one():
            return 1

        one()
    assert _BranchPythonDecoratedOperator.custom_operator_name == "@task.branch"
    assert d.get_task("one").operator_name == "@task"


@pytest.mark.parametrize("statement", [
    "from airflow.utils.types import DagRunType, NOTSET",
    "from airflow.utils.xcom import XCOM_RETURN_KEY",
    "from airflow.notifications.basenotifier import BaseNotifier",
    "from airflow.models.baseoperatorlink import BaseOperatorLink",
    "from airflow.models.operator import BaseOperator",
    "from airflow.utils.context import Context, context_merge",
    "from airflow.decorators.base import TaskDecorator, get_unique_task_id",
    "from airflow.utils.dag_parsing_context import get_parsing_context",
])
def test_airflow2_paths_airflow_32_still_serves(statement):
    exec(statement, {})
