"""The Kubernetes executor: a pod per try (ADR 27). Imported only when LEOFLOW_EXECUTOR names it."""

from .executor import KubernetesExecutor

__all__ = ["KubernetesExecutor"]
