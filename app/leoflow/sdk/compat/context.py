"""`airflow.utils.context` / `airflow.operators.python.get_current_context` paths."""

from leoflow.sdk.runtime import get_current_context

Context = dict  # Airflow types the context as a TypedDict; at run time it is a dict



def context_merge(context: dict, *args, **kwargs) -> None:
    """Merge dicts and keyword arguments into a context (Airflow helper)."""
    if not context:
        context = {}
    context.update(*args, **kwargs)


def context_copy_partial(source: dict, keys) -> dict:
    return {k: v for k, v in source.items() if k in set(keys)}


__all__ = ["Context", "context_copy_partial", "context_merge", "get_current_context"]
