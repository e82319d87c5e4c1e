"""`leoflow lite` listens before its full app is built: health is answered honestly meanwhile and
every other request waits for the full app instead of failing."""

import asyncio
import json
import re
import time

import httpx
import pytest

from leoflow.asgi import HEALTH_PATH, StartingApp
from leoflow.services import open_services

from .lite_process import Lite


def _http(path: str) -> dict:
    return {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}


async def _call(app, scope) -> list[dict]:
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent


@pytest.fixture
def starting(tmp_path):
    from leoflow import config

    settings = config.load(home=tmp_path / "home", dags_folder=tmp_path / "dags", host="127.0.0.1", port=1)
    services = open_services(settings, mode="lite")
    yield StartingApp(services)
    services.engine.dispose()


def test_health_before_the_full_app_reads_the_database(starting):
    sent = asyncio.run(_call(starting, _http(HEALTH_PATH)))
    assert sent[0]["status"] == 200
    body = json.loads(sent[1]["body"])
    assert body["metadatabase"] == {"status": "healthy"}
    # No scheduler has written its row yet: not healthy, whatever else is up.
    assert body["scheduler"] == {"status": "unhealthy", "latest_scheduler_heartbeat": None}


def test_other_requests_wait_for_the_full_app(starting):
    seen = []

    async def full_app(scope, receive, send):
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def scenario():
        waiting = asyncio.ensure_future(_call(starting, _http("/api/v2/version")))
        await asyncio.sleep(0.05)
        assert not waiting.done() and seen == []  # held, not answered with an error
        starting.app = full_app
        sent = await asyncio.wait_for(waiting, 5)
        assert sent[0]["status"] == 204
        # Once built, the full app answers everything, health included.
        await _call(starting, _http(HEALTH_PATH))

    asyncio.run(scenario())
    assert seen == ["/api/v2/version", HEALTH_PATH]


def test_lite_healthy_then_serves_everything(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    (tmp_path / "home").mkdir()
    server = Lite(tmp_path / "home", dags)
    started = time.monotonic()
    server.start()
    try:
        body = None
        while time.monotonic() - started < 30:
            body = httpx.get(f"{server.base}/api/v2/monitor/health").json()
            if body["scheduler"]["status"] == "healthy":
                break
            time.sleep(0.02)
        assert body["metadatabase"]["status"] == "healthy"
        assert body["scheduler"]["status"] == "healthy"
        assert body["triggerer"]["status"] == "healthy"  # the scheduler's own triggerer thread
        # Right after health, the rest of the API answers (it may still be importing: it waits).
        assert httpx.get(f"{server.base}/api/v2/version", timeout=30).json()["version"] == "3.2.1"
        assert server.api("GET", "/api/v2/dags").status_code == 200
        assert httpx.get(f"{server.base}/api/v2/dags").status_code == 401
        server.wait_for(lambda: re.search(r"running at .* \(started in [0-9.]+s\)", server.output()))
    finally:
        server.stop()
    assert server.proc.returncode == 0
    assert "Leoflow lite stopped." in server.output()


def test_a_killed_lite_does_not_pass_for_alive_after_restart(tmp_path):
    from sqlalchemy import create_engine, select

    from leoflow.store.tables import job

    dags = tmp_path / "dags"
    dags.mkdir()
    (tmp_path / "home").mkdir()
    server = Lite(tmp_path / "home", dags)
    server.start()
    server.wait_for(lambda: httpx.get(f"{server.base}/api/v2/monitor/health").json()["scheduler"]["status"]
                    == "healthy")
    server.kill9()  # its rows stay "running" with a fresh heartbeat
    engine = create_engine(f"sqlite:///{tmp_path / 'home' / 'leoflow.db'}")
    with engine.connect() as conn:
        dead = {r.id for r in conn.execute(select(job.c.id).where(job.c.state == "running"))}
    assert dead
    again = Lite(tmp_path / "home", dags)
    again.start()
    try:
        with engine.connect() as conn:
            states = dict(conn.execute(select(job.c.id, job.c.state).where(job.c.id.in_(dead))).all())
        assert set(states.values()) == {"failed"}
    finally:
        again.stop()
        engine.dispose()


def test_importlib_metadata_loads_on_first_use():
    """Lite defers `importlib.metadata` (SQLAlchemy imports it at start); the module works once read."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from leoflow.cli.lite import defer_importlib_metadata\n"
        "lazy = defer_importlib_metadata()\n"
        "import sqlalchemy\n"
        "from importlib import metadata\n"
        "assert metadata is lazy and 'importlib.metadata._adapters' not in sys.modules\n"
        "print(metadata.version('sqlalchemy') == sqlalchemy.__version__, "
        "'importlib.metadata._adapters' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True"]
