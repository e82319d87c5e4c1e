"""`airflow.models.baseoperator` / `airflow.utils.helpers`: chain and friends."""

from leoflow.sdk.baseoperator import BaseOperator
from leoflow.sdk.dependencies import chain, chain_linear, cross_downstream



class BaseAsyncOperator(BaseOperator):
    """An operator whose work is `async def aexecute(context)` (Airflow 3.2): run to completion on an
    event loop of its own when the task executes."""

    @property
    def is_async(self) -> bool:
        return True

    async def aexecute(self, context):
        raise NotImplementedError()

    def execute(self, context):
        import asyncio

        return asyncio.run(self.aexecute(context))


__all__ = ["BaseOperator", "BaseAsyncOperator", "chain", "chain_linear", "cross_downstream"]
