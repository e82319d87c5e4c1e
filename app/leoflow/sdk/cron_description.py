"""Cron expressions in words, as Airflow 3.2 shows them ("At 00:00", "Every hour", ...).

Covers the shapes DAGs use (fixed or stepped minutes and hours, week days,
days of the month, months); anything else is described by the expression itself.
"""

from __future__ import annotations

_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS = ["", "January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_DAY_NAMES = {d[:3].upper(): i for i, d in enumerate(_DAYS[:7])}
_MONTH_NAMES = {m[:3].upper(): i for i, m in enumerate(_MONTHS) if m}


def _num(text: str, names: dict | None = None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    return int(text)


def _list(field: str, words: list[str], names: dict | None = None) -> str:
    parts = []
    for item in field.split(","):
        if "-" in item:
            a, b = item.split("-", 1)
            parts.append(f"{words[_num(a, names)]} through {words[_num(b, names)]}")
        else:
            parts.append(words[_num(item, names)])
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _ordinal_suffix(n: int) -> str:
    return f"{n}"


def describe(expression: str) -> str:
    try:
        return _describe(expression)
    except (ValueError, IndexError, KeyError):
        return expression


def _describe(expression: str) -> str:
    fields = expression.split()
    if len(fields) != 5:
        return expression
    minute, hour, dom, month, dow = fields
    # Time of day.
    if minute.isdigit() and hour.isdigit():
        text = f"At {int(hour):02d}:{int(minute):02d}"
    elif minute == "*" and hour == "*":
        text = "Every minute"
    elif minute.startswith("*/") and hour == "*":
        step = int(minute[2:])
        text = "Every minute" if step == 1 else f"Every {step} minutes"
    elif minute.isdigit() and hour == "*":
        text = "Every hour" if int(minute) == 0 else f"At {int(minute)} minutes past the hour"
    elif minute.isdigit() and hour.startswith("*/"):
        step = int(hour[2:])
        base = f"At {int(minute)} minutes past the hour" if int(minute) else "At 0 minutes past the hour"
        text = f"{base}, every {step} hours" if step > 1 else base
    elif minute.isdigit() and "," in hour and all(h.isdigit() for h in hour.split(",")):
        times = [f"{int(h):02d}:{int(minute):02d}" for h in hour.split(",")]
        text = "At " + ", ".join(times[:-1]) + " and " + times[-1]
    elif minute.isdigit() and "-" in hour:
        a, b = hour.split("-", 1)
        text = f"At {int(minute)} minutes past the hour, between {int(a):02d}:00 and {int(b):02d}:59"
    else:
        return expression
    # Which days.
    if dom != "*":
        if dom.startswith("*/"):
            text += f", every {int(dom[2:])} days"
        else:
            text += f", on day {dom.replace(',', ', ')} of the month"
    if dow not in ("*", "?"):
        text += f", only on {_list(dow, _DAYS, _DAY_NAMES)}"
    if month != "*":
        if month.startswith("*/"):
            text += f", every {int(month[2:])} months"
        else:
            text += f", only in {_list(month, _MONTHS, _MONTH_NAMES)}"
    return text
