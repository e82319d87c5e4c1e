"""`macros` in templates: date helpers plus a few stdlib modules, as in Airflow."""

import datetime as _dt
import json  # noqa: F401  (exposed to templates)
import time  # noqa: F401  (the module, as in Airflow)
import uuid  # noqa: F401
from datetime import datetime, timedelta  # noqa: F401
from random import random  # noqa: F401  (Airflow exposes the function, not the module)

try:  # dateutil comes with pendulum; Airflow exposes it as macros.dateutil
    import dateutil  # noqa: F401
    import dateutil.parser  # noqa: F401
    import dateutil.relativedelta  # noqa: F401
except ImportError:  # pragma: no cover - only without pendulum's dependency
    pass


def ds_add(ds: str, days: int) -> str:
    """`ds_add('2015-01-01', 5)` -> '2015-01-06'."""
    if not days:
        return str(ds)
    return (_dt.datetime.strptime(str(ds), "%Y-%m-%d") + _dt.timedelta(days=days)).strftime("%Y-%m-%d")


def ds_format(ds: str, input_format: str, output_format: str) -> str:
    """`ds_format('2015-01-01', '%Y-%m-%d', '%m-%d-%y')` -> '01-01-15'."""
    return _dt.datetime.strptime(str(ds), input_format).strftime(output_format)


def datetime_diff_for_humans(dt, since=None) -> str:
    import pendulum

    return pendulum.instance(dt).diff_for_humans(pendulum.instance(since) if since else None)


def ds_format_locale(ds: str, input_format: str, output_format: str, locale=None) -> str:
    """Localized formatting (Babel format strings); needs the `babel` package, as in Airflow."""
    try:
        from babel.dates import LC_TIME, format_datetime
    except ImportError:
        raise ImportError("macros.ds_format_locale needs the babel package (pip install babel)") from None
    return format_datetime(_dt.datetime.strptime(str(ds), input_format), format=output_format,
                           locale=locale or LC_TIME)
