"""Human-in-the-loop operators: parsed (graph, validation) but not run by Leoflow yet.

Their DAGs parse so the graph, the UI and every other task work; a HITL task
itself fails when it runs with an error naming the missing feature (Leoflow has
no HITL response API or UI yet) — never a silent difference.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from leoflow.sdk.baseoperator import BaseOperator
from leoflow.sdk.exceptions import AirflowException
from leoflow.sdk.operators.branch import BranchMixIn, SkipMixin
from leoflow.sdk.params import ParamsDict

_UNSUPPORTED = ("Leoflow does not support human-in-the-loop (HITL) responses yet: "
                "{task} cannot ask for input")


class HITLOperator(BaseOperator):
    template_fields = ("subject", "body")

    def __init__(self, *, subject: str, options: list[str], body: str | None = None,
                 defaults: str | list[str] | None = None, multiple: bool = False, params=None,
                 notifiers=None, assigned_users=None, response_timeout: dt.timedelta | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.execution_timeout and not response_timeout:
            # As in Airflow: execution_timeout used to mean the response wait.
            response_timeout, self.execution_timeout = self.execution_timeout, None
        self.response_timeout = response_timeout
        self.subject = subject
        self.body = body
        self.options = options
        self.defaults = [defaults] if isinstance(defaults, str) else defaults
        self.multiple = multiple
        self.params = params if isinstance(params, ParamsDict) else ParamsDict(params or {})
        self.notifiers = [notifiers] if notifiers is not None and not isinstance(notifiers, (list, tuple)) \
            else list(notifiers or [])
        self.assigned_users = [assigned_users] if isinstance(assigned_users, dict) else assigned_users
        if not self.options:
            raise ValueError('"options" cannot be empty.')
        if "_options" in self.params:
            raise ValueError('"_options" is not allowed in params')
        if self.defaults is not None:
            if not set(self.defaults).issubset(self.options):
                raise ValueError(f'defaults "{self.defaults}" should be a subset of options "{self.options}"')
            if self.multiple is False and len(self.defaults) > 1:
                raise ValueError('More than one defaults given when "multiple" is set to False.')

    def execute(self, context) -> Any:
        raise AirflowException(_UNSUPPORTED.format(task=self.task_id))

    @staticmethod
    def generate_link_to_ui_from_context(context, base_url: str | None = None, options=None,
                                         params_input=None) -> str:
        ti = context.get("ti")
        base = (base_url or "").rstrip("/")
        return (f"{base}/dags/{getattr(ti, 'dag_id', '')}/runs/{getattr(ti, 'run_id', '')}/tasks/"
                f"{getattr(ti, 'task_id', '')}/required_actions")


class ApprovalOperator(HITLOperator, SkipMixin):
    inherits_from_skipmixin = True
    FIXED_ARGS = ["options", "multiple"]
    APPROVE = "Approve"
    REJECT = "Reject"

    def __init__(self, *, ignore_downstream_trigger_rules: bool = False, fail_on_reject: bool = False,
                 **kwargs: Any) -> None:
        for arg in self.FIXED_ARGS:
            if arg in kwargs:
                raise ValueError(f"Passing {arg} to ApprovalOperator is not allowed.")
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules
        self.fail_on_reject = fail_on_reject
        super().__init__(options=[self.APPROVE, self.REJECT], multiple=False, **kwargs)


class HITLBranchOperator(HITLOperator, BranchMixIn):
    inherits_from_skipmixin = True

    def __init__(self, *, options_mapping: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.options_mapping = options_mapping or {}
        invalid = set(self.options_mapping) - set(self.options)
        if invalid:
            raise ValueError(f"`options_mapping` contains keys that are not in `options`: {sorted(invalid)}")
        for key, value in self.options_mapping.items():
            if not isinstance(value, str):
                raise ValueError(f"`options_mapping[{key!r}]` must be a string (task_id), got {type(value).__name__}")


class HITLEntryOperator(HITLOperator):
    def __init__(self, **kwargs: Any) -> None:
        if "options" not in kwargs:
            kwargs["options"] = ["OK"]
            kwargs.setdefault("defaults", ["OK"])
        super().__init__(**kwargs)
