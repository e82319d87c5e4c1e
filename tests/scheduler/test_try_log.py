"""Why Leoflow ended a try goes into that try's own log, as one record of the log's format."""

import json
from types import SimpleNamespace

from leoflow.runner.logfile import log_relative_path
from leoflow.scheduler import try_log


def a_try(**ids):
    return SimpleNamespace(**{"dag_id": "d", "run_id": "manual__1", "task_id": "t", "map_index": -1,
                              "try_number": 1, **ids})


def test_the_record_is_appended_to_the_file_the_runner_writes(tmp_path):
    ti = a_try(map_index=3, try_number=2)
    path = tmp_path / log_relative_path("d", "manual__1", "t", 3, 2)
    path.parent.mkdir(parents=True)
    path.write_text('{"timestamp":"2026-01-01T00:00:00.000000Z","event":"hello","level":"info","logger":"task"}\n')
    try_log.write(tmp_path, ti, "Task did not emit heartbeat within time limit (30 seconds) and will be terminated")
    first, record = [json.loads(line) for line in path.read_text().splitlines()]
    assert first["event"] == "hello"
    assert set(record) == {"timestamp", "event", "level", "logger"}
    assert (record["level"], record["logger"]) == ("error", "leoflow.scheduler")
    assert record["timestamp"].endswith("Z") and "heartbeat" in record["event"]


def test_ids_that_would_lead_outside_the_logs_folder_write_nothing(tmp_path):
    logs = tmp_path / "home" / "logs"
    escaping = a_try(run_id="x/../../../../outside")
    assert try_log.log_path(logs, escaping) is None
    try_log.write(logs, escaping, "escaped?")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    inside = a_try(run_id="../x")  # odd, but it stays in the folder
    assert try_log.log_path(logs, inside).is_relative_to(logs)
