"""Render deploy/helm/leoflow with Helm's own engine (helm-python-sdk: Helm's Go code as a C library),
and check the manifests against Kubernetes' own schemas (kubernetes-validate)."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy/helm/leoflow"
VALUES = Path(__file__).resolve().parent / "values"
CASES = sorted(p.stem for p in VALUES.glob("*.yaml"))
KUBERNETES_VERSIONS = ["1.30.0", "1.31.0", "1.32.0", "1.33.0", "1.34.0"]
RELEASE, NAMESPACE = "prod", "leoflow"


def case_values(case: str) -> dict:
    return yaml.safe_load((VALUES / f"{case}.yaml").read_text())


@functools.cache
def _chart():
    import helm_python as helm

    return helm.Chart.load(str(CHART))


def render(values: dict | None, *, upgrade: bool = False) -> list[dict]:
    """Every object the chart renders for these values, hooks included, in a stable order."""
    manifests = _chart().render(values=values, name=RELEASE, namespace=NAMESPACE,
                                is_install=not upgrade, is_upgrade=upgrade)
    objects = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def lint(values: dict | None) -> dict:
    import helm_python as helm

    return helm.lint(str(CHART), values, strict=True, namespace=NAMESPACE)


@functools.cache
def _validate_cached():
    """kubernetes-validate reads its (large) schema files on every call: read each once."""
    import kubernetes_validate.utils as kv

    kv.schema_contents = functools.lru_cache(maxsize=None)(kv.schema_contents)
    return kv.validate


def validate(obj: dict, version: str) -> None:
    _validate_cached()(obj, version, strict=True)


def of_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[dict], kind: str, name_suffix: str = "") -> dict:
    found = [o for o in of_kind(objects, kind) if o["metadata"]["name"].endswith(name_suffix)]
    assert len(found) == 1, f"{len(found)} {kind} named *{name_suffix}: {[o['metadata']['name'] for o in found]}"
    return found[0]


def containers(pod_owner: dict, *, init: bool = True) -> list[dict]:
    spec = pod_owner["spec"]["template"]["spec"]
    return list(spec.get("initContainers", []) if init else []) + list(spec["containers"])


def env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}
