"""Leoflow: runs Airflow 3.2 DAG files unchanged, from one executable."""

__version__ = "0.1.0"
# The Airflow version whose DAG files, REST API and Execution API Leoflow speaks.
AIRFLOW_COMPAT_VERSION = "3.2.1"
