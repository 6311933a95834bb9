"""Backups that restore: `hotline backup [DIR]`, `hotline restore ARCHIVE`, and a nightly backup
keeping the last BACKUP_KEEP.

One archive, `hotline-backup-YYYYMMDD-HHMMSS.tar.gz`, beside its checksum file
(`….tar.gz.sha256`, the `sha256sum` format, so `sha256sum -c` checks it too), holds:
- `database/hotline.db`: SQLite copied with SQLite's online backup API, a consistent copy
  while the line runs (web, relay and workers writing); or `database/hotline.pgdump`,
  PostgreSQL's `pg_dump --format=custom` (Debian: postgresql-client);
- `data/recordings/…`: the residents' voice messages kept for staff;
- `data/<secret>`: the local secrets of a `hotline up` install (session key, the local
  Twilio token, the SMS gateway's signing key): without them the restored line would
  refuse every signed webhook and log every volunteer out;
- `audio/…`: the prompt recordings (AUDIO_DIR), made by volunteers and found nowhere else;
- `manifest.json`: when, from which database revision, counts of requests, SMS, voice
  messages and recording files, and every file's SHA-256.

The database is copied first, then the files: a recording whose row is in the copy was on
disk before its row committed, so it is in the archive too. The archive is written under a
temporary name and renamed when whole; the last good backup's time is kept in the data
folder (`last_backup.json`) for /healthz and the dashboard.

Restore goes into an empty data folder (and, on PostgreSQL, an empty database): it never
merges into a live install. It checks the archive's checksum and every file's before
writing anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from . import clock

ARCHIVE_PREFIX = "hotline-backup-"
ARCHIVE_SUFFIX = ".tar.gz"
#: Files of the data folder that hold the install's local secrets (hotline.config.local_secret).
SECRET_FILES = ("secret_key", "twilio_auth_token", "sms_gateway_signing_key")
STATUS_FILE = "last_backup.json"


class BackupError(Exception):
    """A backup or restore that cannot be made; the message says what to do."""


@dataclass
class Made:
    path: Path
    sha256: str
    counts: dict[str, int]
    seconds: float


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def libpq_url(sqlalchemy_url: str) -> str:
    """`postgresql+psycopg://user:pw@…` → `postgresql://user@…`, what pg_dump and pg_restore
    read; the password goes in their environment (`libpq_env`), never on a command line
    every user of the machine can list."""
    from sqlalchemy.engine import make_url

    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url._replace(password=None).render_as_string(hide_password=False)


def libpq_env(sqlalchemy_url: str) -> dict[str, str]:
    from sqlalchemy.engine import make_url

    password = make_url(sqlalchemy_url).password
    return {**os.environ, **({"PGPASSWORD": str(password)} if password else {})}


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed: apt-get install postgresql-client")
    return found


# --- backup -------------------------------------------------------------------------------


def make_backup(config: dict[str, Any], engine, target: Path) -> Made:
    """Write one archive of this install into `target` and note it as the last good backup."""
    import time

    began = time.monotonic()
    target.mkdir(parents=True, exist_ok=True)
    data_dir = Path(config["DATA_DIR"])
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    name = f"{ARCHIVE_PREFIX}{stamp}{ARCHIVE_SUFFIX}"
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=target) as staging_name:
        staging = Path(staging_name)
        (staging / "database").mkdir()
        if engine.dialect.name == "sqlite":
            copy = staging / "database" / "hotline.db"
            _copy_sqlite(engine.url.database, copy)
            counts = _sqlite_counts(copy)
            kind = "sqlite"
        else:
            counts = _pg_dump(
                engine, config["SQLALCHEMY_DATABASE_URI"], staging / "database" / "hotline.pgdump"
            )
            kind = "postgresql"
        recordings = data_dir / "recordings"
        if recordings.is_dir():
            shutil.copytree(recordings, staging / "data" / "recordings")
        (staging / "data").mkdir(exist_ok=True)
        for secret in SECRET_FILES:
            if (data_dir / secret).is_file():
                shutil.copy2(data_dir / secret, staging / "data" / secret)
        audio = Path(config["AUDIO_DIR"])
        if audio.is_dir():
            shutil.copytree(audio, staging / "audio")
        files = {
            p.relative_to(staging).as_posix(): sha256_of(p) for p in sorted(staging.rglob("*")) if p.is_file()
        }
        counts["recording_files"] = sum(1 for f in files if f.startswith("data/recordings/"))
        manifest = {
            "format": 1,
            "created_at": clock.now().isoformat(),
            "database": kind,
            "revision": _revision(engine),
            "counts": counts,
            "files": files,
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")

        partial = target / f".{name}.partial"
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(staging / "manifest.json", "manifest.json")
            for member in files:
                archive.add(staging / member, member)
    digest = sha256_of(partial)
    final = target / name
    os.replace(partial, final)
    (target / f"{name}.sha256").write_text(f"{digest}  {name}\n", encoding="utf-8")
    made = Made(final, digest, counts, time.monotonic() - began)
    _note_last_backup(data_dir, made)
    return made


def _copy_sqlite(source: str | None, destination: Path) -> None:
    """SQLite's online backup: pages copied under a read transaction, the writers carry on."""
    if not source or source == ":memory:":
        raise BackupError("no SQLite file to back up")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(destination)
    try:
        with dst:
            src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the archive
    finally:
        dst.close()
        src.close()


def _pg_dump(engine, url: str, destination: Path) -> dict[str, int]:
    """pg_dump of one snapshot, the counts read in that same snapshot (pg_export_snapshot):
    what the manifest says is what the dump holds, however many webhooks write meanwhile."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        counts = {}
        for table in COUNTED:
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
        done = subprocess.run(
            [
                _tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                "--file",
                str(destination),
                "--dbname",
                libpq_url(url),
            ],
            capture_output=True,
            text=True,
            env=libpq_env(url),
        )
        cursor.execute("COMMIT")
    finally:
        connection.close()
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()[-500:]}")
    return counts


#: Tables whose rows the manifest counts (and a restore is checked against).
COUNTED = (
    "tickets",
    "ticket_events",
    "sms_messages",
    "sms_outbound",
    "calls",
    "voice_messages",
    "transcriptions",
    "residents",
    "audit_log",
)


def _sqlite_counts(path: Path) -> dict[str, int]:
    connection = sqlite3.connect(path)
    try:
        return {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in COUNTED}
    finally:
        connection.close()


def table_counts(engine) -> dict[str, int]:
    """The same counts, from a live database (a restored one, to compare with the manifest)."""
    from sqlalchemy import text

    with engine.connect() as connection:
        return {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in COUNTED
        }


def _revision(engine) -> str | None:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return None


def _note_last_backup(data_dir: Path, made: Made) -> None:
    status = {
        "at": clock.now().isoformat(),
        "path": str(made.path),
        "sha256": made.sha256,
        "counts": made.counts,
        "seconds": round(made.seconds, 2),
    }
    partial = data_dir / f".{STATUS_FILE}.{os.getpid()}"
    partial.write_text(json.dumps(status), encoding="utf-8")
    os.replace(partial, data_dir / STATUS_FILE)


def last_backup(data_dir: Path | str) -> dict[str, Any] | None:
    """The last good backup ({"at", "path", "sha256", "counts"}), or None when there is none."""
    try:
        status = json.loads((Path(data_dir) / STATUS_FILE).read_text(encoding="utf-8"))
        status["at"] = datetime.fromisoformat(status["at"])
        return status
    except (OSError, ValueError, KeyError, TypeError):
        return None


def backup_age_hours(data_dir: Path | str) -> float | None:
    status = last_backup(data_dir)
    if status is None:
        return None
    return round((clock.now() - status["at"]).total_seconds() / 3600, 2)


def archives(target: Path) -> list[Path]:
    """This install's archives in `target`, oldest first (their names sort by date)."""
    return sorted(target.glob(f"{ARCHIVE_PREFIX}*{ARCHIVE_SUFFIX}"))


def prune(target: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` archives (and their checksum files); return the deleted."""
    if keep < 1:
        raise BackupError("BACKUP_KEEP must be at least 1")
    old = archives(target)[:-keep]
    for path in old:
        path.unlink(missing_ok=True)
        Path(f"{path}.sha256").unlink(missing_ok=True)
    return old


# --- restore ------------------------------------------------------------------------------


def verify(archive: Path) -> dict[str, Any]:
    """The archive's manifest, once its checksum file (when beside it) and every file match."""
    sidecar = Path(f"{archive}.sha256")
    if sidecar.is_file():
        expected = sidecar.read_text(encoding="utf-8").split()[0]
        if sha256_of(archive) != expected:
            raise BackupError(
                f"{archive.name}: checksum does not match {sidecar.name}; the archive is damaged"
            )
    try:
        with tarfile.open(archive, "r:gz") as tar:
            manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
            for member, digest in manifest["files"].items():
                handle = tar.extractfile(member)
                if handle is None or hashlib.sha256(handle.read()).hexdigest() != digest:
                    raise BackupError(f"{archive.name}: {member} is damaged or missing")
    except (tarfile.TarError, KeyError, OSError, ValueError) as error:
        raise BackupError(f"{archive.name} is not a readable hotline backup ({error})") from error
    return manifest


def restore(
    archive: Path, data_dir: Path, database_url: str | None, audio_dir: Path | None
) -> dict[str, Any]:
    """Restore `archive` into the empty `data_dir` (and database). Returns the manifest."""
    from .config import normalise_database_url

    manifest = verify(archive)
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(f"{data_dir} is not empty: restore into an empty data folder")
    url = normalise_database_url(database_url) if database_url else None
    if manifest["database"] == "postgresql":
        if not url or not url.startswith("postgresql"):
            raise BackupError(
                "this backup is of PostgreSQL: give DATABASE_URL of an empty PostgreSQL database"
            )
        _check_empty_postgres(url)
    elif url and not url.startswith("sqlite"):
        raise BackupError(
            "this backup is of SQLite: leave DATABASE_URL unset (or point it at a new SQLite file)"
        )
    else:
        from sqlalchemy.engine import make_url

        sqlite_path = Path(make_url(url).database or "") if url else data_dir / "hotline.db"
        if sqlite_path.exists():
            raise BackupError(f"{sqlite_path} exists: restore into a new database file")

    data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=data_dir) as staging_name:
        staging = Path(staging_name)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(staging, filter="data")
        for item in (staging / "data").iterdir() if (staging / "data").is_dir() else ():
            shutil.move(str(item), data_dir / item.name)
        for secret in SECRET_FILES:
            if (data_dir / secret).exists():
                (data_dir / secret).chmod(0o600)
        if manifest["database"] == "sqlite":
            sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(staging / "database" / "hotline.db"), sqlite_path)
        else:
            _pg_restore(url, staging / "database" / "hotline.pgdump")  # type: ignore[arg-type]
        if audio_dir is not None and (staging / "audio").is_dir():
            _add_missing(staging / "audio", audio_dir)
    return manifest


def _check_empty_postgres(url: str) -> None:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError("the PostgreSQL database is not empty: restore into a new, empty database")


def _pg_restore(url: str, dump: Path) -> None:
    done = subprocess.run(
        [
            _tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--dbname",
            libpq_url(url),
            str(dump),
        ],
        capture_output=True,
        text=True,
        env=libpq_env(url),
    )
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()[-500:]}")


def _add_missing(source: Path, target: Path) -> None:
    """Prompt recordings the install lacks (the ones it has are never overwritten)."""
    for path in source.rglob("*"):
        if path.is_file():
            destination = target / path.relative_to(source)
            if not destination.exists():
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, destination)
