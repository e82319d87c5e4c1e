"""`airflow.models.baseoperator` / `airflow.utils.helpers`: chain and friends."""

from leoflow.sdk.baseoperator import BaseOperator
from leoflow.sdk.dependencies import chain, chain_linear, cross_downstream

__all__ = ["BaseOperator", "chain", "chain_linear", "cross_downstream"]
