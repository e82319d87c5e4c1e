"""Jinja rendering of a task's template fields against the run context."""

from __future__ import annotations

import os
from typing import Any


class LiteralValue:
    """A value that templating leaves alone (`literal("{{ not rendered }}")`)."""

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        return f"literal({self.value!r})"

    def resolve(self, context=None) -> Any:
        return self.value


def literal(value: Any) -> LiteralValue:
    return LiteralValue(value)


def _filters() -> dict:
    # The date filters Airflow adds to every template environment.
    return {
        "ds": lambda d: d.strftime("%Y-%m-%d"),
        "ds_nodash": lambda d: d.strftime("%Y%m%d"),
        "ts": lambda d: d.isoformat(),
        "ts_nodash": lambda d: d.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": lambda d: d.isoformat().replace("-", "").replace(":", ""),
    }


def template_env(dag, task=None):
    """The jinja environment for a DAG (native when the DAG/task asks for it)."""
    import jinja2
    import jinja2.nativetypes
    import jinja2.sandbox

    native = dag.render_template_as_native_obj if dag is not None else False
    if task is not None and task.render_template_as_native_obj is not None:
        native = task.render_template_as_native_obj
    searchpath = []
    if dag is not None:
        if dag.fileloc:
            searchpath.append(os.path.dirname(dag.fileloc))
        searchpath.extend(dag.template_searchpath or [])
    options: dict[str, Any] = {
        "loader": jinja2.FileSystemLoader(searchpath),
        "undefined": (dag.template_undefined if dag is not None and dag.template_undefined else jinja2.StrictUndefined),
        "extensions": ["jinja2.ext.do"],
        "cache_size": 0,
        "keep_trailing_newline": True,
    }
    if dag is not None and dag.jinja_environment_kwargs:
        options.update(dag.jinja_environment_kwargs)
    env_cls = NativeSandboxedEnvironment() if native else jinja2.sandbox.SandboxedEnvironment
    env = env_cls(**options)
    env.filters.update(_filters())
    if dag is not None and dag.user_defined_filters:
        env.filters.update(dag.user_defined_filters)
    return env


def NativeSandboxedEnvironment():
    import jinja2.nativetypes
    import jinja2.sandbox

    class _Native(jinja2.sandbox.SandboxedEnvironment, jinja2.nativetypes.NativeEnvironment):
        code_generator_class = jinja2.nativetypes.NativeCodeGenerator
        concat = staticmethod(jinja2.nativetypes.native_concat)
        template_class = jinja2.nativetypes.NativeTemplate

    return _Native


def render_value(value: Any, context: dict, env, template_ext=()) -> Any:
    """Render strings with jinja; walk into containers and templated objects."""
    if isinstance(value, LiteralValue):
        return value.value
    from leoflow.sdk.params import DagParam

    if isinstance(value, DagParam):
        return value.resolve(context)
    if isinstance(value, str):
        if template_ext and value.endswith(tuple(template_ext)):
            return env.get_template(value).render(context)
        return env.from_string(value).render(context)
    from leoflow.sdk.xcomarg import XComArg

    if isinstance(value, XComArg):
        return value.resolve(context)
    if isinstance(value, list):
        return [render_value(v, context, env, template_ext) for v in value]
    if isinstance(value, tuple):
        items = [render_value(v, context, env, template_ext) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, (set, frozenset)):
        return type(value)(render_value(v, context, env, template_ext) for v in value)
    if isinstance(value, dict):
        return {k: render_value(v, context, env, template_ext) for k, v in value.items()}
    fields = getattr(value, "template_fields", None)
    if fields and not isinstance(value, type) and not callable(getattr(value, "execute", None)):
        # A user object that declares its own template_fields is rendered in place.
        for name in fields:
            setattr(value, name, render_value(getattr(value, name), context, env, template_ext))
    return value


def render_task_fields(task, context: dict, env=None) -> None:
    """Replace each template field of `task` with its rendered value."""
    env = env or template_env(task.dag, task)
    if task.dag is not None and task.dag.user_defined_macros:
        context = {**context, **task.dag.user_defined_macros}
    rendered = {}
    for name in task.template_fields:
        value = getattr(task, name, None)
        if value is None:
            continue
        new = render_value(value, context, env, task.template_ext)
        setattr(task, name, new)
        rendered[name] = new
    task.__dict__["_rendered_fields"] = rendered
