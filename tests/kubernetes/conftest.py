"""`leoflow server` replicas whose tries run as pods of the fake Kubernetes API (fake_api.py), the
pods reaching /execution through a Service in front of the replicas (service.py)."""

from __future__ import annotations

import os

import pytest

from tests.kubernetes.fake_api import FakeKubernetes
from tests.kubernetes.service import Service
from tests.server.cluster import Replica, server_env
from tests.server.conftest import migrate
from tests.services import postgres_database_url


@pytest.fixture
def fake_k8s():
    fake = FakeKubernetes(podman_image=os.environ.get("LEOFLOW_TEST_IMAGE") or None)
    yield fake
    fake.close()


@pytest.fixture
def k8s_cluster(tmp_path, fake_k8s):
    """k8s_cluster(dags: {file: source}, n=1, pod_env=None, **env) -> (replicas, engine); all stopped
    afterwards. `pod_env`: environment the pod template gives the task container."""
    from leoflow.store.engine import make_engine

    started, engines, services = [], [], []
    with postgres_database_url() as url:

        def make(dags: dict, n: int = 1, pod_env: dict | None = None, **extra_env):
            folder = tmp_path / "dags"
            folder.mkdir(exist_ok=True)
            for name, source in dags.items():
                (folder / name).write_text(source)
            template = tmp_path / "pod-template.yaml"  # the DAG folder mounted at the same path, as a template does
            env_items = ", ".join(f'{{name: {k}, value: "{v}"}}' for k, v in (pod_env or {}).items())
            template.write_text(f"""
apiVersion: v1
kind: Pod
metadata:
  labels: {{team: data}}
spec:
  containers:
    - name: base
      env: [{env_items}]
      volumeMounts: [{{name: dags, mountPath: "{folder}", readOnly: true}}]
  volumes:
    - {{name: dags, hostPath: {{path: "{folder}"}}}}
""")
            service = Service()
            services.append(service)
            env = server_env(url, LEOFLOW_EXECUTOR="kubernetes",
                             LEOFLOW_KUBERNETES_KUBECONFIG=str(fake_k8s.kubeconfig(tmp_path / "kubeconfig")),
                             LEOFLOW_KUBERNETES_NAMESPACE="tasks", LEOFLOW_KUBERNETES_IMAGE="leoflow:test",
                             LEOFLOW_KUBERNETES_EXECUTION_API_URL=f"{service.url}/execution",
                             LEOFLOW_KUBERNETES_RELIST_INTERVAL="5",
                             LEOFLOW_KUBERNETES_POD_TEMPLATE_FILE=str(template), LEOFLOW_TASK_HEARTBEAT_INTERVAL="1",
                             **extra_env)
            migrate(env, tmp_path / "migrate-home")
            replicas = [Replica(f"replica-{chr(97 + i)}", tmp_path, folder, env) for i in range(n)]
            service.backends = [(r.host, r.port) for r in replicas]
            started.extend(replicas)
            for r in replicas:
                r.start(wait=False)
            for r in replicas:
                r.wait_ready()
            engine = make_engine(url)
            engines.append(engine)
            return replicas, engine

        yield make
        for r in started:
            r.stop()
        for engine in engines:
            engine.dispose()
        for service in services:
            service.close()
