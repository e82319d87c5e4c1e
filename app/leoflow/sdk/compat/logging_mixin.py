"""`airflow.utils.log.logging_mixin`: a `log` attribute named after the class, as Airflow gives it."""

from __future__ import annotations

import logging
import sys
from typing import Any


class LoggingMixin:
    """`self.log`: the logger `<module>.<Class>` (or `_logger_name`), made once per object."""

    _log: logging.Logger | None = None
    _log_config_logger_name: str | None = None
    _logger_name: str | None = None

    def __init__(self, context=None):
        self._set_context(context)

    @staticmethod
    def _create_logger_name(logged_class: type, log_config_logger_name: str | None = None,
                            class_logger_name: str | None = None) -> str:
        name = class_logger_name if class_logger_name is not None else \
            f"{logged_class.__module__}.{logged_class.__name__}"
        return f"{log_config_logger_name}.{name}" if log_config_logger_name else name

    @classmethod
    def _get_log(cls, obj: Any, clazz: type) -> logging.Logger:
        if obj._log is None:
            obj._log = logging.getLogger(cls._create_logger_name(clazz, obj._log_config_logger_name,
                                                                 obj._logger_name))
        return obj._log

    @classmethod
    def logger(cls) -> logging.Logger:
        return LoggingMixin._get_log(cls, cls)

    @property
    def log(self) -> logging.Logger:
        return LoggingMixin._get_log(self, self.__class__)

    def _set_context(self, context):
        return None


class StreamLogWriter:
    """A file-like object that writes lines to a logger (`print` inside a task ends in its log)."""

    encoding = None

    def __init__(self, logger, level):
        self.logger = logger
        self.level = level
        self._buffer = ""

    @property
    def closed(self):
        return False

    def write(self, message):
        self._buffer += message
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            if line.rstrip():
                self.logger.log(self.level, line.rstrip())

    def flush(self):
        if self._buffer.rstrip():
            self.logger.log(self.level, self._buffer.rstrip())
        self._buffer = ""

    def isatty(self):
        return False


def remove_escape_codes(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def set_context(logger, value):
    return None


__all__ = ["LoggingMixin", "StreamLogWriter", "remove_escape_codes", "set_context", "sys"]
