"""Airflow 3 schedule semantics: trigger timetables, catchup, @once, timedelta."""

import datetime as dt

from leoflow.scheduler.timetables import next_run

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 5, 10, 30, tzinfo=UTC)


def ser(kind, value=None, start="2026-01-01T00:00:00+00:00", catchup=False, end=None):
    return {"schedule": {"kind": kind, "value": value}, "start_date": start, "catchup": catchup, "end_date": end}


def test_no_schedule_never_runs():
    assert next_run(ser("none"), None, NOW) is None


def test_cron_without_catchup_runs_the_latest_tick_only():
    nxt = next_run(ser("cron", "0 0 * * *"), None, NOW)
    assert nxt.logical_date == dt.datetime(2026, 1, 5, tzinfo=UTC)
    assert nxt.data_interval == (nxt.logical_date, nxt.logical_date)


def test_cron_with_catchup_starts_at_the_start_date_and_walks_forward():
    first = next_run(ser("cron", "0 0 * * *", catchup=True), None, NOW)
    assert first.logical_date == dt.datetime(2026, 1, 1, tzinfo=UTC)
    second = next_run(ser("cron", "0 0 * * *", catchup=True), first.logical_date, NOW)
    assert second.logical_date == dt.datetime(2026, 1, 2, tzinfo=UTC)


def test_once_runs_once_at_the_start_date():
    first = next_run(ser("once"), None, NOW)
    assert first.logical_date == dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert next_run(ser("once"), first.logical_date, NOW) is None


def test_timedelta_keeps_alignment_and_skips_missed_points_without_catchup():
    nxt = next_run(ser("timedelta", 3600.0), None, NOW)
    assert nxt.logical_date == dt.datetime(2026, 1, 5, 10, tzinfo=UTC)


def test_end_date_stops_the_schedule():
    assert next_run(ser("cron", "0 0 * * *", end="2026-01-03T00:00:00+00:00"), None, NOW) is None
