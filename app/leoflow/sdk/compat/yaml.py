"""`airflow.utils.yaml`: PyYAML with its C loader when present, imported only when used."""

from __future__ import annotations

from typing import Any


def safe_load(stream) -> Any:
    import yaml

    return yaml.load(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def full_load(stream) -> Any:
    import yaml

    return yaml.load(stream, Loader=getattr(yaml, "CFullLoader", yaml.FullLoader))


def dump(data: Any, **kwargs: Any) -> str:
    import yaml

    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), **kwargs)


def __getattr__(name: str) -> Any:
    import yaml

    return getattr(yaml, name)
