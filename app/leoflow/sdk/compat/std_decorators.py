"""`airflow.providers.standard.decorators.*`: the `@task.x` functions and their operator classes."""

from leoflow.sdk.decorators import (  # noqa: F401
    DECORATED_CLASSES, _BashDecoratedOperator, _PythonDecoratedOperator, task,
)

python_task = task.python
bash_task = task.bash
branch_task = task.branch
short_circuit_task = task.short_circuit
sensor_task = task.sensor
virtualenv_task = task.virtualenv
external_python_task = task.external_python
branch_virtualenv_task = task.branch_virtualenv
branch_external_python_task = task.branch_external_python


def __getattr__(name: str):
    if name in DECORATED_CLASSES:
        return DECORATED_CLASSES[name]()
    if name == "DecoratedSensorOperator":
        from leoflow.sdk.sensors.standard import DecoratedSensorOperator

        return DecoratedSensorOperator
    raise AttributeError(f"Leoflow does not support airflow.providers.standard.decorators.{name} yet")
