"""`airflow`: the Airflow 2 top-level names (`from airflow import DAG`)."""

from leoflow import AIRFLOW_COMPAT_VERSION as __version__  # noqa: F401
from leoflow.sdk.dag import DAG  # noqa: F401
from leoflow.sdk.exceptions import AirflowException  # noqa: F401

__all__ = ["DAG", "AirflowException", "__version__"]
