"""Configuration: defaults in code, then environment variables.

Names follow PRODUCT.md (`DATABASE_URL`, `REDIS_URL`, `HOTLINE_*`, `TWILIO_*`);
anything else can be set as `HOTLINE_<NAME>` thanks to `from_prefixed_env`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Environment variables read verbatim (not through the HOTLINE_ prefix).
PLAIN_ENV_NAMES = (
    "DATABASE_URL",
    "REDIS_URL",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_API_BASE",
)


def default_data_dir() -> Path:
    """The data folder when HOTLINE_DATA_DIR is unset: `instance/` of the source checkout the
    hotline runs from, whatever the current folder, so `hotline up` and every other command
    find the same database; outside a checkout, `./instance` (docs/configuration.md)."""
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / "instance"
    return Path("instance").resolve()


class NoDatabase(Exception):
    """A command that reads or writes rows found no database (one line says where it looked)."""


class Defaults:
    DATA_DIR: str | None = None  # default_data_dir() when unset
    DATABASE_URL: str | None = None  # SQLite in the data folder when unset
    REDIS_URL: str | None = None  # embedded Redis (see hotline.embedded_redis) when unset
    PUBLIC_URL: str | None = None  # else the proxy's forwarded headers
    TIMEZONE = "Asia/Ho_Chi_Minh"
    DEFAULT_REGION = "VN"  # how local numbers like 0912 345 678 are read
    TWILIO_ACCOUNT_SID: str | None = None
    TWILIO_AUTH_TOKEN: str | None = None
    TWILIO_API_BASE = "https://api.twilio.com"
    #: The number residents call; used as the sender of SMS replies.
    PHONE_NUMBER: str | None = None
    FLOWS_DIR = str(PROJECT_ROOT / "ivr_flows")
    AUDIO_DIR = str(PROJECT_ROOT / "audio")
    #: Proxies in front of the app whose X-Forwarded-* headers are trusted (each appends one
    #: X-Forwarded-For entry). 0: none, so a client cannot choose the URL signatures are checked
    #: against, nor the address login limits count (docs/webhooks.md).
    PROXY_COUNT = 0
    #: Bytes a request body may have, refused with 413 from its Content-Length before any is read.
    #: Staff CSV imports are the largest bodies; provider webhooks get the smaller limit below.
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    WEBHOOK_MAX_CONTENT_LENGTH = 64 * 1024
    #: Flask 3.1's multipart limits (its defaults, stated so they are seen and can be changed).
    MAX_FORM_MEMORY_SIZE = 500_000
    MAX_FORM_PARTS = 1_000
    OUTBOX_BATCH = 100
    #: No pool_pre_ping: closed connections are dropped without a round trip
    #: (extensions.drop_closed_connections).
    #: hide_parameters is added unless set here: a failed statement's error (and its traceback
    #: in a log) never shows the values it carried, a resident's number or message.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    #: Seconds a SQLite writer waits for another's lock before failing: well inside Twilio's
    #: 15-second webhook limit.
    SQLITE_BUSY_TIMEOUT = 10
    # Staff dashboard sessions: not readable by scripts, not sent cross-site, and Secure
    # whenever the app is served over HTTPS. "auto": Secure exactly when the request came
    # over HTTPS (directly, or through a declared proxy's X-Forwarded-Proto, PROXY_COUNT),
    # so a plain-HTTP office install keeps its login; true/false force it (staff/headers.py).
    SESSION_COOKIE_SECURE: bool | str = "auto"
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    # Residents' data (Decree 13/2023/ND-CP; docs/privacy.md). Retention, in days from the day
    # a request closed (hotline/retention.py): recordings and transcripts; texts, call steps
    # and numbers; the audit log. The nightly pass runs at RETENTION_HOUR, local time.
    RETENTION_RECORDINGS_DAYS = 90
    RETENTION_TEXTS_DAYS = 730
    RETENTION_AUDIT_DAYS = 1825
    RETENTION_HOUR = 2
    #: Backups (hotline/backup.py): where the nightly one goes (default: <data>/backups), how
    #: many are kept, the local hour it runs, and the age /healthz calls stale.
    BACKUP_DIR: str | None = None
    BACKUP_KEEP = 7
    BACKUP_HOUR = 3
    BACKUP_MAX_AGE_HOURS = 36


def normalise_database_url(url: str) -> str:
    """Heroku-style `postgres://` URLs name a dialect SQLAlchemy 2 no longer knows."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def load_config(app: Flask, test_config: dict | None, *, require_database: bool = False) -> None:
    """`require_database`: raise NoDatabase, creating nothing (no data folder, no empty SQLite
    file), when the SQLite database does not exist yet."""
    app.config.from_object(Defaults)
    for name in PLAIN_ENV_NAMES:
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    app.config.from_prefixed_env("HOTLINE")
    if test_config:
        app.config.update(test_config)

    data_dir = Path(app.config["DATA_DIR"] or default_data_dir()).resolve()
    url = app.config.get("DATABASE_URL") or f"sqlite:///{data_dir / 'hotline.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)
    if require_database:
        missing = missing_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
        if missing is not None:
            raise NoDatabase(no_database_message(str(missing)))
    data_dir.mkdir(parents=True, exist_ok=True)
    app.config["DATA_DIR"] = str(data_dir)
    engine_options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"hide_parameters": True, **engine_options}
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Several processes share the file: wait for a lock rather than fail.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
            "connect_args": {"timeout": float(app.config["SQLITE_BUSY_TIMEOUT"])},
        }

    if not app.config.get("REDIS_URL"):
        url_file = data_dir / "redis.url"
        if url_file.exists():
            app.config["REDIS_URL"] = url_file.read_text().strip()

    if not app.config.get("TWILIO_AUTH_TOKEN"):
        app.config["TWILIO_AUTH_TOKEN"] = local_auth_token(data_dir)
        app.config["TWILIO_AUTH_TOKEN_IS_LOCAL"] = True

    if not app.config.get("SECRET_KEY"):  # Flask's defaults hold SECRET_KEY=None, so setdefault never set it
        app.config["SECRET_KEY"] = local_secret(data_dir, "secret_key")


def missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file `url` names, when it does not exist (None for any other database)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def no_database_message(where: str) -> str:
    return (
        f"no hotline database at {where}: start the hotline once with `hotline up` (or run "
        f"`hotline db upgrade`), or name the data folder with HOTLINE_DATA_DIR"
    )


def local_secret(data_dir: Path, name: str) -> str:
    """A random value kept in the data folder so every process of one install agrees on it."""
    path = data_dir / name
    if not path.exists():
        tmp = data_dir / f".{name}.{os.getpid()}"
        tmp.write_text(secrets.token_hex(16))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # atomic: the first process to get here wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def local_auth_token(data_dir: Path) -> str:
    """Without TWILIO_AUTH_TOKEN a local token signs requests: checking is never switched off."""
    return local_secret(data_dir, "twilio_auth_token")
