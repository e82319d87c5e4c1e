"""Airflow provider packages under Leoflow: their names, installing them, and discovering what is installed.

The providers' own code runs unchanged; the `airflow.*` modules they import are served by
`leoflow.sdk.importhook`. Nothing here imports a provider at import time.
"""
