"""The few calls the executor makes on pods and their Secrets, as plain JSON documents (no model
objects: a pod is a dict as the API sends it), each through `api.call`'s retries."""

from __future__ import annotations

import base64
import json

from . import api, names

METADATA_ONLY = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"
MAX_LOG_BYTES = 16 * 1024 * 1024


def _json(response) -> dict:
    return json.loads(response.data or b"{}")


class Pods:
    def __init__(self, core, namespace: str, stop=None):
        self.core, self.namespace, self.stop = core, namespace, stop

    def create(self, pod: dict) -> dict | None:
        """The created pod; None when a pod of that name exists already (409: it is adopted)."""
        result = api.call(self.core.create_namespaced_pod, self.namespace, pod, ok=(409,), _preload_content=False,
                          stop=self.stop)
        return None if isinstance(result, Exception) else _json(result)

    def get(self, name: str) -> dict | None:
        result = api.call(self.core.read_namespaced_pod, name, self.namespace, ok=(404,), _preload_content=False,
                          stop=self.stop)
        return None if isinstance(result, Exception) else _json(result)

    def create_workload_secret(self, pod: dict, workload: dict) -> bool:
        """The workload, in a Secret the pod owns (deleting the pod deletes it). False if it existed."""
        name = pod["metadata"]["name"]
        secret = {
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": names.secret_name(name), "namespace": self.namespace,
                         "labels": {k: v for k, v in pod["metadata"].get("labels", {}).items()},
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": name,
                                              "uid": pod["metadata"]["uid"], "blockOwnerDeletion": True}]},
            "data": {names.WORKLOAD_FILE: base64.b64encode(json.dumps(workload).encode()).decode()},
        }
        result = api.call(self.core.create_namespaced_secret, self.namespace, secret, ok=(409,),
                          _preload_content=False, stop=self.stop)
        return not isinstance(result, Exception)

    def delete(self, name: str, grace_seconds: int | None = None) -> None:
        kwargs = {"grace_period_seconds": grace_seconds} if grace_seconds is not None else {}
        api.call(self.core.delete_namespaced_pod, name, self.namespace, ok=(404,), _preload_content=False,
                 propagation_policy="Background", stop=self.stop, **kwargs)

    def list(self, selector: str) -> tuple[list[dict], str]:
        """Every pod of the selector and the list's resourceVersion (to watch from)."""
        body = _json(api.call(self.core.list_namespaced_pod, self.namespace, label_selector=selector,
                              _preload_content=False, stop=self.stop))
        return body.get("items") or [], body.get("metadata", {}).get("resourceVersion") or ""

    def list_metadata(self, selector: str) -> list[dict] | None:
        """Only the pods' metadata (cheap); None when the API cannot answer in that form."""
        client = self.core.api_client  # the generated method cannot ask for another Accept header

        def list_metadata():
            return client.call_api(f"/api/v1/namespaces/{self.namespace}/pods", "GET",
                                   query_params=[("labelSelector", selector)], header_params={"Accept": METADATA_ONLY},
                                   auth_settings=["BearerToken"], _return_http_data_only=True,
                                   _preload_content=False, _request_timeout=api.REQUEST_TIMEOUT)

        body = _json(api.call(list_metadata, stop=self.stop))
        if body.get("kind") not in ("PartialObjectMetadataList", "PodList"):
            return None
        return [item.get("metadata") or {} for item in body.get("items") or []]

    def log(self, name: str) -> bytes:
        """The task container's log so far (stdout and stderr)."""
        result = api.call(self.core.read_namespaced_pod_log, name, self.namespace, container=names.CONTAINER,
                          limit_bytes=MAX_LOG_BYTES, ok=(400, 404), _preload_content=False, stop=self.stop)
        return b"" if isinstance(result, Exception) else (result.data or b"")

    def watch(self, selector: str, resource_version: str, timeout_seconds: int):
        """Watch events (dicts with `type` and `object`, BOOKMARKs included) from `resource_version`; ends
        at the timeout. An ERROR event (410 Gone: the version is too old) raises ApiException."""
        from kubernetes.client.exceptions import ApiException
        from kubernetes.watch.watch import iter_resp_lines

        response = self.core.list_namespaced_pod(
            self.namespace, label_selector=selector, resource_version=resource_version or None, watch=True,
            allow_watch_bookmarks=True, timeout_seconds=int(timeout_seconds), _preload_content=False,
            _request_timeout=(5.0, timeout_seconds + 15.0))
        try:
            for line in iter_resp_lines(response):
                if not line or line.isspace():
                    continue
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise ApiException(status=status.get("code") or 500,
                                       reason=f"{status.get('reason')}: {status.get('message')}")
                yield event
                if self.stop is not None and self.stop.is_set():
                    return
        finally:
            response.close()
            response.release_conn()
