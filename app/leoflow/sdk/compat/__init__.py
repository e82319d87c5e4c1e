"""Namespaces served as `airflow.*` modules by `leoflow.sdk.importhook`."""
