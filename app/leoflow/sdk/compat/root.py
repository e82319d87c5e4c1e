"""`airflow`: the top-level names Airflow 3.2 still serves (`from airflow import DAG`)."""

from leoflow import AIRFLOW_COMPAT_VERSION as __version__  # noqa: F401
from leoflow.sdk.assets import Asset  # noqa: F401
from leoflow.sdk.dag import DAG  # noqa: F401
from leoflow.sdk.exceptions import AirflowException  # noqa: F401
from leoflow.sdk.xcomarg import XComArg  # noqa: F401

Dataset = Asset  # deprecated alias Airflow 3.2 keeps

__all__ = ["DAG", "Asset", "XComArg", "Dataset", "AirflowException", "__version__"]
