"""Throw-away databases and seeded requests for the queue and claim benchmarks."""

from __future__ import annotations

import contextlib
import re
import tempfile
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import insert

from hotline import create_app
from hotline.extensions import db
from hotline.models import Role, Team, Ticket, Village, utcnow
from hotline.staff import accounts

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
REASONS = ("callback_requested", "dropped_call", "missed_call", "voicemail", "sms")
TOPICS = ("vneid", "bhyt", "khai-sinh", "cu-tru", "dat-dai", None)


@contextlib.contextmanager
def bench_app(kind: str, **config):
    """An app on a fresh, migrated SQLite file or PostgreSQL database, removed afterwards.

    No app context is left pushed: each request, like in production, gets its own."""
    with tempfile.TemporaryDirectory() as tmp:
        name = None
        if kind == "postgresql":
            name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(POSTGRES_SERVER + "/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            url = f"{POSTGRES_SERVER}/{name}"
        else:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        config = {
            "DATA_DIR": tmp,
            "DATABASE_URL": url,
            "TWILIO_AUTH_TOKEN": "bench",
            "SESSION_COOKIE_SECURE": False,
            **config,
        }
        app = create_app(config)
        app.config["BENCH_CONFIG"] = config  # so other processes can build the same app
        try:
            with app.app_context():
                from flask_migrate import upgrade

                upgrade(directory=app.extensions["migrate"].directory)
            yield app
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        finally:
            if name:
                with psycopg.connect(POSTGRES_SERVER + "/postgres", autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(requests: int, teams: int = 23, claimers: int = 1, password: str | None = None) -> dict:
    """`requests` open requests spread over `teams` teams (one village each), plus staff.
    Call inside an app context."""
    team_rows = [Team(code=f"T{i:02d}", name=f"Tổ {i}") for i in range(teams)]
    villages = [Village(code=f"V{i:02d}", name=f"Thôn {i}", team=t) for i, t in enumerate(team_rows)]
    db.session.add_all(team_rows + villages)
    db.session.flush()
    admin = accounts.create_staff(username="admin", name="Admin", role=Role.ADMIN, password=password)
    people = [
        accounts.create_staff(
            username=f"v{i:02d}",
            name=f"Volunteer {i}",
            role=Role.VOLUNTEER,
            team_id=team_rows[0].id,
            password=password,
        )
        for i in range(claimers)
    ]
    db.session.commit()
    now = utcnow()
    from datetime import timedelta

    rows = []
    for i in range(requests):
        created = now - timedelta(minutes=i)
        team = i % teams
        rows.append(
            {
                "code": f"{1000000 + i}",
                "phone": f"+8491{i:07d}",
                "channel": "sms" if i % 3 == 0 else "voice",
                "reason": REASONS[i % len(REASONS)],
                "topic": TOPICS[i % len(TOPICS)],
                "status": "open",
                "created_at": created,
                "updated_at": created,
                "due_at": created + timedelta(hours=48),
                "team_id": team_rows[team].id,
                "village_id": villages[team].id,
                "attempts": i % 3,
                "elderly": i % 11 == 0,
            }
        )
    for start in range(0, len(rows), 2000):
        db.session.execute(insert(Ticket), rows[start : start + 2000])
    db.session.commit()
    return {"admin": admin.id, "people": [p.id for p in people], "team": team_rows[0].id}


def logged_in(app, username: str, password: str):
    """A test client logged in as `username` through the real login form (CSRF token and all)."""
    client = app.test_client()
    html = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html)[1]
    response = client.post("/staff/login", data={"username": username, "password": password,
                                                  "csrf_token": token})
    assert response.status_code == 302
    return client
