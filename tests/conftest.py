"""Fixtures: a real Redis, a real database (SQLite, and PostgreSQL when it answers),
real RQ workers, and requests signed the way Twilio signs them.

Environment knobs (all optional):
  HOTLINE_TEST_REDIS_URL      a Redis to use, flushed around each test (default: a
                              redis-server started for this run alone, on a free port).
  HOTLINE_TEST_POSTGRES_URL   server URL (default postgresql://postgres@127.0.0.1:5432).
  HOTLINE_TEST_REQUIRE_POSTGRES=1   fail instead of skipping when PostgreSQL is absent (CI).
  HOTLINE_TEST_CLOCK=23:59    run the whole suite with the hotline's clock (hotline.clock) starting
                              at that local time in the commune, e.g. to cross midnight mid-run.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from redis import Redis
from sqlalchemy import text

from hotline import create_app
from hotline.embedded_redis import EmbeddedRedis
from hotline.extensions import db
from tests.fake_twilio_api import FakeTwilioAPI
from tests.twilio_sim import TwilioSim

#: Fixture modules of each area (tests/<area>_fixtures.py).
pytest_plugins = ["tests.asr_fixtures"]

TEST_AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_URL = "https://hotline.example.org"
HOTLINE_NUMBER = "+842633000000"
POSTGRES_SERVER = os.environ.get("HOTLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")


def pytest_configure(config):
    """Shift the hotline's clock for the whole run (and every process it starts) when asked."""
    wanted = os.environ.get("HOTLINE_TEST_CLOCK")
    if not wanted:
        return
    from datetime import time
    from zoneinfo import ZoneInfo

    from hotline import clock

    offset = clock.offset_to(time.fromisoformat(wanted), ZoneInfo("Asia/Ho_Chi_Minh"))
    os.environ[clock.OFFSET_ENV] = str(offset.total_seconds())
    clock.set_offset(offset)


@pytest.fixture(autouse=True)
def clock_restored():
    """A test that moves the hotline's clock leaves it where the run had it."""
    from hotline import clock

    before = clock.offset()
    yield
    clock.set_offset(before)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A Redis server of this test run's own: no other process (another test run, a
    `hotline up`, CI on the same machine) can drain its queues or flush its keys."""
    url = os.environ.get("HOTLINE_TEST_REDIS_URL")
    if url:
        yield url
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persistent=False)
    yield server.start()
    server.stop()


def _postgres_reachable() -> bool:
    try:
        with psycopg.connect(POSTGRES_SERVER + "/postgres", connect_timeout=2):
            return True
    except Exception:
        return False


@contextlib.contextmanager
def throwaway_postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_SERVER + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        with psycopg.connect(POSTGRES_SERVER + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_database():
    """A throw-away PostgreSQL database for this test session."""
    if not _postgres_reachable():
        if os.environ.get("HOTLINE_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but not reachable at {POSTGRES_SERVER}")
        pytest.skip("PostgreSQL not reachable")
    with throwaway_postgres_database("hotline_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    """A database with no tables yet, to migrate step by step (migration tests)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    request.getfixturevalue("postgres_database")  # skips, or fails under REQUIRE_POSTGRES
    with throwaway_postgres_database("hotline_fresh") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'hotline.db'}"


_migrated: set[str] = set()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request):
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_database")
    return request.getfixturevalue("postgres_database")


def make_app(tmp_path: Path, database_url: str, redis_url: str, **overrides):
    config = {
        "TESTING": True,
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PUBLIC_URL": PUBLIC_URL,
        "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": None,
    }
    config.update(overrides)
    return create_app(config)


def migrate_once(app) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url in _migrated:
        return
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
    _migrated.add(url)


def empty_all_tables(app) -> None:
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SELECT 1"))


@pytest.fixture
def app_factory(tmp_path, database_url, redis_url):
    """Build an app on this test's database with config overrides; cleaned up after."""
    apps = []

    def build(**overrides):
        app = make_app(tmp_path, database_url, redis_url, **overrides)
        migrate_once(app)
        apps.append(app)
        return app

    Redis.from_url(redis_url).flushdb()
    yield build
    Redis.from_url(redis_url).flushdb()
    if apps:
        empty_all_tables(apps[0])
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def kw():
    """The commune's SMS keywords (ivr_flows/sms/keywords.yaml), loaded once per module (the
    keyword and SMS-understanding tests)."""
    from hotline.sms.keywords import Keywords

    return Keywords.load(Path(__file__).resolve().parent.parent / "ivr_flows" / "sms" / "keywords.yaml")


@pytest.fixture
def app_settings() -> dict:
    """Settings the `app` fixture builds with; a module (or a helper it imports) overrides this
    fixture to change them, instead of writing its own `app`."""
    return {}


@pytest.fixture
def app(app_factory, app_settings):
    app = app_factory(**app_settings)
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def twilio(client):
    """Acts as Twilio: posts webhooks signed with the test auth token."""
    return TwilioSim(client, TEST_AUTH_TOKEN, PUBLIC_URL)


def run_queued_jobs(app, queues=("default",)) -> None:
    """Relay the outbox into RQ, then run a real (forking) RQ worker until the queues are empty."""
    from hotline.outbox import relay_pending
    from hotline.queueing import get_redis
    from workers.main import run_worker

    relay_pending(get_redis())
    db.session.remove()
    run_worker(app, queues, burst=True, with_scheduler=False)
    db.session.remove()


@pytest.fixture
def work_queue(app):
    """`run_queued_jobs` for the test's app: `work_queue()` or `work_queue(("asr",))`."""
    return functools.partial(run_queued_jobs, app)


@pytest.fixture
def twilio_api():
    """Twilio's REST API, played by a local server (api.twilio.com is unreachable here)."""
    api = FakeTwilioAPI("AC" + "1" * 32, "rest-token-abc").start()
    yield api
    api.stop()


def twilio_rest_config(api: FakeTwilioAPI, **extra) -> dict:
    """App settings that send through `api` with its credentials, from the hotline number."""
    return {
        "TWILIO_ACCOUNT_SID": api.account_sid,
        "TWILIO_AUTH_TOKEN": api.auth_token,
        "TWILIO_API_BASE": api.base_url,
        "PHONE_NUMBER": HOTLINE_NUMBER,
        **extra,
    }
