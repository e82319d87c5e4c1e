"""`>>` / `<<` between tasks, XComArgs and lists of them."""

from __future__ import annotations


class DependencyMixin:
    """Anything with set_upstream/set_downstream gets the bit-shift operators."""

    def set_upstream(self, other, edge_modifier=None) -> None:
        raise NotImplementedError

    def set_downstream(self, other, edge_modifier=None) -> None:
        raise NotImplementedError

    def __rshift__(self, other):
        self.set_downstream(other)
        return _wrap(other)

    def __lshift__(self, other):
        self.set_upstream(other)
        return _wrap(other)

    # `[a, b] >> c` lands here on c, because lists have no `>>`.
    def __rrshift__(self, other):
        self.set_upstream(other)
        return self

    def __rlshift__(self, other):
        self.set_downstream(other)
        return self


def _wrap(other):
    # `with setup >> [t1, t2]:` needs the list to be a context manager.
    if isinstance(other, list) and not hasattr(other, "__enter__"):
        from leoflow.sdk.setup_teardown import ContextWrapper

        return ContextWrapper(other)
    return other


def as_operators(items) -> list:
    """Flatten an operator / XComArg / nested list of them to operators."""
    from leoflow.sdk.xcomarg import XComArg

    if isinstance(items, (list, tuple, set, frozenset)):
        out = []
        for item in items:
            out.extend(as_operators(item))
        return out
    if isinstance(items, XComArg):
        return items.upstream_operators()
    if hasattr(items, "task_id") and hasattr(items, "upstream_task_ids"):
        return [items]
    raise TypeError(f"Relationships can only be set between operators and XComArgs; received {type(items).__name__}")


def chain(*elements) -> None:
    """Link each element to the next; two lists in a row are linked pairwise."""
    for up, down in zip(elements, elements[1:]):
        up_is_list = isinstance(up, (list, tuple))
        down_is_list = isinstance(down, (list, tuple))
        if up_is_list and down_is_list:
            if len(up) != len(down):
                from leoflow.sdk.exceptions import AirflowException

                raise AirflowException(
                    f"Chain not supported for different length Iterable. Got {len(up)} and {len(down)}."
                )
            for u, d in zip(up, down):
                u.set_downstream(d)
        elif up_is_list:
            for u in up:
                u.set_downstream(down)
        else:
            up.set_downstream(down)


def cross_downstream(from_tasks, to_tasks) -> None:
    """Every task in from_tasks becomes upstream of every task in to_tasks."""
    for task in from_tasks:
        task.set_downstream(to_tasks)


def chain_linear(*elements) -> None:
    """Like chain, but every element of a list links to every element of the next."""
    for up, down in zip(elements, elements[1:]):
        for u in up if isinstance(up, (list, tuple)) else [up]:
            u.set_downstream(down)
