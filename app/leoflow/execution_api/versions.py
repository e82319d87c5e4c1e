"""API-version negotiation: the `Airflow-API-Version` header a task SDK sends picks the shapes it gets.

Two versions are served:
- `2026-04-06`, sent by Airflow 3.2's task SDK (1.2.x), and the answer to a request without the header;
- `2025-11-05`, sent by Airflow 3.1's task SDK (1.1.x), the release before: its run context has
  `upstream_map_indexes`, its dag runs have no `partition_key`/`note` and always a `start_date`, its
  `next_kwargs` use the older serialization, and the routes added in 2026-04-06 do not exist for it.

A date picks the newest served version on or before it (as Airflow's server does); a date before
2025-11-05 is refused with 400 naming the range; anything that is not a date is a 422 on the header.
"""

from __future__ import annotations

import datetime as dt

from .http import HTTPError

LATEST = "2026-04-06"
PREVIOUS = "2025-11-05"
SERVED = (PREVIOUS, LATEST)  # oldest first
HEADER = "airflow-api-version"

_RESOLVED: dict[str, str] = {}  # header value -> served version: every request of a task sends the same


def negotiate(requested: str | None) -> str:
    """The served version for a request's header value (raises HTTPError 400/422)."""
    if not requested:
        return LATEST
    version = _RESOLVED.get(requested)
    if version is None:
        version = _RESOLVED[requested] = _resolve(requested)
        if len(_RESOLVED) > 64:
            _RESOLVED.clear()
    return version


def _resolve(requested: str) -> str:
    try:
        day = dt.date.fromisoformat(requested.strip()[:10])
        if len(requested.strip()) > 10:
            dt.datetime.fromisoformat(requested.strip())
    except ValueError:
        raise HTTPError(422, [{"type": "date_from_datetime_parsing", "loc": ["header", "Airflow-API-Version"],
                               "msg": "Input should be a valid date", "input": requested}])
    text = day.isoformat()
    served = [v for v in SERVED if v <= text]
    if not served:
        raise HTTPError(400, {"reason": "unsupported_api_version",
                              "message": f"Airflow-API-Version {requested} is not supported: this server "
                                         f"speaks {PREVIOUS} (Airflow 3.1's task SDK) to {LATEST} (Airflow "
                                         "3.2's); upgrade the task SDK"})
    return served[-1]


# --- 2025-11-05 shapes ---------------------------------------------------------------------------


def dag_run_for(version: str, run: dict) -> dict:
    if version >= LATEST:
        return run
    run = {k: v for k, v in run.items() if k not in ("partition_key", "note")}
    if run.get("start_date") is None:  # not nullable before 2026-04-06
        run["start_date"] = run.get("run_after")
    return run


def run_context_for(version: str, context: dict) -> dict:
    if version >= LATEST:
        return context
    out = dict(context)
    out["dag_run"] = dag_run_for(version, context["dag_run"])
    out["upstream_map_indexes"] = None  # the older SDK computes them itself when None
    if out.get("next_kwargs") is not None:
        out["next_kwargs"] = _legacy_serialized(out["next_kwargs"])
    return out


def asset_events_for(version: str, body: dict) -> dict:
    if version >= LATEST:
        return body
    events = []
    for event in body["asset_events"]:
        event = {k: v for k, v in event.items() if k != "partition_key"}
        event["created_dagruns"] = [{k: v for k, v in r.items() if k != "partition_key"}
                                    for r in event.get("created_dagruns", [])]
        events.append(event)
    return {**body, "asset_events": events}


def _legacy_serialized(value):
    """`next_kwargs` as the older SDK deserializes them: dicts wrapped as {"__type": "dict", "__var": ...}.

    A value that already is in that form (stored by an older SDK) keeps it; keys added beside the
    wrapper (the trigger's `event`) move inside it."""
    if isinstance(value, dict):
        if value.get("__type") == "dict" and isinstance(value.get("__var"), dict):
            inner = dict(value["__var"])
            inner.update({k: _legacy_serialized(v) for k, v in value.items() if k not in ("__type", "__var")})
            return {"__type": "dict", "__var": inner}
        if "__type" in value and "__var" in value:
            return value
        return {"__type": "dict", "__var": {k: _legacy_serialized(v) for k, v in value.items()}}
    if isinstance(value, list):
        return [_legacy_serialized(v) for v in value]
    return value
