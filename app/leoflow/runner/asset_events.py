"""The asset parts of a task's context: `outlet_events`, `inlet_events`, `triggering_asset_events`.

They behave as Airflow 3.2's accessors: `outlet_events[asset].extra = {...}`,
`outlet_events[alias].add(Asset(...), extra=...)`, `inlet_events[asset][-1].extra`,
`inlet_events.for_asset(uri=...)`, `triggering_asset_events[asset]`. Keys may be
`Asset`/`AssetAlias` objects or asset names (and uris). What a task attached is sent
with its success report (`outlet_events`, see docs/waiting-and-assets.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

Fetch = Callable[[str, dict], Any]  # (Execution API path, query params) -> JSON body


class Record(dict):
    """A JSON object read with attributes too (`event.extra`, `event.asset.uri`)."""

    def __getattr__(self, name: str) -> Any:
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(name) from None
        return Record(value) if isinstance(value, dict) and not isinstance(value, Record) else value


_EVENT_TIMES = ("timestamp",)
_RUN_TIMES = ("logical_date", "start_date", "end_date", "data_interval_start", "data_interval_end", "run_after")


def _aware(value):
    """An ISO string from the API as the datetime Airflow's models give a task."""
    if not isinstance(value, str):
        return value
    import datetime as dt

    import pendulum

    when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return pendulum.instance(when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc))


class AssetEvent(Record):
    """An asset event as a task reads it: `timestamp` (and the dates of `created_dagruns`) are datetimes,
    as in Airflow's AssetEventResult / AssetEventDagRunReferenceResult."""

    def __init__(self, body: dict):
        super().__init__(body)
        for key in _EVENT_TIMES:
            if key in self:
                self[key] = _aware(self[key])
        if isinstance(self.get("created_dagruns"), list):
            self["created_dagruns"] = [Record({k: _aware(v) if k in _RUN_TIMES else v for k, v in r.items()})
                                       for r in self["created_dagruns"]]

    @property
    def source_dag_run(self) -> Record | None:
        """The run whose task made the event (read from the server), or None."""
        if not self.get("source_dag_id") or not self.get("source_run_id"):
            return None
        from leoflow.sdk.comms import get_comms

        getter = getattr(get_comms(), "get_json", None)
        body = getter(f"dag-runs/{self['source_dag_id']}/{self['source_run_id']}") if getter else None
        return Record({k: _aware(v) if k in _RUN_TIMES else v for k, v in body.items()}) if body else None


def _key(obj: Any) -> tuple[str, str | None]:
    """("asset"|"alias", name) for an Asset, AssetAlias, a ref or a plain name."""
    kind = type(obj).__name__
    if kind == "AssetAlias":
        return "alias", obj.name
    if hasattr(obj, "name") and getattr(obj, "name", None):
        return "asset", obj.name
    if hasattr(obj, "uri"):
        return "asset_uri", obj.uri
    return "asset", str(obj)


class OutletEventAccessor:
    def __init__(self, key: Any):
        self.key = key
        self.extra: dict = {}
        self.asset_alias_events: list[dict] = []

    def add(self, asset: Any, extra: dict | None = None) -> None:
        """An alias outlet: this task produced `asset` (resolved at run time)."""
        if type(self.key).__name__ != "AssetAlias":
            return
        self.asset_alias_events.append({
            "source_alias_name": self.key.name,
            "dest_asset_key": {"name": asset.name, "uri": asset.uri},
            "dest_asset_extra": dict(getattr(asset, "extra", {}) or {}),
            "extra": dict(extra or {}),
        })


class OutletEventAccessors(Mapping):
    def __init__(self):
        self._events: dict[tuple, OutletEventAccessor] = {}

    def __getitem__(self, key: Any) -> OutletEventAccessor:
        k = _key(key)
        if k not in self._events:
            self._events[k] = OutletEventAccessor(key)
        return self._events[k]

    def __iter__(self):
        return iter(acc.key for acc in self._events.values())

    def __len__(self) -> int:
        return len(self._events)

    def payload(self) -> list[dict]:
        """`outlet_events` of the success report."""
        out: list[dict] = []
        for acc in self._events.values():
            key = acc.key
            if type(key).__name__ == "AssetAlias":
                out.extend(acc.asset_alias_events)
            elif acc.extra:
                name = getattr(key, "name", None) or (key if isinstance(key, str) else None)
                uri = getattr(key, "uri", None) or name
                out.append({"dest_asset_key": {"name": name, "uri": uri}, "extra": dict(acc.extra)})
        return out


def record_metadata(outlet_events: OutletEventAccessors, item: Any) -> bool:
    """A `Metadata(asset, extra, alias)` a task yielded: it becomes the extra of that asset's event."""
    if type(item).__name__ != "Metadata":
        return False
    if getattr(item, "alias", None) is not None:
        outlet_events[item.alias].add(item.asset, extra=item.extra)
    else:
        outlet_events[item.asset].extra.update(item.extra)
    return True


class InletEventsAccessors(Mapping):
    """Events of the task's inlet assets, read from the server when asked for."""

    def __init__(self, inlets: list, fetch: Fetch | None):
        self._inlets = list(inlets)
        self._fetch = fetch

    def _events(self, path: str, params: dict) -> list[Record]:
        if self._fetch is None:
            return []
        body = self._fetch(path, params) or {}
        return [AssetEvent(e) for e in body.get("asset_events", [])]

    def __getitem__(self, key: Any) -> list[Record]:
        if type(key).__name__ == "AssetAlias":
            return self.for_asset_alias(name=key.name)
        if isinstance(key, str):
            return self.for_asset(name=key)
        return self.for_asset(name=getattr(key, "name", None), uri=getattr(key, "uri", None))

    def for_asset(self, *, name: str | None = None, uri: str | None = None) -> list[Record]:
        params = {k: v for k, v in (("name", name), ("uri", uri)) if v}
        return self._events("asset-events/by-asset", params)

    def for_asset_alias(self, *, name: str) -> list[Record]:
        return self._events("asset-events/by-asset-alias", {"name": name})

    def __iter__(self):
        return iter(self._inlets)

    def __len__(self) -> int:
        return len(self._inlets)


class TriggeringAssetEvents(Mapping):
    """The asset events that created this run. Iterated, its keys are Assets and AssetAliases (an event
    that came through an alias is under both), as Airflow's accessor; an Asset, AssetAlias, asset
    reference, or an asset's name or uri reads the events."""

    def __init__(self, consumed: list | None):
        self._events: dict[tuple, list[AssetEvent]] = {}
        for body in consumed or []:
            event = AssetEvent(body)
            asset = body.get("asset") or {}
            self._events.setdefault(("asset", asset.get("name"), asset.get("uri")), []).append(event)
            for alias in body.get("source_aliases") or []:
                self._events.setdefault(("alias", alias.get("name")), []).append(event)

    def _find(self, key: Any) -> list[AssetEvent] | None:
        kind = type(key).__name__
        if kind == "AssetAlias":
            return self._events.get(("alias", key.name))
        name = getattr(key, "name", None) if kind != "AssetUriRef" else None
        uri = getattr(key, "uri", None) if kind != "AssetNameRef" else None
        if isinstance(key, str):
            name = uri = key
        exact = self._events.get(("asset", name, uri))
        if exact is not None:
            return exact
        for k, events in self._events.items():
            if k[0] == "asset" and ((name is not None and k[1] == name) or (uri is not None and k[2] == uri)):
                return events
        return None

    def __getitem__(self, key: Any) -> list[AssetEvent]:
        events = self._find(key)
        if events is None:
            raise KeyError(key)
        return events

    def __contains__(self, key: Any) -> bool:
        return self._find(key) is not None

    def __iter__(self):
        from leoflow.sdk.assets import Asset, AssetAlias

        for k in self._events:
            yield Asset(name=k[1], uri=k[2]) if k[0] == "asset" else AssetAlias(name=k[1])

    def __len__(self) -> int:
        return len(self._events)

    def __repr__(self) -> str:
        return f"TriggeringAssetEvents({dict(self.items())!r})"
