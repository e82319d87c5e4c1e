"""A running try's log reaches the database in whole lines while it runs, and any server serves it from there."""

import json
import time

from leoflow.executors.log_shipping import LogShipper, database_sink
from leoflow.store import log_chunks

from tests.api.conftest import db_services  # noqa: F401 - a fixture

KEY = ("xcom3", "manual__1", "extract", -1, 1)


def _line(event):
    return json.dumps({"timestamp": "2026-01-01T00:00:00.000000Z", "event": event, "level": "info"}) + "\n"


def _wait(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_lines_are_shipped_while_the_try_runs_and_the_rest_when_it_ends(engine, tmp_path):
    path = tmp_path / "attempt=1.log"
    shipper = LogShipper(database_sink(engine), interval=0.05)
    try:
        shipper.follow(KEY, path)  # the file does not exist yet: nothing to ship, no error
        with open(path, "a") as f:
            f.write(_line("one") + _line("two") + '{"event": "half')
        _wait(lambda: _read(engine).count("\n") == 2)
        text = _read(engine)
        assert '"one"' in text and '"two"' in text and "half" not in text  # half a line waits
        with open(path, "a") as f:
            f.write(' a line"}')  # ... and the try ends without the last newline
        shipper.finished(KEY)
        _wait(lambda: _read(engine).endswith('{"event": "half a line"}\n'))
    finally:
        shipper.stop()


def _read(engine):
    with engine.connect() as conn:
        return log_chunks.read(conn, KEY)


def test_a_chunk_sent_twice_is_stored_once(engine):
    with engine.begin() as conn:
        assert log_chunks.append(conn, KEY, 0, _line("a"))
        assert not log_chunks.append(conn, KEY, 0, _line("a"))
        assert log_chunks.append(conn, KEY, 1, _line("b"))
        assert log_chunks.next_seq(conn, KEY) == 2
    assert _read(engine) == _line("a") + _line("b")


def test_a_log_without_a_local_file_is_served_from_the_database(db_services, tmp_path):
    from tests.api.conftest import login, make_client
    from tests.api.seed import run_with_states

    with make_client(db_services) as client:
        client.headers.update(login(client))
        run_id = run_with_states(client, db_services, {"extract": "success", "transform": None, "load": None})
        with db_services.engine.begin() as conn:
            log_chunks.append(conn, ("xcom3", run_id, "extract", -1, 1), 0, _line("from another host"))
        url = f"/api/v2/dags/xcom3/dagRuns/{run_id}/taskInstances/extract/logs/1"
        body = client.get(url).json()
        events = [c["event"] for c in body["content"]]
        assert "from another host" in events
        assert body["content"][0]["sources"] == ["database"]


def test_a_round_ships_every_ended_trys_lines_in_one_transaction(engine, tmp_path):
    from leoflow.executors.log_shipping import database_sink_many

    calls = []
    ship_many = database_sink_many(engine)

    def counting(chunks):
        calls.append(len(chunks))
        ship_many(chunks)

    keys = [("fan", "manual__1", f"t{i}", -1, 1) for i in range(5)]
    shipper = LogShipper(database_sink(engine), interval=3600, sink_many=counting)  # rounds only when asked
    try:
        for i, key in enumerate(keys):
            path = tmp_path / f"t{i}.log"
            path.write_text(_line(f"line of t{i}") + f'{{"event": "last of t{i}"}}')  # the last without newline
            shipper.follow(key, path)
        for key in keys:
            shipper.finished(key)
        _wait(lambda: not shipper.pending())
    finally:
        shipper.stop()
    assert calls == [5]  # five tries, one round, one transaction
    with engine.connect() as conn:
        for i, key in enumerate(keys):
            assert log_chunks.read(conn, key) == _line(f"line of t{i}") + f'{{"event": "last of t{i}"}}\n'
            assert log_chunks.next_seq(conn, key) == 1


def test_a_round_the_sink_refused_is_sent_again_whole_and_big_logs_span_rounds(engine, tmp_path, monkeypatch):
    from leoflow.executors import log_shipping
    from leoflow.executors.log_shipping import database_sink_many

    monkeypatch.setattr(log_shipping, "MAX_CHUNK_BYTES", 1024)
    monkeypatch.setattr(log_shipping, "MAX_BATCH_BYTES", 4096)
    ship_many = database_sink_many(engine)
    refuse = [True]
    sizes = []

    def flaky(chunks):
        if refuse[0]:
            refuse[0] = False
            raise ConnectionError("the database went away")
        sizes.append(sum(len(text) for _key, _seq, text in chunks))
        ship_many(chunks)

    path = tmp_path / "big.log"
    lines = "".join(_line(f"line {n:05d}") for n in range(300))  # about 25 KiB
    path.write_text(lines)
    shipper = LogShipper(database_sink(engine), interval=3600, sink_many=flaky)
    try:
        shipper.follow(KEY, path)
        shipper.finished(KEY)
        _wait(lambda: not refuse[0])  # the first round failed: nothing counted as sent
        shipper.flush()
        _wait(lambda: not shipper.pending())
    finally:
        shipper.stop()
    assert sum(sizes) == len(lines) and len(sizes) >= 5 and max(sizes) <= 4096 + 1024  # rounds stay near their bound
    assert _read(engine) == lines  # every line once, in order


def test_a_sink_that_stays_away_is_logged_once_then_once_a_minute_and_its_return_is_said(tmp_path, caplog):
    import logging

    from leoflow.executors import log_shipping

    away = [True]
    got = []

    def sink(key, seq, text):
        if away[0]:
            raise ConnectionError("server unreachable")
        got.append(text)

    path = tmp_path / "a.log"
    path.write_text(_line("one"))
    shipper = LogShipper(sink, interval=3600)
    try:
        shipper.follow(KEY, path)
        with caplog.at_level(logging.INFO, logger=log_shipping.__name__):
            for _ in range(5):
                shipper.flush()
            failures = [r for r in caplog.records if r.levelno == logging.WARNING]
            assert len(failures) == 1 and failures[0].exc_info  # one traceback, not one per round
            shipper._last_failure_log -= log_shipping.FAILURE_LOG_INTERVAL  # a minute later
            shipper.flush()
            later = [r for r in caplog.records if r.levelno == logging.WARNING][1:]
            assert len(later) == 1 and not later[0].exc_info and "Still cannot ship" in later[0].getMessage()
            away[0] = False
            shipper.flush()
            assert got == [_line("one")]
            assert any("Shipping logs again" in r.getMessage() for r in caplog.records)
    finally:
        shipper.stop()
