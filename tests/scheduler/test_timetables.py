"""Airflow 3.2 schedule semantics, one schedule kind at a time (docs/serialized-dag.md)."""

import datetime as dt
import sys
import textwrap

import pytest

from leoflow.scheduler.timetables import next_run, only_one_active

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 5, 10, 30, tzinfo=UTC)  # a Monday


def at(*args):
    return dt.datetime(*args, tzinfo=UTC)


def ser(kind, value=None, start="2026-01-01T00:00:00+00:00", catchup=False, end=None, **extra):
    return {"dag_id": "d", "schedule": {"kind": kind, "value": value, **extra}, "start_date": start,
            "catchup": catchup, "end_date": end}


def test_no_schedule_and_asset_schedules_never_run_by_time():
    assert next_run(ser("none"), None, NOW) is None
    assert next_run(ser("assets", {"asset": {"name": "a", "uri": "a"}}), None, NOW) is None


def test_cron_without_catchup_runs_the_latest_tick_only():
    nxt = next_run(ser("cron", "0 0 * * *"), None, NOW)
    assert nxt.logical_date == at(2026, 1, 5)
    assert nxt.data_interval == (nxt.logical_date, nxt.logical_date)
    assert nxt.run_after == at(2026, 1, 5)


def test_cron_with_catchup_starts_at_the_start_date_and_walks_forward():
    first = next_run(ser("cron", "0 0 * * *", catchup=True), None, NOW)
    assert first.logical_date == at(2026, 1, 1)
    second = next_run(ser("cron", "0 0 * * *", catchup=True), first.logical_date, NOW)
    assert second.logical_date == at(2026, 1, 2)


def test_cron_after_the_previous_run_waits_for_the_next_tick():
    nxt = next_run(ser("cron", "0 0 * * *"), at(2026, 1, 5), NOW)
    assert nxt.logical_date == at(2026, 1, 6) and nxt.run_after == at(2026, 1, 6)


def test_cron_start_date_in_the_future_waits_for_it():
    nxt = next_run(ser("cron", "0 0 * * *", start="2026-02-01T12:00:00+00:00"), None, NOW)
    assert nxt.logical_date == at(2026, 2, 2)


def test_cron_in_the_dags_timezone():
    # 9:00 in New York is 14:00 UTC in winter.
    nxt = next_run(ser("cron_trigger", "0 9 * * *", timezone="America/New_York", interval=0), None, NOW)
    assert nxt.run_after == at(2026, 1, 4, 14)


def test_cron_trigger_with_interval_has_a_data_interval_ending_at_the_tick():
    nxt = next_run(ser("cron_trigger", "0 * * * *", interval=3600, timezone="UTC"), None, NOW)
    assert nxt.run_after == at(2026, 1, 5, 10)
    assert nxt.data_interval == (at(2026, 1, 5, 9), at(2026, 1, 5, 10))
    assert nxt.logical_date == at(2026, 1, 5, 9)
    after = next_run(ser("cron_trigger", "0 * * * *", interval=3600, timezone="UTC"), nxt.logical_date, NOW)
    assert after.run_after == at(2026, 1, 5, 11)


def test_once_runs_once_at_the_start_date():
    first = next_run(ser("once"), None, NOW)
    assert first.logical_date == at(2026, 1, 1)
    assert next_run(ser("once"), first.logical_date, NOW) is None


def test_timedelta_without_catchup_runs_now_then_every_delta():
    # DeltaTriggerTimetable: every instant is aligned, so the latest due run is "now".
    nxt = next_run(ser("timedelta", 3600.0), None, NOW)
    assert nxt.logical_date == NOW
    after = next_run(ser("timedelta", 3600.0), NOW, NOW)
    assert after.logical_date == NOW + dt.timedelta(hours=1)


def test_timedelta_with_catchup_walks_from_the_start_date():
    nxt = next_run(ser("delta_trigger", 86400.0, catchup=True), None, NOW)
    assert nxt.logical_date == at(2026, 1, 1)
    assert next_run(ser("delta_trigger", 86400.0, catchup=True), nxt.logical_date, NOW).logical_date == at(2026, 1, 2)


def test_delta_data_interval_runs_when_the_interval_ends():
    catchup = next_run(ser("delta_interval", 86400.0, catchup=True), None, NOW)
    assert catchup.data_interval == (at(2026, 1, 1), at(2026, 1, 2))
    assert catchup.logical_date == at(2026, 1, 1) and catchup.run_after == at(2026, 1, 2)
    nxt = next_run(ser("delta_interval", 86400.0, catchup=True), catchup.logical_date, NOW)
    assert nxt.data_interval == (at(2026, 1, 2), at(2026, 1, 3))
    latest = next_run(ser("delta_interval", 86400.0), None, NOW)  # no catchup: the latest complete day
    assert latest.data_interval == (at(2026, 1, 4), at(2026, 1, 5))


def test_cron_data_interval_without_catchup_is_the_latest_complete_interval():
    nxt = next_run(ser("cron_interval", "0 0 * * *", timezone="UTC"), None, NOW)
    assert nxt.data_interval == (at(2026, 1, 4), at(2026, 1, 5))
    assert nxt.run_after == at(2026, 1, 5)


def test_end_date_stops_the_schedule():
    assert next_run(ser("cron", "0 0 * * *", end="2026-01-03T00:00:00+00:00"), None, NOW) is None
    assert next_run(ser("delta_interval", 86400.0, catchup=True, end="2025-12-01T00:00:00+00:00"), None, NOW) is None


def test_continuous_runs_now_and_one_at_a_time():
    nxt = next_run(ser("continuous"), None, NOW)
    assert nxt.run_after == NOW
    assert only_one_active(ser("continuous")) and not only_one_active(ser("cron", "0 0 * * *"))


def test_asset_or_time_uses_its_timetable_for_time():
    doc = {"dag_id": "d", "start_date": "2026-01-01T00:00:00+00:00", "catchup": False,
           "schedule": {"kind": "asset_or_time", "assets": {"asset": {"name": "a", "uri": "a"}},
                        "timetable": {"kind": "cron_trigger", "value": "0 1 * * 3", "timezone": "UTC", "interval": 0}}}
    nxt = next_run(doc, None, NOW)
    assert nxt.run_after == at(2026, 1, 7, 1)  # the first Wednesday 01:00 after the start date


def test_multiple_crons_take_the_latest_due_tick():
    doc = ser("multiple_cron_trigger", ["0 0 * * *", "0 6 * * *"], timezone="UTC", interval=0)
    assert next_run(doc, None, NOW).run_after == at(2026, 1, 5, 6)
    assert next_run(doc, at(2026, 1, 5, 6), NOW).run_after == at(2026, 1, 6)


def test_events_run_at_each_listed_instant_after_now():
    doc = ser("events", ["2026-01-03T00:00:00+00:00", "2026-01-07T00:00:00+00:00", "2026-01-09T00:00:00+00:00"])
    assert next_run(doc, None, NOW).run_after == at(2026, 1, 7)
    assert next_run(doc, at(2026, 1, 7), NOW).run_after == at(2026, 1, 9)
    assert next_run(doc, at(2026, 1, 9), NOW) is None


@pytest.fixture
def workday_module(tmp_path, monkeypatch):
    """The workday timetable of Airflow's example plugins, written here as a plugin module would be."""
    (tmp_path / "leoflow_test_workday.py").write_text(textwrap.dedent('''
        from datetime import timedelta
        from pendulum import UTC, Date, DateTime, Time
        from leoflow.sdk.timetables import DagRunInfo, DataInterval, Timetable

        class AfterWorkdayTimetable(Timetable):
            def get_next_workday(self, d, incr=1):
                while d.weekday() in (5, 6):
                    d = d.add(days=incr)
                return d

            def infer_manual_data_interval(self, run_after):
                start = DateTime.combine((run_after - timedelta(days=1)).date(), Time.min).replace(tzinfo=UTC)
                start = self.get_next_workday(start, incr=-1)
                return DataInterval(start=start, end=(start + timedelta(days=1)))

            def next_dagrun_info(self, *, last_automated_data_interval, restriction):
                if last_automated_data_interval is not None:
                    last_start = last_automated_data_interval.start
                    next_start = DateTime.combine((last_start + timedelta(days=1)).date(), Time.min)
                elif (earliest := restriction.earliest) is None:
                    return None
                else:
                    next_start = DateTime.combine(earliest.date(), Time.min)
                next_start = self.get_next_workday(next_start.replace(tzinfo=UTC))
                return DagRunInfo.interval(start=next_start, end=(next_start + timedelta(days=1)))
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "leoflow_test_workday.AfterWorkdayTimetable"
    sys.modules.pop("leoflow_test_workday", None)


def test_plugin_timetable_is_asked_for_its_next_run(workday_module):
    doc = {"dag_id": "w", "start_date": "2026-01-02T00:00:00+00:00", "catchup": True,
           "schedule": {"kind": "custom", "class": workday_module, "data": {}}}
    first = next_run(doc, None, NOW)  # Friday 2 January
    assert first.data_interval == (at(2026, 1, 2), at(2026, 1, 3)) and first.run_after == at(2026, 1, 3)
    second = next_run(doc, first.logical_date, NOW)  # the weekend is skipped
    assert second.logical_date == at(2026, 1, 5)


def test_unknown_plugin_timetable_is_not_scheduled():
    doc = {"dag_id": "w", "start_date": "2026-01-02T00:00:00+00:00", "catchup": True,
           "schedule": {"kind": "custom", "class": "no_such_module.Timetable", "data": {}}}
    assert next_run(doc, None, NOW) is None


def test_timetable_registered_by_a_plugins_folder(tmp_path, monkeypatch):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "every_monday_plugin.py").write_text(textwrap.dedent('''
        from datetime import timedelta
        from airflow.plugins_manager import AirflowPlugin
        from airflow.timetables.base import DagRunInfo, Timetable

        class MondayNoon(Timetable):
            def next_dagrun_info(self, *, last_automated_data_interval, restriction):
                base = last_automated_data_interval.start + timedelta(days=1) if last_automated_data_interval \\
                    else restriction.earliest
                while base.weekday() != 0:
                    base += timedelta(days=1)
                at = base.replace(hour=12, minute=0, second=0, microsecond=0)
                return DagRunInfo.exact(at)

        class MondayPlugin(AirflowPlugin):
            name = "monday"
            timetables = [MondayNoon]
    '''))
    monkeypatch.setenv("LEOFLOW_PLUGINS_FOLDER", str(plugins))
    doc = {"dag_id": "m", "start_date": "2026-01-01T00:00:00+00:00", "catchup": True,
           "schedule": {"kind": "custom", "class": "every_monday_plugin.MondayNoon", "data": {}}}
    first = next_run(doc, None, NOW)
    assert first.run_after == at(2026, 1, 5, 12) and first.data_interval == (first.run_after, first.run_after)
    assert next_run(doc, first.logical_date, NOW).run_after == at(2026, 1, 12, 12)


def test_cron_without_start_date_runs_a_recent_tick_or_waits_for_the_next():
    hourly = {"dag_id": "d", "start_date": None, "catchup": False,
              "schedule": {"kind": "cron_trigger", "value": "0 * * * *", "timezone": "UTC", "interval": 0}}
    # 10:30 is half an hour past the 10:00 tick: more than the buffer (max(6 min, 5 min)) -> wait for 11:00.
    assert next_run(hourly, None, NOW).run_after == at(2026, 1, 5, 11)
    assert next_run(hourly, None, at(2026, 1, 5, 10, 4)).run_after == at(2026, 1, 5, 10)
    eager = {**hourly, "schedule": {**hourly["schedule"], "run_immediately": True}}
    assert next_run(eager, None, NOW).run_after == at(2026, 1, 5, 10)
