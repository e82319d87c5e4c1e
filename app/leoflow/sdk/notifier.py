"""BaseNotifier: a callable callback object (`on_failure_callback=MyNotifier(...)`)."""

from __future__ import annotations

import logging
from typing import Any


class BaseNotifier:
    template_fields: tuple[str, ...] = ()
    template_ext: tuple[str, ...] = ()

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    @property
    def log(self) -> logging.Logger:
        return logging.getLogger(f"airflow.task.notifier.{type(self).__name__}")

    def render_template_fields(self, context, jinja_env=None) -> None:
        from leoflow.sdk.templating import render_value, template_env

        dag = context.get("dag")
        env = jinja_env or template_env(dag)
        for name in self.template_fields:
            setattr(self, name, render_value(getattr(self, name), context, env, self.template_ext))

    def notify(self, context) -> None:
        raise NotImplementedError

    def __call__(self, *args: Any) -> None:
        # Airflow calls DAG callbacks with (context,) and task callbacks the same way.
        context = args[0] if args else {}
        try:
            self.render_template_fields(context)
        except Exception as exc:  # rendering problems must not hide the notification
            self.log.warning("Could not render the notifier's templates: %s", exc)
        self.notify(context)
