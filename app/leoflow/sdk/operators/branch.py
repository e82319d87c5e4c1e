"""Branching: an operator decides which downstream tasks run; the others are skipped.

The decision is handed to the task runtime as `DownstreamTasksSkipped` (the
runtime marks those task instances skipped, then the branch task succeeds).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from leoflow.sdk.baseoperator import BaseOperator
from leoflow.sdk.exceptions import AirflowException, DownstreamTasksSkipped

XCOM_SKIPMIXIN_KEY = "skipmixin_key"
XCOM_SKIPMIXIN_SKIPPED = "skipped"
XCOM_SKIPMIXIN_FOLLOWED = "followed"


def _map_index(ti) -> int:
    value = getattr(ti, "map_index", -1)
    return -1 if value is None else value


def _push(ti, value: dict) -> None:
    push = getattr(ti, "xcom_push", None)
    if push is not None:
        push(key=XCOM_SKIPMIXIN_KEY, value=value)


class SkipMixin:
    """`skip()` and `skip_all_except()`: Airflow's way for a task to skip others."""

    def _raise_skips(self, task_ids: list[str], map_index: int) -> None:
        if task_ids and map_index == -1:
            raise DownstreamTasksSkipped(tasks=task_ids)
        if task_ids:
            raise DownstreamTasksSkipped(tasks=[(t, map_index) for t in task_ids])

    def skip(self, ti, tasks) -> None:
        ids = [t if isinstance(t, str) else t.task_id for t in tasks]
        if not ids:
            return
        _push(ti, {XCOM_SKIPMIXIN_SKIPPED: ids})
        self._raise_skips(ids, _map_index(ti))

    def skip_all_except(self, ti, branch_task_ids) -> None:
        if isinstance(branch_task_ids, str):
            chosen = {branch_task_ids}
        elif branch_task_ids is None:
            chosen = set()
        elif isinstance(branch_task_ids, Iterable):
            chosen = set(branch_task_ids)
            bad = {(b, type(b).__name__) for b in chosen if not isinstance(b, str)}
            if bad:
                raise AirflowException(
                    "Unable to branch to the specified tasks. The branching function returned invalid "
                    f"'branch_task_ids': {bad}. Please check that your function returns an Iterable of "
                    "valid task IDs that exist in your DAG."
                )
        else:
            raise AirflowException(
                "'branch_task_ids' must be either None, a task ID, or an Iterable of IDs, "
                f"but got {type(branch_task_ids).__name__!r}."
            )
        self.log.info("Following branch %s", chosen)
        task = getattr(ti, "task", None) or self
        dag = task.dag
        invalid = chosen - set(dag.task_ids)
        if invalid:
            raise AirflowException(f"'branch_task_ids' must contain only valid task_ids. Invalid tasks found: {invalid}.")
        downstream = task.downstream_list
        if not downstream:
            return
        followed = set(chosen)
        for branch in list(chosen):
            followed.update(dag.get_task(branch).get_flat_relative_ids(upstream=False))
        skip = [t.task_id for t in downstream if t.task_id not in followed]
        follow = [t.task_id for t in downstream if t.task_id in followed]
        self.log.info("Skipping tasks %s", skip)
        _push(ti, {XCOM_SKIPMIXIN_FOLLOWED: follow})
        self._raise_skips(skip, _map_index(ti))


class BranchMixIn(SkipMixin):
    def do_branch(self, context, branches_to_execute):
        self.log.info("Branch into %s", branches_to_execute)
        ti = context["ti"]
        if branches_to_execute is None:
            self.skip_all_except(ti, None)
        else:
            self.skip_all_except(ti, list(self._expand_task_group_roots(ti, branches_to_execute)))
        return branches_to_execute

    def _expand_task_group_roots(self, ti, branches):
        dag = (getattr(ti, "task", None) or self).dag
        if isinstance(branches, str) or not isinstance(branches, Iterable):
            branches = [branches]
        groups = dag.task_group_dict
        for branch in branches:
            if branch in groups:
                yield from (root.task_id for root in groups[branch].roots)
            else:
                yield branch


class BaseBranchOperator(BaseOperator, BranchMixIn):
    """Subclasses implement `choose_branch(context)` returning task id(s) to follow."""

    inherits_from_skipmixin = True

    def choose_branch(self, context) -> Any:
        raise NotImplementedError

    def execute(self, context):
        return self.do_branch(context, self.choose_branch(context))
