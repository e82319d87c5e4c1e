"""A fake of the Kubernetes API for the tests (not shipped), served over HTTP so the official client
talks to it as to a cluster: pods and secrets in namespaces, a monotonic resourceVersion and a uid per
object, label selectors, watch from a resourceVersion (410 Gone once it is older than the event window),
BOOKMARK events, graceful deletes (MODIFIED with deletionTimestamp, then DELETED) and immediate ones,
409 on a duplicate name, owner references (deleting a pod deletes what it owns), metadata-only lists,
and injectable failures (`fail_next`).

Pods run FOR REAL: the kubelet here runs the task container's command as a local process (args after
the image's entrypoint, `python -m leoflow` from this source tree; host network; each secret volume
written to a private temp folder), or with podman when `podman_image` is set. Its phases come from
what the process did. Scripted pods: an image containing `err-image-pull` never pulls (ErrImagePull),
a nodeSelector `fake.leoflow.dev/unschedulable: "true"` never schedules.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[2]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


def parse_selector(text: str):
    """A label selector (=, ==, !=, in, notin, exists, !exists) as a predicate on a labels dict."""
    tests = []
    for part in re.split(r",(?![^()]*\))", text or ""):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$", part)
        if m:
            values = {v.strip() for v in m.group(3).split(",")}
            key, negate = m.group(1), m.group(2) == "notin"
            tests.append(lambda labels, k=key, vs=values, n=negate: (labels.get(k) in vs) != n)
            continue
        m = re.match(r"^([\w./-]+)\s*(!=|==|=)\s*([\w./-]*)$", part)
        if m:
            key, op, value = m.groups()
            if op == "!=":
                tests.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                tests.append(lambda labels, k=key, v=value: labels.get(k) == v)
            continue
        if part.startswith("!"):
            tests.append(lambda labels, k=part[1:]: k not in labels)
        else:
            tests.append(lambda labels, k=part: k in labels)
    return lambda labels: all(t(labels or {}) for t in tests)


class FakeKubernetes:
    def __init__(self, *, window: int = 10000, bookmark_interval: float = 1.0, podman_image: str | None = None,
                 max_grace: float = 5.0):
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._rv = 100
        self.objects: dict[tuple[str, str, str], dict] = {}  # (kind, namespace, name) -> object
        self.events: list[tuple[int, str, dict]] = []  # pod events: (rv, type, object)
        self.window = window
        self.bookmark_interval = bookmark_interval
        self.podman_image = podman_image
        self.max_grace = max_grace
        self.faults: list[dict] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.gone_sent = 0  # watches answered 410 Gone
        self.max_active = 0
        self.created_pods: list[str] = []  # every pod name ever created (a duplicate shows twice)
        self._procs: dict[str, subprocess.Popen] = {}
        self._dir = Path(tempfile.mkdtemp(prefix="fake-k8s-"))
        self._stopping = threading.Event()
        handler = type("Handler", (_Handler,), {"fake": self})
        self.server = _Server(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True, name="fake-k8s").start()

    # --- test controls ---------------------------------------------------------------------------

    def kubeconfig(self, path: Path, namespace: str = "tasks") -> Path:
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "fake-token"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": namespace}}],
        }))
        return path

    def fail_next(self, method: str, path_pattern: str, status: int, count: int = 1, message: str = "injected",
                  headers: dict | None = None) -> None:
        with self._lock:
            self.faults.append({"method": method, "path": re.compile(path_pattern), "status": status,
                                "count": count, "message": message, "headers": headers or {}})

    def compact(self) -> None:
        """Forget every event so far (as etcd compaction, past the current version): every watch open now,
        and any from an older resourceVersion, gets 410 Gone; a new list gives a version to watch from."""
        with self._lock:
            self.events.clear()
            self._rv += 1
            self._floor = self._rv
            self._changed.notify_all()

    def pods(self, namespace: str | None = None) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(o) for (kind, ns, _), o in self.objects.items()
                    if kind == "Pod" and (namespace is None or ns == namespace)]

    def secrets(self, namespace: str | None = None) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(o) for (kind, ns, _), o in self.objects.items()
                    if kind == "Secret" and (namespace is None or ns == namespace)]

    def close(self) -> None:
        self._stopping.set()
        with self._lock:
            procs = list(self._procs.values())
            self._changed.notify_all()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        self.server.shutdown()
        self.server.server_close()
        if not os.environ.get("FAKE_K8S_KEEP"):  # keep the pods' folders (their logs) to look at
            shutil.rmtree(self._dir, ignore_errors=True)
        else:
            print(f"fake Kubernetes pods kept in {self._dir}", file=sys.stderr)

    # --- storage --------------------------------------------------------------------------------

    _floor = 100

    def _bump(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _record(self, kind: str, obj: dict, event: str) -> None:
        if kind != "Pod":
            return
        active = sum(1 for (k, _, _), o in self.objects.items()
                     if k == "Pod" and o.get("status", {}).get("phase") in ("Pending", "Running"))
        self.max_active = max(self.max_active, active)  # pods not finished at once: parallelism
        self.events.append((int(obj["metadata"]["resourceVersion"]), event, copy.deepcopy(obj)))
        if len(self.events) > self.window:
            dropped = self.events[: len(self.events) - self.window]
            del self.events[: len(self.events) - self.window]
            self._floor = dropped[-1][0]
        self._changed.notify_all()

    def create(self, kind: str, namespace: str, obj: dict) -> tuple[int, dict]:
        meta = obj.setdefault("metadata", {})
        name = meta.get("name")
        if not name or not re.match(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", name) or len(name) > 253:
            return 422, _status(422, "Invalid", f'{kind} "{name}" is invalid: metadata.name: Invalid value')
        with self._lock:
            key = (kind, namespace, name)
            if key in self.objects:
                return 409, _status(409, "AlreadyExists", f'{kind.lower()}s "{name}" already exists')
            meta.update(namespace=namespace, uid=str(uuid.uuid4()), resourceVersion=self._bump(),
                        creationTimestamp=_now())
            obj.setdefault("kind", kind)
            obj.setdefault("apiVersion", "v1")
            if kind == "Pod":
                self.created_pods.append(name)
                obj["status"] = {"phase": "Pending", "conditions": []}
            self.objects[key] = obj
            self._record(kind, obj, "ADDED")
            result = copy.deepcopy(obj)
        if kind == "Pod":
            threading.Thread(target=self._kubelet, args=(namespace, name, meta["uid"]), daemon=True).start()
        return 201, result

    def _update(self, key, change) -> dict | None:
        """Apply `change(obj)` to a live object as a new version (a MODIFIED event)."""
        with self._lock:
            obj = self.objects.get(key)
            if obj is None:
                return None
            change(obj)
            obj["metadata"]["resourceVersion"] = self._bump()
            self._record(key[0], obj, "MODIFIED")
            return copy.deepcopy(obj)

    def _remove(self, key) -> None:
        with self._lock:
            obj = self.objects.pop(key, None)
            if obj is None:
                return
            obj["metadata"]["resourceVersion"] = self._bump()
            self._record(key[0], obj, "DELETED")
            uid = obj["metadata"]["uid"]
            owned = [k for k, o in self.objects.items() if k[1] == key[1] and any(
                ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences") or [])]
        for k in owned:  # the garbage collector: what the object owned goes with it
            self._remove(k)

    def delete(self, kind: str, namespace: str, name: str, grace: float | None) -> tuple[int, dict]:
        key = (kind, namespace, name)
        with self._lock:
            obj = self.objects.get(key)
            if obj is None:
                return 404, _status(404, "NotFound", f'{kind.lower()}s "{name}" not found')
            proc = self._procs.get(obj["metadata"]["uid"])
            result = copy.deepcopy(obj)
        if kind != "Pod" or proc is None or proc.poll() is not None or grace == 0:
            if proc is not None and proc.poll() is None:
                proc.kill()
            self._remove(key)
            return 200, result
        if grace is None:
            grace = float(obj["spec"].get("terminationGracePeriodSeconds", 30))
        grace = min(grace, self.max_grace)
        updated = self._update(key, lambda o: o["metadata"].update(deletionTimestamp=_now(),
                                                                     deletionGracePeriodSeconds=int(grace)))
        threading.Thread(target=self._terminate, args=(key, proc, grace), daemon=True).start()
        return 200, updated or result

    def force_delete(self, namespace: str, name: str, grace: float = 2.0) -> None:
        """As `kubectl delete pod --force --grace-period=0`: the object is gone at once (DELETED, its log no
        longer served), while the kubelet still stops the container, SIGTERM first, then SIGKILL."""
        key = ("Pod", namespace, name)
        with self._lock:
            obj = self.objects.get(key)
            proc = self._procs.get(obj["metadata"]["uid"]) if obj is not None else None
        self._remove(key)
        if proc is not None and proc.poll() is None:
            threading.Thread(target=self._terminate, args=(key, proc, grace), daemon=True).start()

    def _terminate(self, key, proc: subprocess.Popen, grace: float) -> None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait(5)
        self._remove(key)

    # --- the kubelet ----------------------------------------------------------------------------

    def _kubelet(self, namespace: str, name: str, uid: str) -> None:
        key = ("Pod", namespace, name)
        with self._lock:
            pod = copy.deepcopy(self.objects.get(key))
        if pod is None or pod["metadata"]["uid"] != uid:
            return
        spec = pod["spec"]
        container = spec["containers"][0]
        if (spec.get("nodeSelector") or {}).get("fake.leoflow.dev/unschedulable") == "true":
            self._update(key, lambda o: o["status"].update(conditions=[{
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."}]))
            return
        self._update(key, lambda o: o["status"].update(conditions=[{"type": "PodScheduled", "status": "True"}],
                                                       hostIP="127.0.0.1"))
        if "err-image-pull" in (container.get("image") or ""):
            time.sleep(0.2)
            self._update(key, lambda o: o["status"].update(containerStatuses=[{
                "name": container["name"], "ready": False, "restartCount": 0, "image": container["image"],
                "state": {"waiting": {"reason": "ErrImagePull",
                                      "message": f'failed to pull image "{container["image"]}": not found'}}}]))
            return
        folder = self._dir / uid
        mounts = self._mount_volumes(namespace, pod, folder)
        if mounts is None:
            return  # the pod went away while waiting for its secrets
        log_path = folder / "container.log"
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        host_paths = [(m["mountPath"], volumes[m["name"]]["hostPath"]["path"], bool(m.get("readOnly")))
                            for m in container.get("volumeMounts") or []
                            if "hostPath" in volumes.get(m["name"], {})]
        command = self._command(container, mounts, host_paths)
        env = self._env(container)
        with open(log_path, "wb") as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder,
                                    start_new_session=True)
        with self._lock:
            self._procs[uid] = proc
            if self.objects.get(key, {}).get("metadata", {}).get("uid") != uid:
                proc.kill()
                return
        started = _now()
        self._update(key, lambda o: o["status"].update(phase="Running", startTime=started, containerStatuses=[{
            "name": container["name"], "ready": True, "restartCount": 0, "image": container.get("image"),
            "state": {"running": {"startedAt": started}}}]))
        code = proc.wait()
        finished = _now()
        if code < 0:
            code = 128 - code
        reason = "Completed" if code == 0 else ("OOMKilled" if code == 137 else "Error")

        def end(o):
            if o["metadata"].get("deletionTimestamp") and code != 0:
                pass
            o["status"].update(phase="Succeeded" if code == 0 else "Failed", containerStatuses=[{
                "name": container["name"], "ready": False, "restartCount": 0, "image": container.get("image"),
                "state": {"terminated": {"exitCode": code, "reason": reason, "startedAt": started,
                                         "finishedAt": finished}}}])

        self._update(key, end)

    def _mount_volumes(self, namespace: str, pod: dict, folder: Path) -> dict | None:
        """Each secret volume as files in a private folder (waiting, as a kubelet does, until the secret
        exists); mountPath -> folder."""
        folder.mkdir(mode=0o700, parents=True)
        volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
        mounts = {}
        for mount in pod["spec"]["containers"][0].get("volumeMounts") or []:
            volume = volumes.get(mount["name"], {})
            if "secret" not in volume:
                continue
            secret_key = ("Secret", namespace, volume["secret"]["secretName"])
            deadline = time.monotonic() + 600
            with self._lock:
                while secret_key not in self.objects:
                    if self._stopping.is_set() or ("Pod", namespace, pod["metadata"]["name"]) not in self.objects \
                            or time.monotonic() > deadline:
                        return None
                    self._changed.wait(0.5)
                data = dict(self.objects[secret_key].get("data") or {})
            target = folder / mount["name"]
            target.mkdir()
            target.chmod(0o755)
            for name, value in data.items():
                path = target / name
                path.write_bytes(base64.b64decode(value))
                path.chmod(volume["secret"].get("defaultMode", 0o644))
            mounts[mount["mountPath"].rstrip("/")] = str(target)
        return mounts

    def _command(self, container: dict, mounts: dict, host_paths: list) -> list[str]:
        def local(arg: str) -> str:
            for mount, path in mounts.items():
                if arg == mount or arg.startswith(mount + "/"):
                    return path + arg[len(mount):]
            return arg

        if self.podman_image:
            volumes = [x for mount, path in mounts.items() for x in ("-v", f"{path}:{mount}:ro")]
            for mount, path, read_only in host_paths:  # e.g. the DAG folder, as a template mounts it
                volumes += ["-v", f"{path}:{mount}" + (":ro" if read_only else "")]
            env = [x for item in container.get("env") or [] for x in ("-e", f"{item['name']}={item.get('value', '')}")]
            entry = ["--entrypoint", container["command"][0]] if container.get("command") else []
            rest = (container.get("command") or [])[1:] + (container.get("args") or [])
            return ["podman", "run", "--rm", "--network", "host", *volumes, *env, *entry, self.podman_image, *rest]
        command = container.get("command") or [sys.executable, "-m", "leoflow"]  # the image's entrypoint
        return [local(a) for a in command + (container.get("args") or [])]

    def _env(self, container: dict) -> dict:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ", "CONTAINERS_CONF")}
        env["PYTHONPATH"] = str(SOURCE_ROOT / "app")
        env.update({item["name"]: item.get("value", "") for item in container.get("env") or []})
        return env

    def pod_log(self, namespace: str, name: str) -> bytes | None:
        with self._lock:
            obj = self.objects.get(("Pod", namespace, name))
        if obj is None:
            return None
        try:
            return (self._dir / obj["metadata"]["uid"] / "container.log").read_bytes()
        except FileNotFoundError:
            return b""


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):  # a client hanging up is normal
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeKubernetes
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _send(self, code: int, body, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in getattr(self, "_extra_headers", {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        return json.loads(self._raw or b"{}")

    def _fault(self, method: str, path: str) -> bool:
        fake = self.fake
        with fake._lock:
            fault = next((f for f in fake.faults if f["method"] == method and f["path"].search(path)), None)
            if fault is None:
                return False
            fault["count"] -= 1
            if fault["count"] <= 0:
                fake.faults.remove(fault)
        reasons = {403: "Forbidden", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}
        self._extra_headers = fault["headers"]
        self._send(fault["status"], _status(fault["status"], reasons.get(fault["status"], "Unknown"), fault["message"]))
        return True

    def _route(self, method: str) -> None:
        self._raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # read before any answer
        self._extra_headers = {}
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        self.fake.requests.append((method, url.path))
        if self._fault(method, url.path):
            return
        m = re.match(r"^/api/v1/namespaces/([^/]+)/(pods|secrets)(?:/([^/]+))?(?:/(log))?$", url.path)
        if not m:
            self._send(404, _status(404, "NotFound", f"the server could not find the requested resource {url.path}"))
            return
        namespace, plural, name, sub = m.groups()
        kind = "Pod" if plural == "pods" else "Secret"
        fake = self.fake
        if method == "GET" and name is None:
            if str(query.get("watch", "")).lower() in ("true", "1"):  # Go's ParseBool: True too
                self._watch(namespace, query)
            else:
                self._list(kind, namespace, query)
        elif method == "POST" and name is None:
            code, body = fake.create(kind, namespace, self._body())
            self._send(code, body)
        elif method == "GET" and sub == "log":
            data = fake.pod_log(namespace, name)
            if data is None:
                self._send(404, _status(404, "NotFound", f'pods "{name}" not found'))
            else:
                limit = int(query.get("limitBytes") or 0)
                self._send(200, data[:limit] if limit else data, "text/plain")
        elif method == "GET":
            with fake._lock:
                obj = copy.deepcopy(fake.objects.get((kind, namespace, name)))
            self._send(200, obj) if obj else self._send(404, _status(404, "NotFound", f'{plural} "{name}" not found'))
        elif method == "DELETE":
            body = self._body()
            grace = query.get("gracePeriodSeconds", body.get("gracePeriodSeconds"))
            code, result = fake.delete(kind, namespace, name, float(grace) if grace is not None else None)
            self._send(code, result)
        elif method == "PATCH":
            patch = self._body()

            def apply(obj):
                for field in ("labels", "annotations"):
                    for k, v in ((patch.get("metadata") or {}).get(field) or {}).items():
                        if v is None:
                            obj["metadata"].get(field, {}).pop(k, None)
                        else:
                            obj["metadata"].setdefault(field, {})[k] = v

            result = fake._update((kind, namespace, name), apply)
            self._send(200, result) if result else self._send(404, _status(404, "NotFound", f'"{name}" not found'))
        else:
            self._send(405, _status(405, "MethodNotAllowed", method))

    def _list(self, kind: str, namespace: str, query: dict) -> None:
        fake = self.fake
        match = parse_selector(query.get("labelSelector", ""))
        with fake._lock:
            items = [copy.deepcopy(o) for (k, ns, _), o in sorted(fake.objects.items())
                     if k == kind and ns == namespace and match(o["metadata"].get("labels"))]
            version = str(fake._rv)
        if "as=PartialObjectMetadataList" in (self.headers.get("Accept") or ""):
            self._send(200, {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                             "metadata": {"resourceVersion": version},
                             "items": [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                        "metadata": o["metadata"]} for o in items]})
            return
        self._send(200, {"kind": f"{kind}List", "apiVersion": "v1", "metadata": {"resourceVersion": version},
                         "items": items})

    def _watch(self, namespace: str, query: dict) -> None:
        fake = self.fake
        match = parse_selector(query.get("labelSelector", ""))
        since = int(query.get("resourceVersion") or 0)
        deadline = time.monotonic() + min(float(query.get("timeoutSeconds") or 1800), 1800)
        bookmarks = str(query.get("allowWatchBookmarks", "")).lower() in ("true", "1")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def emit(event: dict) -> None:
            data = (json.dumps(event) + "\n").encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        try:
            with fake._lock:
                if since and since < fake._floor:
                    fake.gone_sent += 1
                    emit({"type": "ERROR", "object": _status(410, "Expired",
                                                              f"too old resource version: {since} ({fake._floor})")})
                    self.wfile.write(b"0\r\n\r\n")
                    return
            last_bookmark = time.monotonic()
            while time.monotonic() < deadline and not fake._stopping.is_set():
                with fake._lock:
                    if since < fake._floor:
                        fake.gone_sent += 1
                        emit({"type": "ERROR", "object": _status(410, "Expired", "too old resource version")})
                        break
                    pending = [(rv, t, o) for rv, t, o in fake.events if rv > since]
                    if not pending:
                        fake._changed.wait(min(0.5, max(0.0, deadline - time.monotonic())))
                        pending = [(rv, t, o) for rv, t, o in fake.events if rv > since]
                    current = fake._rv
                for rv, kind, obj in pending:
                    since = rv
                    if obj["metadata"].get("namespace") == namespace and match(obj["metadata"].get("labels")):
                        emit({"type": kind, "object": obj})
                if bookmarks and time.monotonic() - last_bookmark >= fake.bookmark_interval:
                    since = max(since, current) if not pending else since
                    emit({"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1",
                                                         "metadata": {"resourceVersion": str(since)}}})
                    last_bookmark = time.monotonic()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_DELETE(self):
        self._route("DELETE")

    def do_PATCH(self):
        self._route("PATCH")
