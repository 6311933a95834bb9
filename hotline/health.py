"""`GET /healthz`: can this web process serve calls? (The database is what it needs.)"""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from . import outbox
from .extensions import db
from .queueing import redis_state

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
        pending = outbox.pending_count()
    except Exception as error:  # reported, not raised: this is the health check
        db.session.rollback()
        database = f"down: {error.__class__.__name__}"
        pending = None
    # Calls need only the database: with Redis down the outbox holds the jobs.
    status = 200 if database == "ok" else 503
    body = {"database": database, "redis": redis_state(), "outbox_pending": pending}
    body["status"] = "ok" if status == 200 else "unavailable"
    return jsonify(body), status
