"""Assets: named data a task produces (outlets) or a DAG waits for (schedule).

`a & b` waits for both, `a | b` for either; `AssetAlias` is resolved at run
time to the assets a task attaches to it; `@asset` turns a function into a DAG
with one task that produces the asset.
"""

from __future__ import annotations

import inspect
from typing import Any, Iterator



class BaseAsset:
    """What can sit in an asset condition."""

    def __and__(self, other: "BaseAsset") -> "AssetAll":
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return AssetAll(self, other)

    def __or__(self, other: "BaseAsset") -> "AssetAny":
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return AssetAny(self, other)

    def expression(self) -> dict:  # EXPR of docs/serialized-dag.md
        raise NotImplementedError

    def iter_assets(self) -> Iterator["Asset"]:
        return iter(())


def _check_name(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"Asset {what} must be a string, not {type(value).__name__}")
    if not value or value.isspace():
        raise ValueError(f"Asset {what} cannot be empty")
    if len(value) > 1500:
        raise ValueError(f"Asset {what} cannot exceed 1500 characters")
    return value


def sanitize_uri(uri: str) -> str:
    """Airflow 3.2's URI normal form: lowercase scheme, no password, sorted query, no trailing slash
    or fragment. Names that are not URIs, and `x-` schemes, stay as written."""
    import urllib.parse

    parsed = urllib.parse.urlsplit(uri)
    if not parsed.scheme and not parsed.netloc:
        return uri
    scheme = parsed.scheme.lower()
    if not scheme or scheme.startswith("x-"):
        return uri
    if scheme == "airflow":
        raise ValueError("Asset scheme 'airflow' is reserved")
    netloc = parsed.netloc.rpartition("@")[2] if parsed.password else parsed.netloc
    query = urllib.parse.urlencode(sorted(urllib.parse.parse_qsl(parsed.query))) if parsed.query else ""
    return urllib.parse.urlunsplit(parsed._replace(scheme=scheme, netloc=netloc, path=parsed.path.rstrip("/") or "/",
                                                   query=query, fragment=""))


class Asset(BaseAsset):
    """`Asset(name)`, `Asset(uri=...)`, `Asset(name=..., uri=...)`: one of them fills the other."""

    asset_type = "asset"

    def __init__(self, name: str | None = None, uri: str | None = None, *, group: str = "asset",
                 extra: dict | None = None, watchers: list | None = None):
        if name is None and uri is None:
            raise TypeError("Asset() requires either 'name' or 'uri'")
        if name is None:
            name = str(uri)
        if uri is None:
            uri = name
        self.name = _check_name(name, "name")
        self.uri = sanitize_uri(_check_name(str(uri), "uri"))
        self.group = group or "asset"
        self.extra = dict(extra or {})
        self.watchers = list(watchers or [])

    def __repr__(self) -> str:
        return f"Asset(name={self.name!r}, uri={self.uri!r}, group={self.group!r}, extra={self.extra!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Asset) and (self.name, self.uri) == (other.name, other.uri)

    def __hash__(self) -> int:
        return hash((self.name, self.uri))

    @property
    def normalized_uri(self) -> str:
        return self.uri

    @staticmethod
    def ref(*, name: str | None = None, uri: str | None = None) -> "AssetRef":
        if (name is None) == (uri is None):
            raise TypeError("Asset.ref() takes exactly one of 'name' or 'uri'")
        return AssetNameRef(name) if name is not None else AssetUriRef(uri)

    def expression(self) -> dict:
        return {"asset": {"name": self.name, "uri": self.uri, "group": self.group}}

    def doc(self) -> dict:
        from leoflow.sdk.serialize import plain

        return {"type": "asset", "name": self.name, "uri": self.uri, "group": self.group,
                "extra": plain(self.extra)}

    def iter_assets(self):
        yield self

    def asprofile(self):
        return self


class AssetRef(BaseAsset):
    """A reference to an asset defined elsewhere, by name or by URI."""


class AssetNameRef(AssetRef):
    def __init__(self, name: str):
        self.name = _check_name(name, "name")

    def __repr__(self) -> str:
        return f"AssetNameRef(name={self.name!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, AssetNameRef) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("name_ref", self.name))

    def expression(self) -> dict:
        return {"asset_ref": {"name": self.name}}

    def doc(self) -> dict:
        return {"type": "asset_name_ref", "name": self.name}


class AssetUriRef(AssetRef):
    def __init__(self, uri: str):
        self.uri = _check_name(uri, "uri")

    def __repr__(self) -> str:
        return f"AssetUriRef(uri={self.uri!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, AssetUriRef) and other.uri == self.uri

    def __hash__(self) -> int:
        return hash(("uri_ref", self.uri))

    def expression(self) -> dict:
        return {"asset_ref": {"uri": self.uri}}

    def doc(self) -> dict:
        return {"type": "asset_uri_ref", "uri": self.uri}


class AssetAlias(BaseAsset):
    def __init__(self, name: str, group: str = "asset"):
        self.name = _check_name(name, "name")
        self.group = group or "asset"

    def __repr__(self) -> str:
        return f"AssetAlias(name={self.name!r}, group={self.group!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, AssetAlias) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("alias", self.name))

    def expression(self) -> dict:
        return {"alias": {"name": self.name, "group": self.group}}

    def doc(self) -> dict:
        return {"type": "asset_alias", "name": self.name, "group": self.group}


class _AssetBooleanCondition(BaseAsset):
    agg = "all"

    def __init__(self, *objects: BaseAsset):
        for obj in objects:
            if not isinstance(obj, BaseAsset):
                raise TypeError("expect asset expressions in condition")
        self.objects = list(objects)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(o) for o in self.objects)})"

    def expression(self) -> dict:
        return {self.agg: [o.expression() for o in self.objects]}

    def iter_assets(self):
        for o in self.objects:
            yield from o.iter_assets()


class AssetAll(_AssetBooleanCondition):
    agg = "all"

    def __and__(self, other):
        if isinstance(other, BaseAsset):
            return AssetAll(*self.objects, other)
        return NotImplemented


class AssetAny(_AssetBooleanCondition):
    agg = "any"

    def __or__(self, other):
        if isinstance(other, BaseAsset):
            return AssetAny(*self.objects, other)
        return NotImplemented


def condition_of(schedule: Any) -> BaseAsset:
    """`schedule=[a, b]` means all of them; a single asset or condition stands as is."""
    if isinstance(schedule, BaseAsset):
        return schedule
    items = list(schedule)
    for item in items:
        if not isinstance(item, BaseAsset):
            raise TypeError(f"schedule lists must hold assets, not {type(item).__name__}")
    return AssetAll(*items)


def asset_doc(obj: Any) -> dict:
    """ASSET document of an inlet/outlet."""
    if isinstance(obj, (Asset, AssetAlias, AssetRef)):
        return obj.doc()
    raise TypeError(f"inlets/outlets hold assets and asset aliases, not {type(obj).__name__}")


class Metadata:
    """Yielded by a task: extra for the event of `asset` (optionally via an alias)."""

    def __init__(self, asset, extra: dict | None = None, alias: AssetAlias | None = None):
        self.asset = asset
        self.extra = dict(extra or {})
        self.alias = alias

    def __repr__(self) -> str:
        return f"Metadata(asset={self.asset!r}, extra={self.extra!r}, alias={self.alias!r})"


class AssetWatcher:
    """An event-driven trigger that updates an asset (run by the triggerer)."""

    def __init__(self, name: str, trigger):
        self.name = name
        self.trigger = trigger

    def __repr__(self) -> str:
        return f"AssetWatcher(name={self.name!r})"


# -- @asset ---------------------------------------------------------------------------


class AssetDefinition(Asset):
    """The asset an `@asset` function produces; creating it creates its DAG."""

    def __init__(self, *, function, source: dict, **asset_kwargs):
        super().__init__(**asset_kwargs)
        self._function = function
        self._source = source
        _asset_dag(self, [self])

    def iter_outlets(self):
        yield self


class MultiAssetDefinition:
    def __init__(self, *, function, source: dict, outlets: list):
        self._function = function
        self._source = source
        self.outlets = list(outlets)
        self.name = function.__name__
        _asset_dag(self, self.outlets)

    def iter_outlets(self):
        return iter(self.outlets)


_DAG_ARGS = ("schedule", "is_paused_upon_creation", "dag_display_name", "description", "params",
             "on_success_callback", "on_failure_callback", "access_control", "owner_links", "tags")


def _asset_dag(definition, outlets: list) -> None:
    from leoflow.sdk.dag import DAG

    source = definition._source
    function = definition._function
    dag_kwargs = {k: source[k] for k in _DAG_ARGS if source.get(k) is not None}
    dag_id = source.get("dag_id") or function.__name__
    with DAG(dag_id=dag_id, auto_register=True, **dag_kwargs) as dag:
        from leoflow.sdk.decorators import TaskDecorator

        if isinstance(function, TaskDecorator):
            if "outlets" in function.options:
                raise TypeError("@task decorator with 'outlets' argument is not supported in @asset")
            function.override(outlets=list(outlets))()
        else:
            AssetMainOperator.from_definition(definition)
    dag.fileloc = getattr(getattr(function, "__code__", None), "co_filename", dag.fileloc)


def _main_operator_class():
    from leoflow.sdk.operators.python import PythonOperator

    class _AssetMainOperator(PythonOperator):
        """Runs an `@asset` function: `self` is the asset, `context` the context, other args its inlets."""

        def __init__(self, *, definition_name: str, **kwargs):
            super().__init__(**kwargs)
            self._definition_name = definition_name

        @classmethod
        def from_definition(cls, definition):
            params = inspect.signature(definition._function).parameters
            return cls(
                task_id=definition._function.__name__,
                inlets=[Asset.ref(name=n) for n, p in params.items()
                        if n not in ("self", "context") and p.default is inspect.Parameter.empty],
                outlets=list(definition.iter_outlets()),
                python_callable=definition._function,
                definition_name=definition.name,
            )

        def execute(self, context):
            kwargs = {}
            for key, param in inspect.signature(self.python_callable).parameters.items():
                if param.default is not inspect.Parameter.empty:
                    kwargs[key] = param.default
                elif key == "self":
                    kwargs[key] = next((o for o in self.outlets if getattr(o, "name", None) == self._definition_name),
                                       Asset(name=self._definition_name))
                elif key == "context":
                    kwargs[key] = context
                else:
                    kwargs[key] = Asset(name=key)
            return self.python_callable(**kwargs)

    _AssetMainOperator.__module__ = __name__
    return _AssetMainOperator


class _LazyMain:
    def __getattr__(self, name):
        global AssetMainOperator
        AssetMainOperator = _main_operator_class()
        return getattr(AssetMainOperator, name)


AssetMainOperator: Any = _LazyMain()


class _AssetDecorator:
    """`@asset(schedule=..., uri=..., ...)` and `@asset.multi(outlets=[...], ...)`."""

    def __call__(self, _func=None, *, schedule=None, name: str | None = None, uri: str | None = None,
                 group: str = "asset", extra: dict | None = None, watchers: list | None = None, **dag_args):
        source = {"schedule": schedule, **dag_args}

        def wrap(function):
            fname = getattr(function, "__name__", None) or getattr(function, "function").__name__
            return AssetDefinition(function=function, source=source, name=name or fname, uri=uri,
                                   group=group, extra=extra, watchers=watchers)

        return wrap(_func) if _func is not None else wrap

    def multi(self, *, outlets: list, schedule=None, **dag_args):
        source = {"schedule": schedule, **dag_args}
        return lambda function: MultiAssetDefinition(function=function, source=source, outlets=outlets)


asset = _AssetDecorator()
