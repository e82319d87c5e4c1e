"""The Helm chart: lint, render and Kubernetes 1.30-1.34 schemas for every case; then what each case
promises (least-privilege RBAC, no default password, secrets only from Secrets, probes, hooks)."""

from __future__ import annotations

import base64

import pytest

from .chart import (CASES, KUBERNETES_VERSIONS, NAMESPACE, RELEASE, case_values, containers, env, lint, of_kind,
                    one, render, validate)


LEAST_PRIVILEGE = {
    ("", "pods"): {"create", "get", "list", "watch", "delete"},
    ("", "pods/log"): {"get"},
    ("", "secrets"): {"create", "delete"},
}
SECRET_ENV = {"LEOFLOW_DATABASE_URL", "LEOFLOW_FERNET_KEY", "LEOFLOW_SECRET_KEY", "LEOFLOW_ADMIN_PASSWORD",
              "LEOFLOW_REDIS_URL", "LEOFLOW_AGENT_TOKEN"}


@pytest.fixture(scope="module", params=CASES)
def case(request):
    values = case_values(request.param)
    return request.param, values, render(values)


def test_default_values_lint_and_refuse_to_render_without_the_three_settings():
    import helm_python as helm

    report = lint(None)
    assert report["errors"] == [] and [m for m in report["messages"] if m["severity"] >= 2] == [], report
    with pytest.raises(helm.HelmError) as refused:
        render(None)
    for name in ("database.url", "fernetKey", "secretKey"):
        assert name in str(refused.value)
    # Any one of them missing is named alone.
    values = case_values("minimal")
    del values["fernetKey"]
    with pytest.raises(helm.HelmError, match=r"set fernetKey \(or fernetKeyExistingSecret\);"):
        render(values)


def test_each_case_lints_clean(case):
    name, values, _ = case
    report = lint(values)
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == [], (name, report)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_valid_kubernetes(case, version):
    name, _, objects = case
    assert objects, name
    for obj in objects:
        validate(obj, version)  # raises kubernetes_validate.ValidationError naming the field


def test_schema_refuses_bad_values():
    import helm_python as helm

    base = case_values("minimal")
    for bad in ({"executor": "celery"}, {"database": {"url": "mysql://x/y"}}, {"server": {"replicas": "two"}},
                {"serverReplicas": 2}, {"kubernetes": {"namespace": "Not_A_Namespace"}},
                {"agents": {"server": "ftp://x"}}):
        with pytest.raises(helm.HelmError):
            render({**base, **bad})


def test_rbac_is_exactly_least_privilege_in_the_task_namespace_only(case):
    name, values, objects = case
    assert not of_kind(objects, "ClusterRole") and not of_kind(objects, "ClusterRoleBinding")
    uses_kubernetes = "kubernetes" in values.get("executor", "kubernetes").split(",")
    if not uses_kubernetes:
        assert not of_kind(objects, "Role") and not of_kind(objects, "RoleBinding"), name
        server = one(objects, "Deployment", "-server")
        assert server["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
        return
    task_namespace = values.get("kubernetes", {}).get("namespace") or NAMESPACE
    role, binding = one(objects, "Role"), one(objects, "RoleBinding")
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == task_namespace
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, rule  # no resourceNames games, no nonResourceURLs
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    assert granted == LEAST_PRIVILEGE
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": role["metadata"]["name"]}
    account = one(objects, "ServiceAccount", f"{RELEASE}-leoflow")  # the servers' (the task pods' may be another)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"],
                                    "namespace": NAMESPACE}]
    server = one(objects, "Deployment", "-server")
    assert server["spec"]["template"]["spec"]["serviceAccountName"] == account["metadata"]["name"]
    # Only the servers get an API token: the migrate job and agents never talk to Kubernetes.
    for obj in of_kind(objects, "Job") + of_kind(objects, "Deployment"):
        if obj is not server:
            assert obj["spec"]["template"]["spec"]["automountServiceAccountToken"] is False, obj["metadata"]["name"]


def _secret_strings(obj: dict) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}
    return {**data, **(obj.get("stringData") or {})}


def _given_strings(values, out=None) -> set[str]:
    out = set() if out is None else out
    if isinstance(values, dict):
        for v in values.values():
            _given_strings(v, out)
    elif isinstance(values, list):
        for v in values:
            _given_strings(v, out)
    elif isinstance(values, str):
        out.add(values)
    return out


def test_no_secret_holds_a_default_password(case):
    """Every value in a Secret is one the case gave, or made up per install (differs between two renders)."""
    name, values, objects = case
    given = _given_strings(values)
    again = {o["metadata"]["name"]: _secret_strings(o) for o in of_kind(render(values), "Secret")}
    for secret in of_kind(objects, "Secret"):
        for key, value in _secret_strings(secret).items():
            if value in given:
                continue
            other = again[secret["metadata"]["name"]][key]
            assert other != value, f"{name}: Secret {secret['metadata']['name']}[{key}] is the same on every install"
            assert len(value) >= 24, f"{name}: generated {key} is only {len(value)} characters"
    admin_given = values.get("adminPassword") or values.get("adminPasswordExistingSecret")
    admin = [s for s in of_kind(objects, "Secret") if s["metadata"]["name"].endswith("-admin")]
    assert len(admin) == (0 if values.get("adminPasswordExistingSecret") else 1)
    if not admin_given:
        assert admin[0]["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_chart_defaults_hold_no_secret():
    from .chart import _chart

    defaults = _chart().values
    for key in ("adminPassword", "fernetKey", "secretKey"):
        assert defaults[key] == ""
    assert defaults["database"]["url"] == "" and defaults["redis"]["url"] == "" and defaults["agents"]["token"] == ""


def test_secrets_reach_pods_only_through_secret_refs(case):
    name, values, objects = case
    secret_names = {s["metadata"]["name"] for s in of_kind(objects, "Secret")}
    expected_names = {values.get("database", {}).get("existingSecret"), values.get("redis", {}).get("existingSecret"),
                      values.get("fernetKeyExistingSecret"), values.get("secretKeyExistingSecret"),
                      values.get("adminPasswordExistingSecret"), values.get("agents", {}).get("existingSecret")}
    for owner in of_kind(objects, "Deployment") + of_kind(objects, "Job"):
        for container in containers(owner):
            for var, entry in env(container).items():
                if var in SECRET_ENV:
                    ref = entry["valueFrom"]["secretKeyRef"]  # never a plain value
                    assert ref["name"] in secret_names | expected_names, (name, var, ref)
    if "existing" in name:
        assert not of_kind(objects, "Secret"), [s["metadata"]["name"] for s in of_kind(objects, "Secret")]
        server = env(containers(one(objects, "Deployment", "-server"), init=False)[0])
        assert server["LEOFLOW_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "leoflow-db", "key": "uri"}
        assert server["LEOFLOW_FERNET_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "leoflow-keys", "key": "fernet"}
        assert server["LEOFLOW_SECRET_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "leoflow-keys", "key": "jwt"}
        assert server["LEOFLOW_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "leoflow-admin", "key": "pw"}
        assert server["LEOFLOW_REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "leoflow-redis", "key": "uri"}


def test_server_replicas_probes_resources_and_non_root(case):
    name, values, objects = case
    server = one(objects, "Deployment", "-server")
    spec = server["spec"]["template"]["spec"]
    assert server["spec"]["replicas"] == values.get("server", {}).get("replicas", 2)
    assert server["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    main = spec["containers"][0]
    assert main["args"][0] == "server"
    assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert main["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] != 0
    for owner in of_kind(objects, "Deployment") + of_kind(objects, "Job"):
        for container in containers(owner):
            assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
    # The shutdown drain fits in the pod's grace period.
    grace = int(env(main)["LEOFLOW_SHUTDOWN_GRACE_PERIOD"]["value"])
    assert spec["terminationGracePeriodSeconds"] > grace
    pdb = one(objects, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == server["spec"]["selector"]["matchLabels"]
    service = one(objects, "Service")
    assert service["spec"]["selector"] == server["spec"]["selector"]["matchLabels"]


def test_migrations_run_as_a_hook_before_servers_that_wait_for_them(case):
    name, values, objects = case
    job = one(objects, "Job", "-migrate")
    hooks = job["metadata"]["annotations"]
    assert set(hooks["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert containers(job)[0]["args"] == ["migrate"]
    # What the job reads must exist before it: the chart's Secret is an earlier hook.
    ref = env(containers(job)[0])["LEOFLOW_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"]
    for secret in of_kind(objects, "Secret"):
        if secret["metadata"]["name"] == ref:
            annotations = secret["metadata"]["annotations"]
            assert "pre-install" in annotations["helm.sh/hook"]
            assert int(annotations["helm.sh/hook-weight"]) < int(hooks.get("helm.sh/hook-weight", "0"))
    server = one(objects, "Deployment", "-server")
    init = server["spec"]["template"]["spec"]["initContainers"]
    assert [c["name"] for c in init] == ["wait-for-migrations"]
    assert "leoflow db check" in init[0]["args"][0]


def test_executor_settings(case):
    name, values, objects = case
    server_env = env(containers(one(objects, "Deployment", "-server"), init=False)[0])
    executor = values.get("executor", "kubernetes")
    assert server_env["LEOFLOW_EXECUTOR"]["value"] == executor
    if "kubernetes" in executor.split(","):
        k8s = values.get("kubernetes", {})
        assert server_env["LEOFLOW_KUBERNETES_NAMESPACE"]["value"] == (k8s.get("namespace") or NAMESPACE)
        image = values.get("image", {})
        own = f"{image.get('repository', 'localhost/leoflow')}:{image.get('tag', '0.1.0')}"
        assert server_env["LEOFLOW_KUBERNETES_IMAGE"]["value"] == (k8s.get("image") or own)
        assert server_env["LEOFLOW_KUBERNETES_EXECUTION_API_URL"]["value"] == \
            f"http://{RELEASE}-leoflow.{NAMESPACE}.svc:8080"
    else:
        assert "LEOFLOW_KUBERNETES_NAMESPACE" not in server_env
    assert ("LEOFLOW_REDIS_URL" in server_env) == bool(values.get("redis"))
    if name == "no-redis":
        assert all("redis" not in key for s in of_kind(objects, "Secret") for key in s.get("data", {}))
        volumes = {v["name"]: v for v in one(objects, "Deployment", "-server")["spec"]["template"]["spec"]["volumes"]}
        assert volumes["dags"]["persistentVolumeClaim"] == {"claimName": "leoflow-dags", "readOnly": True}


def test_task_pods_service_account(case):
    """Task pods run as the account the values name (made in the task namespace when asked), with no API
    token mounted unless asked; no Role is bound to it."""
    name, values, objects = case
    if "kubernetes" not in values.get("executor", "kubernetes").split(","):
        return
    server_env = env(containers(one(objects, "Deployment", "-server"), init=False)[0])
    task = values.get("kubernetes", {}).get("taskServiceAccount", {})
    assert server_env["LEOFLOW_KUBERNETES_AUTOMOUNT_SERVICE_ACCOUNT_TOKEN"]["value"] == "false"
    assert server_env["LEOFLOW_KUBERNETES_DAGS"]["value"] == "bundle"
    accounts = [a for a in of_kind(objects, "ServiceAccount") if a["metadata"]["name"].endswith("-task")]
    if task.get("create"):
        assert server_env["LEOFLOW_KUBERNETES_SERVICE_ACCOUNT"]["value"] == f"{RELEASE}-leoflow-task"
        (account,) = accounts
        assert account["metadata"]["namespace"] == values["kubernetes"].get("namespace", NAMESPACE)
        assert account["automountServiceAccountToken"] is False
        assert account["metadata"]["annotations"] == task["annotations"]
        bound = {s["name"] for b in of_kind(objects, "RoleBinding") for s in b["subjects"]}
        assert account["metadata"]["name"] not in bound
    else:
        assert "LEOFLOW_KUBERNETES_SERVICE_ACCOUNT" not in server_env and accounts == []


def test_task_service_account_settings():
    import helm_python as helm

    base = case_values("minimal")
    objects = render({**base, "kubernetes": {"taskServiceAccount": {"name": "etl-tasks", "automountToken": True},
                                             "dags": "mounted"}})
    server_env = env(containers(one(objects, "Deployment", "-server"), init=False)[0])
    assert server_env["LEOFLOW_KUBERNETES_SERVICE_ACCOUNT"]["value"] == "etl-tasks"
    assert server_env["LEOFLOW_KUBERNETES_AUTOMOUNT_SERVICE_ACCOUNT_TOKEN"]["value"] == "true"
    assert server_env["LEOFLOW_KUBERNETES_DAGS"]["value"] == "mounted"
    assert not [a for a in of_kind(objects, "ServiceAccount") if a["metadata"]["name"] == "etl-tasks"]
    for bad in ({"taskServiceAccount": {"name": "Not_A_Name"}}, {"taskServiceAccount": {"create": "yes"}},
                {"dags": "git"}):
        with pytest.raises(helm.HelmError):
            render({**base, "kubernetes": bad})


def test_inline_values_secret_belongs_to_the_release_and_the_hook_copy_is_deleted(case):
    """`helm uninstall` deletes what the release owns, never its hooks: the Secret of the inline values is
    an ordinary resource; the migrate Job's copy of the database URL is a hook Helm deletes once it ran."""
    name, values, objects = case
    secrets = {s["metadata"]["name"]: s for s in of_kind(objects, "Secret")}
    hooks = {n: s for n, s in secrets.items() if "helm.sh/hook" in (s["metadata"].get("annotations") or {})}
    inline = values.get("database", {}).get("url") and not values["database"].get("existingSecret")
    if inline:
        assert set(hooks) == {f"{RELEASE}-leoflow-migrate"}, set(hooks)
        hook = hooks[f"{RELEASE}-leoflow-migrate"]
        policy = set(hook["metadata"]["annotations"]["helm.sh/hook-delete-policy"].split(","))
        assert {"before-hook-creation", "hook-succeeded"} <= policy
        assert set(hook["data"]) == {"database-url"}  # nothing the Job does not read
        job = one(objects, "Job", "-migrate")
        ref = env(containers(job)[0])["LEOFLOW_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == f"{RELEASE}-leoflow-migrate"
    else:
        assert hooks == {}
    config = secrets.get(f"{RELEASE}-leoflow-config")
    if config is not None:
        assert "helm.sh/hook" not in (config["metadata"].get("annotations") or {})
        assert "helm.sh/resource-policy" not in (config["metadata"].get("annotations") or {})
    # what the servers read comes from the release's Secret, never from the hook (gone after install)
    server = one(objects, "Deployment", "-server")
    for container in containers(server):
        for item in container.get("env", []):
            ref = (item.get("valueFrom") or {}).get("secretKeyRef")
            assert ref is None or ref["name"] not in hooks, (container["name"], item)


def test_ingress_with_tls():
    objects = render(case_values("ingress-tls"))
    ingress = one(objects, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["airflow.example.org"], "secretName": "airflow-example-org-tls"}]
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == "airflow.example.org"
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": f"{RELEASE}-leoflow", "port": {"name": "http"}}
    assert ingress["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt"}
    assert not of_kind(render(case_values("minimal")), "Ingress")


def test_agents():
    import helm_python as helm

    objects = render(case_values("agents"))
    agent = one(objects, "Deployment", "-agent")
    main = containers(agent)[0]
    assert main["args"] == ["agent", "--server", "https://leoflow.example.com", "--token", "$(LEOFLOW_AGENT_TOKEN)",
                            "--name", "$(LEOFLOW_HOSTNAME)", "--concurrency", "8", "--home", "/var/lib/leoflow",
                            "--queues", "gpu,default", "--ca-file", "/etc/leoflow-ca/ca.pem"]
    token = env(main)["LEOFLOW_AGENT_TOKEN"]["valueFrom"]["secretKeyRef"]
    secret = one(objects, "Secret", "-agent")
    assert token == {"name": secret["metadata"]["name"], "key": "token"}
    assert agent["spec"]["replicas"] == 2
    # The in-cluster Service is plain HTTP: an agent is pointed at it only when asked.
    plain = case_values("agents")
    del plain["agents"]["server"]
    with pytest.raises(helm.HelmError, match="plain HTTP"):
        render(plain)
    plain["agents"]["insecure"] = True
    args = containers(one(render(plain), "Deployment", "-agent"))[0]["args"]
    assert args[2] == f"http://{RELEASE}-leoflow.{NAMESPACE}.svc:8080" and args[-1] == "--insecure"
    no_token = case_values("agents")
    del no_token["agents"]["token"]
    with pytest.raises(helm.HelmError, match="agents.token"):
        render(no_token)
    assert not of_kind(render(case_values("minimal")), "Deployment")[1:]  # the server only


def test_kind_check_script_parses():
    """deploy/kind-check.sh cannot run here (no cluster); at least it is valid bash."""
    import subprocess

    from .chart import ROOT

    script = ROOT / "deploy/kind-check.sh"
    assert script.stat().st_mode & 0o111, "not executable"
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
