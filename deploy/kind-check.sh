#!/usr/bin/env bash
# The real-cluster check of the image and the chart, for a machine that can run a Kubernetes cluster
# (the development machines and CI of Leoflow cannot: there it was never run; CI renders and lints the
# chart and runs the image with podman instead).
#
#   deploy/kind-check.sh            # kind (default) or CLUSTER_TOOL=k3d
#   KEEP=1 deploy/kind-check.sh     # leave the cluster up afterwards
#
# What it does: builds the binary and the image, makes a throwaway cluster and loads the image into it,
# runs a Postgres in it, `helm install`s the chart with the Kubernetes executor (2 server replicas),
# triggers the example_etl DAG (3 tasks, a pod each), kills the leading server pod with --force while
# the run is going, and requires the run to succeed, no task pod to be left behind, and the admin
# password to survive a `helm upgrade`. Needs: kind or k3d, kubectl, helm, podman, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOL=${CLUSTER_TOOL:-kind}
CLUSTER=${CLUSTER:-leoflow-check}
NS=leoflow
RELEASE=leoflow
IMAGE=localhost/leoflow:check
PORT=${PORT:-18080}
DEADLINE=${DEADLINE:-300}  # seconds the DAG run may take, leader kill included

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'kind-check: FAILED: %s\n' "$*" >&2; exit 1; }
for tool in "$TOOL" kubectl helm podman curl python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done

cleanup() {
  [ -n "${FORWARD_PID:-}" ] && kill "$FORWARD_PID" 2>/dev/null || true
  if [ "${KEEP:-0}" != 1 ]; then
    case "$TOOL" in
      kind) kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true ;;
      k3d) k3d cluster delete "$CLUSTER" >/dev/null 2>&1 || true ;;
    esac
  fi
}
trap cleanup EXIT

say "building the binary and the image $IMAGE"
make binary
make image IMAGE="$IMAGE"
mkdir -p build/work
podman --storage-driver vfs save --format docker-archive -o build/work/leoflow-check.tar "$IMAGE"

say "cluster $CLUSTER ($TOOL)"
case "$TOOL" in
  kind)
    kind create cluster --name "$CLUSTER" --wait 120s
    kind load image-archive build/work/leoflow-check.tar --name "$CLUSTER" ;;
  k3d)
    k3d cluster create "$CLUSTER" --wait
    k3d image import build/work/leoflow-check.tar --cluster "$CLUSTER" ;;
  *) fail "CLUSTER_TOOL must be kind or k3d" ;;
esac
kubectl create namespace "$NS"

say "Postgres and the DAG folder"
kubectl -n "$NS" apply -f - <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: postgres}
spec:
  selector: {matchLabels: {app: postgres}}
  template:
    metadata: {labels: {app: postgres}}
    spec:
      containers:
        - name: postgres
          image: postgres:16
          env:
            - {name: POSTGRES_USER, value: leoflow}
            - {name: POSTGRES_PASSWORD, value: kind-check-only}
            - {name: POSTGRES_DB, value: leoflow}
          ports: [{containerPort: 5432}]
          readinessProbe: {exec: {command: [pg_isready, -U, leoflow]}, periodSeconds: 2}
---
apiVersion: v1
kind: Service
metadata: {name: postgres}
spec:
  selector: {app: postgres}
  ports: [{port: 5432}]
---
# One node: a ReadWriteOnce claim is shared by the servers and the task pods.
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: leoflow-dags}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 100Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: dags-loader}
spec:
  securityContext: {runAsUser: 50000, runAsGroup: 0, fsGroup: 0}
  containers:
    - name: loader
      image: localhost/leoflow:check
      imagePullPolicy: Never
      command: [sleep, "3600"]
      volumeMounts: [{name: dags, mountPath: /dags}]
  volumes: [{name: dags, persistentVolumeClaim: {claimName: leoflow-dags}}]
EOF
kubectl -n "$NS" wait --for=condition=Ready pod/dags-loader --timeout=180s
kubectl -n "$NS" cp dags/example_etl.py dags-loader:/dags/example_etl.py
kubectl -n "$NS" delete pod dags-loader --wait=true
kubectl -n "$NS" rollout status deployment/postgres --timeout=180s

say "helm install: the three values a user must set, plus this cluster's image and DAG folder"
FERNET=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')
cat > build/work/kind-check-values.yaml <<EOF
image: {repository: localhost/leoflow, tag: check, pullPolicy: Never}
dags: {existingClaim: leoflow-dags}
kubernetes:
  podTemplate:
    apiVersion: v1
    kind: Pod
    metadata: {name: task}
    spec:
      containers: [{name: base, volumeMounts: [{name: dags, mountPath: /opt/leoflow/dags, readOnly: true}]}]
      volumes: [{name: dags, persistentVolumeClaim: {claimName: leoflow-dags, readOnly: true}}]
EOF
helm install "$RELEASE" deploy/helm/leoflow -n "$NS" \
  --set database.url="postgresql://leoflow:kind-check-only@postgres.$NS.svc:5432/leoflow" \
  --set fernetKey="$FERNET" \
  --set secretKey="$(python3 -c 'import secrets; print(secrets.token_hex(32))')" \
  -f build/work/kind-check-values.yaml --wait --timeout 5m
kubectl -n "$NS" rollout status deployment/"$RELEASE"-server --timeout=180s
PASSWORD=$(kubectl -n "$NS" get secret "$RELEASE"-admin -o jsonpath='{.data.password}' | base64 -d)

forward() {  # a port-forward to the Service: it follows one pod, so it is made again after a kill
  [ -n "${FORWARD_PID:-}" ] && kill "$FORWARD_PID" 2>/dev/null || true
  kubectl -n "$NS" port-forward svc/"$RELEASE" "$PORT":8080 >/dev/null 2>&1 &
  FORWARD_PID=$!
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return 0; sleep 0.2; done
  fail "the Service does not answer /readyz"
}
api() {  # api METHOD PATH [JSON]
  local token
  token=$(curl -sf -X POST "http://127.0.0.1:$PORT/auth/token" -H 'Content-Type: application/json' \
          -d "{\"username\": \"admin\", \"password\": \"$PASSWORD\"}" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
  curl -sf -X "$1" "http://127.0.0.1:$PORT/api/v2$2" -H "Authorization: Bearer $token" \
       -H 'Content-Type: application/json' ${3:+-d "$3"}
}
json() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }

forward
say "one DAG run, and the leader killed while it runs"
for _ in $(seq 1 60); do api GET /dags/example_etl >/dev/null 2>&1 && break; sleep 2; done
api PATCH /dags/example_etl '{"is_paused": false}' >/dev/null
RUN=$(api POST /dags/example_etl/dagRuns '{"logical_date": null}' | json 'd["dag_run_id"]')
echo "run $RUN"
for _ in $(seq 1 60); do
  [ "$(kubectl -n "$NS" get pods -l dag_id=example_etl -o name 2>/dev/null | wc -l)" -gt 0 ] && break
  sleep 1
done
LEADER=$(curl -sf "http://127.0.0.1:$PORT/api/v2/monitor/health" |
         json '[i["hostname"] for i in d["scheduler"]["instances"] if i["leader"]][0]')
echo "killing the leader $LEADER"
kubectl -n "$NS" delete pod "$LEADER" --grace-period=0 --force
forward

START=$SECONDS
while :; do
  STATE=$(api GET "/dags/example_etl/dagRuns/$RUN" | json 'd["state"]' || echo unknown)
  echo "run $RUN: $STATE"
  [ "$STATE" = success ] && break
  [ "$STATE" = failed ] && fail "the run failed after the leader was killed"
  [ $((SECONDS - START)) -gt "$DEADLINE" ] && fail "the run did not finish in $DEADLINE s"
  sleep 3
done
api GET "/dags/example_etl/dagRuns/$RUN/taskInstances" | json '"\n".join(t["task_id"] + ": " + str(t["state"]) + " (try " + str(t["try_number"]) + ")" for t in d["task_instances"])'
NEW_LEADER=$(curl -sf "http://127.0.0.1:$PORT/api/v2/monitor/health" |
             json '[i["hostname"] for i in d["scheduler"]["instances"] if i["leader"]][0]')
[ "$NEW_LEADER" != "$LEADER" ] || fail "the killed pod still leads"
sleep 10  # finished pods are deleted once their state is recorded
LEFT=$(kubectl -n "$NS" get pods --field-selector=status.phase!=Succeeded -o name | grep -c -v -e server -e postgres || true)
[ "$LEFT" = 0 ] || { kubectl -n "$NS" get pods; fail "$LEFT task pod(s) left behind"; }

say "helm upgrade keeps the generated admin password"
helm upgrade "$RELEASE" deploy/helm/leoflow -n "$NS" --reuse-values --set server.replicas=3 --wait --timeout 5m
AFTER=$(kubectl -n "$NS" get secret "$RELEASE"-admin -o jsonpath='{.data.password}' | base64 -d)
[ "$AFTER" = "$PASSWORD" ] || fail "helm upgrade changed the admin password"

say "kind-check: PASSED"
