"""The Redis connection that RQ, the relay and /healthz share.

Only workers, the relay and health checks use it: webhooks write to the outbox.
"""

from __future__ import annotations

from flask import Flask, current_app
from redis import Redis

#: Short timeouts: a stuck Redis must never hold up a health check for long.
SOCKET_TIMEOUT_SECONDS = 2


def init_app(app: Flask) -> None:
    app.extensions["hotline.redis"] = None


def get_redis() -> Redis | None:
    """The configured Redis, or None when there is none (yet)."""
    app = current_app
    connection = app.extensions.get("hotline.redis")
    if connection is None and app.config.get("REDIS_URL"):
        connection = Redis.from_url(
            app.config["REDIS_URL"],
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        )
        app.extensions["hotline.redis"] = connection
    return connection


def redis_state() -> str:
    connection = get_redis()
    if connection is None:
        return "not configured"
    try:
        connection.ping()
    except Exception as error:  # any failure is reported, never raised, by a health check
        return f"down: {error.__class__.__name__}"
    return "ok"
