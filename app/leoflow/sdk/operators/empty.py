"""EmptyOperator: a task that does nothing (the scheduler may skip running it)."""

from leoflow.sdk.baseoperator import BaseOperator


class EmptyOperator(BaseOperator):
    ui_color = "#e8f7e4"
    inherits_from_empty_operator = True  # the scheduler may mark it success without running it

    def execute(self, context) -> None:
        pass
