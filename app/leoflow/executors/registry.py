"""Which executors a scheduler runs: `LEOFLOW_EXECUTOR` (aliases, the first the default) -> an
`ExecutorRouter` holding one of each. An executor module is imported only when it is configured."""

from __future__ import annotations

from .router import ExecutorRouter, parse_executor_setting


def _local(services, forkserver):
    from .local import LocalExecutor

    return LocalExecutor(forkserver, services.settings.parallelism, services.settings)


def _kubernetes(services, forkserver):
    from .kubernetes import KubernetesExecutor
    from .kubernetes.podspec import PodSpecError

    try:
        executor = KubernetesExecutor(services.settings, services.settings.parallelism, engine=services.engine,
                                      problems=getattr(services, "problems", None))
    except PodSpecError as exc:
        raise SystemExit(f"leoflow: the Kubernetes executor cannot start: {exc}") from None
    except Exception as exc:  # no kubeconfig, no service account: say which settings would help
        from kubernetes.config import ConfigException

        if isinstance(exc, ConfigException):
            raise SystemExit(f"leoflow: the Kubernetes executor cannot reach a cluster ({exc}); set "
                             "LEOFLOW_KUBERNETES_KUBECONFIG or run in a pod with a service account") from None
        raise
    if services.settings.kubernetes_dags == "bundle" and services.engine is not None:
        # Pods fetch the DAG code their run was created with, as agents do (agents/bundles.py).
        from ..agents import bundles

        publisher = bundles.publish_for_runs(services.engine, services.settings.dags_folder)
        executor.bundle_version = lambda conn, ti: bundles.bundle_for_try(conn, publisher, ti)
    return executor


def _agent(services, forkserver):
    from ..agents.executor import AgentExecutor

    return AgentExecutor(services)


# alias -> factory(services, forkserver)
FACTORIES = {
    "local": _local,
    "kubernetes": _kubernetes,
    "agent": _agent,
}


def build_router(services, forkserver) -> ExecutorRouter:
    executors = {}
    for alias in parse_executor_setting(services.settings.executor):
        factory = FACTORIES.get(alias)
        if factory is None:
            raise SystemExit(f"leoflow: the {alias} executor is not part of this version of Leoflow "
                             f"(LEOFLOW_EXECUTOR={services.settings.executor})")
        executors[alias] = factory(services, forkserver)
    return ExecutorRouter(executors)
