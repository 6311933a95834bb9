"""Backups that restore, on SQLite and PostgreSQL: `hotline backup` while a served hotline takes
signed webhooks (SMS from many numbers, voice messages whose recordings land on disk), then
`hotline restore` into a fresh data folder (and a new database) where every request,
message and recording of the snapshot is found; the archive's checksum, pruning to the last
N, the nightly job, and the age of the last good backup on /healthz and the dashboard."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from hotline import backup, clock
from hotline.extensions import db
from hotline.models import Ticket, Transcription, VoiceMessage
from tests.conftest import PUBLIC_URL, TEST_AUTH_TOKEN, throwaway_postgres_database
from tests.twilio_sim import sign

LOAD_THREADS = 4
#: Requests (each with an SMS and two timeline lines) in the database before the load starts.
SEEDED = 3000


def seed(n: int) -> None:
    """A commune's worth of history, inserted in bulk (the load then adds to it)."""
    from hotline.models import SmsMessage, TicketEvent, utcnow

    now = utcnow()
    db.session.execute(
        Ticket.__table__.insert(),
        [
            {
                "code": f"8{i:07d}",
                "phone": f"+8497{i:07d}",
                "channel": "sms",
                "reason": "sms",
                "status": "resolved",
                "body": f"yeu cau cu so {i}",
                "created_at": now,
                "updated_at": now,
                "closed_at": now,
                "attempts": 0,
                "elderly": False,
            }
            for i in range(n)
        ],
    )
    ids = dict(db.session.execute(select(Ticket.code, Ticket.id).where(Ticket.code.like("8%"))).all())
    db.session.execute(
        SmsMessage.__table__.insert(),
        [
            {
                "provider": "twilio",
                "dedup_key": f"SMseed{i}",
                "phone": f"+8497{i:07d}",
                "body": f"yeu cau cu so {i}",
                "ticket_id": ids[f"8{i:07d}"],
                "created_at": now,
            }
            for i in range(n)
        ],
    )
    db.session.execute(
        TicketEvent.__table__.insert(),
        [
            {
                "ticket_id": ids[f"8{i:07d}"],
                "kind": kind,
                "message": kind,
                "actor": "system",
                "created_at": now,
            }
            for i in range(n)
            for kind in ("created", "outcome")
        ],
    )
    db.session.commit()


@contextlib.contextmanager
def served(app) -> Iterator[str]:
    """The app on a real local HTTP server (threaded, like gunicorn's threads)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def post_signed(base: str, path: str, params: dict[str, str]) -> int:
    signature = sign(TEST_AUTH_TOKEN, PUBLIC_URL + path, params)
    request = urllib.request.Request(
        base + path, data=urllib.parse.urlencode(params).encode(), headers={"X-Twilio-Signature": signature}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


class Load:
    """Threads sending signed SMS webhooks (each a new resident's request) and voice messages
    whose recording files are written before their rows commit, as the transcription does."""

    def __init__(self, app, base: str):
        self.app, self.base = app, base
        self.stop = threading.Event()
        self.sent = 0
        self.recorded = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def sms_sender(self, n: int) -> None:
        i = 0
        while not self.stop.is_set():
            i += 1
            params = {
                "MessageSid": "SM" + uuid.uuid4().hex,
                "AccountSid": "AC" + "0" * 32,
                "From": f"+8491{n}{i:06d}",
                "To": "+842633000000",
                "Body": f"xin giup lam giay khai sinh so {n}-{i}",
                "NumMedia": "0",
            }
            try:
                status = post_signed(self.base, "/twilio/sms", params)
                if status != 200:
                    self.errors.append(f"sms {status}")
            except Exception as error:  # noqa: BLE001 - counted and asserted on
                self.errors.append(repr(error))
            with self.lock:
                self.sent += 1

    def recorder(self) -> None:
        """Voice messages with their audio kept, like a finished transcription."""
        from hotline.unit_of_work import unit_of_work

        data_dir = Path(self.app.config["DATA_DIR"])
        i = 0
        with self.app.app_context():
            while not self.stop.is_set():
                i += 1
                sid = "RE" + uuid.uuid4().hex
                audio = data_dir / "recordings" / f"{sid}.wav"
                audio.parent.mkdir(parents=True, exist_ok=True)
                audio.write_bytes(f"RIFF voice {i}".encode())
                try:
                    with unit_of_work():
                        ticket = Ticket(
                            code=f"9{i:07d}",
                            phone=f"+8498{i:07d}",
                            channel="voice",
                            reason="voicemail",
                            status="open",
                        )
                        db.session.add(ticket)
                        db.session.flush()
                        message = VoiceMessage(recording_sid=sid, ticket_id=ticket.id)
                        db.session.add(message)
                        db.session.flush()
                        db.session.add(
                            Transcription(
                                voice_message_id=message.id,
                                ticket_id=ticket.id,
                                status="done",
                                text=f"ban chep {i}",
                                audio_path=f"recordings/{sid}.wav",
                            )
                        )
                except Exception as error:  # noqa: BLE001 - counted and asserted on
                    self.errors.append(repr(error))
                else:
                    self.recorded += 1
                with self.lock:
                    self.sent += 1
            db.session.remove()

    @contextlib.contextmanager
    def running(self) -> Iterator[Load]:
        threads = [threading.Thread(target=self.sms_sender, args=(n,)) for n in range(LOAD_THREADS - 1)]
        threads.append(threading.Thread(target=self.recorder))
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(60)


def wait_for(condition, timeout: float = 60.0) -> None:
    """Wait until the load has written something (a condition, not a duration, decides)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the load wrote nothing"
        time.sleep(0.05)


@pytest.fixture
def fresh_database(database_url, tmp_path):
    """Where a restore goes: a new SQLite file in the fresh data folder, or a new PostgreSQL database."""
    if database_url.startswith("sqlite"):
        yield None
        return
    with throwaway_postgres_database("hotline_restore") as url:
        yield url


def restored_app(tmp_path: Path, data_dir: Path, database_url: str | None, redis_url: str):
    from hotline import create_app

    config = {
        "TESTING": True,
        "DATA_DIR": str(data_dir),
        "REDIS_URL": redis_url,
        "PUBLIC_URL": PUBLIC_URL,
        "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
    }
    if database_url:
        config["DATABASE_URL"] = database_url
    return create_app(config)


def test_a_backup_taken_under_load_restores_every_request_message_and_recording(
    app, tmp_path, fresh_database, redis_url, capsys
):
    """The figures of the last run are printed (pytest -s): docs/operations.md quotes them."""
    target = tmp_path / "backups"
    seed(SEEDED)
    with served(app) as base:
        load = Load(app, base)
        with load.running():
            wait_for(lambda: load.sent >= 20 and load.recorded >= 3)
            with db.engine.connect() as connection:  # committed before the backup began
                before_codes = set(connection.scalars(select(Ticket.code)))
            sent_before = load.sent
            began = time.monotonic()
            made = backup.make_backup(app.config, db.engine, target)
            backup_seconds = time.monotonic() - began
            sent_during = load.sent - sent_before
            wait_for(lambda: load.sent >= sent_before + sent_during + 10)  # and the line goes on
    assert load.errors == []
    live = backup.table_counts(db.engine)
    manifest = backup.verify(made.path)
    assert manifest["counts"] == made.counts
    assert 0 < made.counts["tickets"] < live["tickets"]  # a snapshot of a line still writing

    data_dir = tmp_path / "restored"
    began = time.monotonic()
    backup.restore(made.path, data_dir, fresh_database, tmp_path / "audio")
    restore_seconds = time.monotonic() - began
    restored = restored_app(tmp_path, data_dir, fresh_database, redis_url)
    with restored.app_context():
        counts = backup.table_counts(db.engine)
        assert {k: counts[k] for k in made.counts if k in counts} == {
            k: v for k, v in made.counts.items() if k in counts
        }
        paths = db.session.scalars(select(Transcription.audio_path)).all()
        assert paths and all((data_dir / p).is_file() for p in paths)
        restored_codes = set(db.session.scalars(select(Ticket.code)))
        db.session.remove()
        db.engine.dispose()
    live_codes = set(db.session.scalars(select(Ticket.code)))
    assert before_codes <= restored_codes <= live_codes  # all it had when the backup began, none invented
    assert (data_dir / "secret_key").read_text() == (Path(app.config["DATA_DIR"]) / "secret_key").read_text()
    with capsys.disabled():
        print(
            f"\n[backup under load, {db.engine.dialect.name}] {LOAD_THREADS} writers; backup "
            f"{backup_seconds:.2f} s while {sent_during} webhooks/recordings landed; archive "
            f"{made.path.stat().st_size} bytes; snapshot {made.counts['tickets']} requests, "
            f"{made.counts['sms_messages']} SMS, {made.counts['transcriptions']} recordings "
            f"({made.counts['recording_files']} files); restored {counts['tickets']} requests, "
            f"{counts['sms_messages']} SMS, {len(paths)} recordings, every file found, "
            f"in {restore_seconds:.2f} s"
        )


def test_backup_and_restore_commands_with_a_quiet_line(app, runner, tmp_path, fresh_database, redis_url):
    from tests.sms_fixtures import twilio_sms
    from tests.twilio_sim import TwilioSim

    twilio = TwilioSim(app.test_client(), TEST_AUTH_TOKEN, PUBLIC_URL)
    for i in range(5):
        assert (
            twilio_sms(twilio, f"toi can lam can cuoc {i}", from_number=f"+8491200000{i}").status_code == 200
        )
    prompt = Path(app.config["AUDIO_DIR"])
    before = backup.table_counts(db.engine)

    result = runner.invoke(args=["backup", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    archive = Path(result.output.splitlines()[0])
    assert archive.name.startswith("hotline-backup-") and archive.name.endswith(".tar.gz")
    checksum = Path(f"{archive}.sha256").read_text().split()
    assert checksum == [backup.sha256_of(archive), archive.name]

    from click.testing import CliRunner

    from hotline.privacy_cli import restore_command

    data_dir = tmp_path / "fresh"
    args = [str(archive), "--data-dir", str(data_dir), "--audio-dir", str(tmp_path / "audio")]
    if fresh_database:
        args += ["--database-url", fresh_database]
    done = CliRunner().invoke(restore_command, args)
    assert done.exit_code == 0, done.output
    restored = restored_app(tmp_path, data_dir, fresh_database, redis_url)
    with restored.app_context():
        assert backup.table_counts(db.engine) == before
        db.session.remove()
        db.engine.dispose()
    if prompt.is_dir() and any(prompt.rglob("*.wav")):
        assert sorted(p.name for p in (tmp_path / "audio").rglob("*.wav")) == sorted(
            p.name for p in prompt.rglob("*.wav")
        )
    # Not into a folder that holds anything: a restore never merges into a live install.
    again = CliRunner().invoke(restore_command, args)
    assert again.exit_code == 1 and "not empty" in again.output


def test_a_damaged_archive_is_refused_before_anything_is_written(app, tmp_path):
    made = backup.make_backup(app.config, db.engine, tmp_path / "b")
    raw = bytearray(made.path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    made.path.write_bytes(bytes(raw))
    with pytest.raises(backup.BackupError, match="checksum"):
        backup.restore(made.path, tmp_path / "fresh", None, None)
    assert not (tmp_path / "fresh").exists()


def test_only_the_last_n_backups_are_kept(app, tmp_path):
    target = tmp_path / "b"
    from datetime import timedelta

    for _ in range(4):
        backup.make_backup(app.config, db.engine, target)
        clock.set_offset(clock.offset() + timedelta(days=1))
    assert len(backup.archives(target)) == 4
    deleted = backup.prune(target, 2)
    assert len(deleted) == 2 and len(backup.archives(target)) == 2
    assert sorted(p.name for p in target.iterdir() if p.suffix == ".sha256") == sorted(
        f"{p.name}.sha256" for p in backup.archives(target)
    )


def test_healthz_and_the_dashboard_show_the_age_of_the_last_good_backup(app, client, tmp_path):
    from datetime import timedelta

    from tests.staff_fixtures import StaffClient, World

    World()
    assert client.get("/healthz").json["backup"] is None
    backup.make_backup(app.config, db.engine, tmp_path / "b")
    body = client.get("/healthz").json
    assert body["backup"]["age_hours"] < 1 and "backup_stale" not in body["problems"]
    admin = StaffClient(app, "admin")
    assert "Bản sao lưu tốt gần nhất" in admin.get("/staff/privacy").get_data(as_text=True)
    clock.set_offset(clock.offset() + timedelta(hours=40))
    body = client.get("/healthz").json
    assert body["backup"]["age_hours"] >= 40 and "backup_stale" in body["problems"]


def test_the_nightly_backup_runs_from_the_outbox_keeps_the_last_n_and_schedules_the_next(app, tmp_path):
    from datetime import timedelta

    from hotline import nightly
    from hotline.models import OutboxMessage
    from hotline.unit_of_work import unit_of_work
    from tests.conftest import run_queued_jobs

    app.config.update(BACKUP_DIR=str(tmp_path / "nightly"), BACKUP_KEEP=2)
    for _night in range(3):
        with unit_of_work():
            nightly.schedule(backup_job())
        clock.set_offset(clock.offset() + timedelta(days=1))
        db.session.remove()
        run_queued_jobs(app, ("default",))
    assert len(backup.archives(tmp_path / "nightly")) == 2
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.func == "nightly_backup")).all()
    assert sum(1 for r in rows if r.finished_at is not None) == 3
    assert sum(1 for r in rows if r.finished_at is None and r.run_at > clock.now()) == 1
    assert json.loads((Path(app.config["DATA_DIR"]) / backup.STATUS_FILE).read_text())["sha256"]


def backup_job():
    from hotline import jobs

    return jobs.nightly_backup


def test_restore_never_writes_over_a_database_in_use(app, tmp_path, database_url):
    made = backup.make_backup(app.config, db.engine, tmp_path / "b")
    refused = "not empty" if database_url.startswith("postgresql") else "exists"
    with pytest.raises(backup.BackupError, match=refused):
        backup.restore(made.path, tmp_path / "fresh", database_url, None)
    assert not (tmp_path / "fresh").exists()  # refused before anything was written
    assert backup.table_counts(db.engine)["tickets"] == made.counts["tickets"]
