"""EmptyOperator: a task that does nothing (the scheduler may skip running it)."""

from leoflow.sdk.baseoperator import BaseOperator


class EmptyOperator(BaseOperator):
    ui_color = "#e8f7e4"

    def execute(self, context) -> None:
        pass
