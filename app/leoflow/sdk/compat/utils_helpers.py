"""`airflow.utils.helpers`: the small functions operators and hooks import from it (Airflow 3.2's set)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Generator, Iterable
from functools import reduce
from typing import Any, TypeVar

from leoflow.sdk.compat.helpers import chain, chain_linear, cross_downstream  # noqa: F401

T = TypeVar("T")
KEY_REGEX = re.compile(r"^[\w.-]+$")
GROUP_KEY_REGEX = re.compile(r"^[\w-]+$")
CAMELCASE_TO_SNAKE_CASE_REGEX = re.compile(r"(?!^)([A-Z]+)")


def validate_key(k: str, max_length: int = 250) -> None:
    """A task or DAG id: a string of at most `max_length` alphanumerics, dashes, dots and underscores."""
    if not isinstance(k, str):
        raise TypeError(f"The key has to be a string and is {type(k)}:{k}")
    if len(k) > max_length:
        raise ValueError(f"The key has to be less than {max_length} characters")
    if not KEY_REGEX.match(k):
        raise ValueError(f"The key {k!r} has to be made of alphanumeric characters, dashes, dots and underscores "
                         "exclusively")


def validate_group_key(k: str, max_length: int = 200) -> None:
    if not isinstance(k, str):
        raise TypeError(f"The key has to be a string and is {type(k)}:{k}")
    if len(k) > max_length:
        raise ValueError(f"The key has to be less than {max_length} characters")
    if not GROUP_KEY_REGEX.match(k):
        raise ValueError(f"The key {k!r} has to be made of alphanumeric characters, dashes and underscores "
                         "exclusively")


def is_container(obj: Any) -> bool:
    """Iterable but not a string."""
    return hasattr(obj, "__iter__") and not isinstance(obj, (str, bytes))


def as_tuple(obj: Any) -> tuple:
    return tuple(obj) if is_container(obj) else (obj,)


def chunks(items: list[T], chunk_size: int) -> Generator[list[T], None, None]:
    if chunk_size <= 0:
        raise ValueError("Chunk size must be a positive integer")
    for i in range(0, len(items), chunk_size):
        yield items[i:i + chunk_size]


def reduce_in_chunks(fn: Callable, iterable: list, initializer, chunk_size: int = 0):
    if not iterable:
        return initializer
    if chunk_size == 0:
        chunk_size = len(iterable)
    return reduce(fn, chunks(iterable, chunk_size), initializer)


def as_flattened_list(iterable: Iterable[Iterable[T]]) -> list[T]:
    return [e for i in iterable for e in i]


def convert_camel_to_snake(camel_str: str) -> str:
    return CAMELCASE_TO_SNAKE_CASE_REGEX.sub(r"_\1", camel_str).lower()


def merge_dicts(dict1: dict, dict2: dict) -> dict:
    """dict1 updated by dict2, nested dicts merged the same way."""
    merged = dict1.copy()
    for k, v in dict2.items():
        if k in merged and isinstance(v, dict) and isinstance(merged[k], dict):
            merged[k] = merge_dicts(merged[k], v)
        else:
            merged[k] = v
    return merged


def partition(pred: Callable[[T], bool], iterable: Iterable[T]) -> tuple[Iterable[T], Iterable[T]]:
    """(items for which pred is false, items for which it is true)."""
    t1, t2 = itertools.tee(iterable)
    return itertools.filterfalse(pred, t1), filter(pred, t2)


def exactly_one(*args) -> bool:
    """Exactly one argument is truthy."""
    if set(args) == {True, False} and len(args) == 2 and isinstance(args[0], bool):
        return True
    return sum(map(bool, args)) == 1


def at_most_one(*args) -> bool:
    return sum(map(bool, args)) <= 1


def prune_dict(val: Any, mode: str = "strict"):
    """Drop None values (`strict`) or all falsy ones but 0/False (`truthy`), recursively."""

    def is_empty(x):
        if mode == "strict":
            return x is None
        if mode == "truthy":
            return x is None or (not x and not isinstance(x, (bool, int, float)))
        raise ValueError("allowable values for `mode` include 'truthy' and 'strict'")

    if isinstance(val, dict):
        new = {}
        for k, v in val.items():
            if is_empty(v):
                continue
            if isinstance(v, (list, dict)):
                v = prune_dict(v, mode=mode)
                if is_empty(v):
                    continue
            new[k] = v
        return new
    if isinstance(val, list):
        new_list = []
        for v in val:
            if is_empty(v):
                continue
            if isinstance(v, (list, dict)):
                v = prune_dict(v, mode=mode)
                if is_empty(v):
                    continue
            new_list.append(v)
        return new_list
    return val


def parse_template_string(template_string: str):
    """(None, template) when it holds Jinja markup, else (the string, None)."""
    import jinja2

    if "{{" in template_string:
        return None, jinja2.Template(template_string)
    return template_string, None


def render_template_to_string(template, context) -> str:
    return template.render(**context)


def ask_yesno(question: str, default: bool | None = None) -> bool:
    yes, no = {"yes", "y"}, {"no", "n"}
    while True:
        choice = input(question).lower()
        if choice in yes:
            return True
        if choice in no:
            return False
        if choice == "" and default is not None:
            return default
        print("Please respond with y/yes or n/no.")
