"""Airflow helpers that provider code imports (cncf-kubernetes, google), served with Airflow's behaviour."""

from __future__ import annotations

import os
import sys

import pytest


def test_patch_environ_sets_for_the_block_and_restores_even_on_error(monkeypatch):
    from airflow.utils.process_utils import patch_environ

    monkeypatch.setenv("LEOFLOW_T_KEPT", "before")
    monkeypatch.delenv("LEOFLOW_T_NEW", raising=False)
    with pytest.raises(ZeroDivisionError):
        with patch_environ({"LEOFLOW_T_KEPT": "inside", "LEOFLOW_T_NEW": "1"}):
            assert os.environ["LEOFLOW_T_KEPT"] == "inside" and os.environ["LEOFLOW_T_NEW"] == "1"
            os.environ["LEOFLOW_T_NEW"] = "changed in the block"
            1 / 0
    assert os.environ["LEOFLOW_T_KEPT"] == "before" and "LEOFLOW_T_NEW" not in os.environ


def test_provide_session_decorates_at_import_and_names_the_database_when_called():
    from airflow.utils.session import NEW_SESSION, create_session, provide_session

    class Trigger:
        @provide_session
        def get_task_instance(self, *, session=NEW_SESSION):
            return session

    with pytest.raises(RuntimeError, match=r"Trigger.get_task_instance\(\) needs Airflow's metadata database"):
        Trigger().get_task_instance()
    assert Trigger().get_task_instance(session="a caller's own") == "a caller's own"
    with pytest.raises(RuntimeError, match="metadata database"):
        with create_session():
            pass


def test_md5_is_the_plain_digest():
    import hashlib

    from airflow.utils.hashlib_wrapper import md5

    assert md5(b"pod-name").hexdigest() == hashlib.md5(b"pod-name").hexdigest()
    assert md5().hexdigest() == "d41d8cd98f00b204e9800998ecf8427e"


def test_pod_mutation_hook_is_the_local_settings_one_or_leaves_the_pod_alone(tmp_path, monkeypatch):
    from airflow import settings

    pod = {"labels": {}}
    monkeypatch.delitem(sys.modules, "airflow_local_settings", raising=False)
    settings.pod_mutation_hook(pod)
    assert pod == {"labels": {}}
    (tmp_path / "airflow_local_settings.py").write_text("def pod_mutation_hook(pod):\n    pod['labels']['x'] = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.pod_mutation_hook(pod)
    assert pod == {"labels": {"x": 1}}
    assert settings.AIRFLOW_HOME == os.path.abspath(settings.AIRFLOW_HOME)
    sys.modules.pop("airflow_local_settings", None)


def test_external_task_sensor_raises_the_standard_providers_errors():
    from airflow.exceptions import AirflowException
    from airflow.providers.standard.exceptions import (
        AirflowExternalTaskSensorException, ExternalDagFailedError, ExternalTaskFailedError,
        ExternalTaskGroupFailedError, HITLRejectException)
    from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
    from airflow.sdk import DAG

    class TI:
        def get_ti_count(self, **kw):
            return 1 if kw["states"] == ["failed"] else 0

        get_dr_count = get_ti_count

    import datetime as dt

    ctx = {"ti": TI(), "logical_date": dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)}
    with DAG("waits", schedule=None):
        sensors = {
            ExternalTaskFailedError: ExternalTaskSensor(task_id="t", external_dag_id="up", external_task_id="u",
                                                        failed_states=["failed"]),
            ExternalTaskGroupFailedError: ExternalTaskSensor(task_id="g", external_dag_id="up",
                                                             external_task_group_id="grp", failed_states=["failed"]),
            ExternalDagFailedError: ExternalTaskSensor(task_id="d", external_dag_id="up", external_task_id=None,
                                                       failed_states=["failed"]),
        }
    for error, sensor in sensors.items():
        with pytest.raises(error, match="The external DAG up failed"):
            sensor.poke(ctx)
        assert issubclass(error, AirflowExternalTaskSensorException) and issubclass(error, AirflowException)
    assert issubclass(HITLRejectException, AirflowException)


def test_the_listener_manager_calls_plugins_listeners_by_keyword():
    import types

    from airflow.listeners.listener import get_listener_manager as old_path
    from airflow.sdk.listener import get_listener_manager
    from leoflow.sdk import plugins

    manager = get_listener_manager()
    assert manager is old_path()
    earlier = list(plugins.listeners)  # plugins an earlier test of this process loaded
    manager.clear()
    assert not manager.has_listeners
    heard = []
    listener = types.SimpleNamespace(on_starting=lambda component: heard.append(component) or "started",
                                     on_asset_changed=lambda asset: 1 / 0)
    manager.add_listener(listener)
    manager.add_listener(listener)  # once only
    try:
        assert manager.has_listeners and plugins.listeners == [listener]
        assert manager.hook.on_starting(component="scheduler") == ["started"]
        assert manager.hook.on_asset_changed(asset="a") == []  # its error is logged, never raised
        assert manager.hook.before_stopping(component="x") == []  # nobody listens
        with pytest.raises(TypeError, match="keyword arguments only"):
            manager.hook.on_starting("scheduler")
        assert heard == ["scheduler"]
    finally:
        manager.clear()
    assert not manager.has_listeners
    plugins.listeners.extend(earlier)
