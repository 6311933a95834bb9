"""Logs that do not leak: a whole journey (a call asking for help, an SMS, a voice message
transcribed by a real worker, a volunteer claiming the request and recording its outcome)
runs with every logger of the process (and of the forked RQ work horses) writing to files at
debug and at info; the files are then searched for every number and text the journey used."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hotline import log_privacy
from hotline.extensions import db
from hotline.models import Resident, SmsOutbound, Ticket, Transcription
from tests.asr_fixtures import ACCOUNT_SID, new_recording
from tests.conftest import HOTLINE_NUMBER, PUBLIC_URL, TEST_AUTH_TOKEN, run_queued_jobs
from tests.sms_fixtures import twilio_sms
from tests.staff_fixtures import StaffClient, World
from tests.twilio_sim import TwilioSim

CALLER = "+84912345678"
SPEAKER = "+84933111222"
TEXTER = "+84987654321"
SMS_TEXT = "toi muon lam giay khai sinh cho chau Tran Van Binh o thon Bu Prang"
NOTE = "Da goi lai, ba Hoa se mang so ho khau den UBND thu hai"


def test_mask_keeps_prefix_and_last_three_digits():
    assert log_privacy.mask("from +84912345678 to %2B84987654321") == "from +84912***678 to %2B84987***321"
    assert log_privacy.mask("goi 0912345678 hoac 0912 345 678") == "goi 0912***678 hoac 0912***678"
    assert log_privacy.mask("84912345678") == "84912***678"
    # Not phone numbers: ids, codes, sids, dates, masked numbers.
    for kept in (
        "RE0123456789abcdef0123456789abcdef",
        "ticket 4821937",
        "2026-11-30 13:02:10",
        "+84912***678",
        "job 12",
    ):
        assert log_privacy.mask(kept) == kept


@contextlib.contextmanager
def logs_to_files(directory: Path) -> Iterator[dict[int, Path]]:
    """Every record of this process, and of the processes it forks, at debug and at info.

    Started after the app is built: the migrations' logging set-up (alembic's fileConfig)
    replaces the root logger's handlers and disables the loggers that existed before it,
    which a production process, whose migrations run apart, does not have done to it."""
    root = logging.getLogger()
    for logger in logging.Logger.manager.loggerDict.values():
        if isinstance(logger, logging.Logger):
            logger.disabled = False
    files = {
        level: directory / f"log-{logging.getLevelName(level).lower()}.txt"
        for level in (logging.DEBUG, logging.INFO)
    }
    handlers = []
    for level, path in files.items():
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setLevel(level)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        handlers.append(handler)
        root.addHandler(handler)
    before = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield files
    finally:
        root.setLevel(before)
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()


def test_a_whole_journey_leaves_no_number_body_transcript_or_token_in_the_logs(
    app_factory, media_host, korean_model_dir, korean_wav, tmp_path
):
    from hotline import speech_models

    app = app_factory(
        TWILIO_API_BASE=media_host.base_url,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        PHONE_NUMBER=HOTLINE_NUMBER,
        ASR_DOWNLOAD_DELAYS=[0.01, 0.02, 0.04],
    )
    with app.app_context(), logs_to_files(tmp_path) as log_files:
        world = World()
        speech_models.install("vi", str(korean_model_dir), app.config["DATA_DIR"], in_place=True)
        twilio = TwilioSim(app.test_client(), TEST_AUTH_TOKEN, PUBLIC_URL)

        # A call asking for help, then a voice message from the same number.
        call = twilio.call(CALLER)
        call.start()
        call.press("1")
        call.press("1")
        call.status("completed", 30)
        sid, url = new_recording(media_host, korean_wav)
        call = twilio.call(SPEAKER)
        call.start()
        call.press("1")
        call.press("4")
        record = call.twiml.find("Record")
        params = dict(call.params, RecordingSid=sid, RecordingUrl=url, RecordingDuration="6")
        assert twilio.post(record.get("action"), params).status_code == 200
        assert (
            twilio.post(
                "/twilio/recording",
                {
                    "AccountSid": ACCOUNT_SID,
                    "CallSid": call.sid,
                    "RecordingSid": sid,
                    "RecordingUrl": url,
                    "RecordingStatus": "completed",
                    "RecordingDuration": "6",
                },
            ).status_code
            == 204
        )
        # An SMS (stored, answered, a request), and a forged webhook (logged as rejected).
        assert twilio_sms(twilio, SMS_TEXT, from_number=TEXTER).status_code == 200
        forged = twilio.post(
            "/twilio/sms",
            {"MessageSid": "SM" + uuid.uuid4().hex, "From": TEXTER, "Body": SMS_TEXT},
            signature="forged",
        )
        assert forged.status_code == 403

        run_queued_jobs(app, ("default", "asr"))
        db.session.remove()
        transcript = db.session.scalars(select(Transcription.text)).one()
        assert transcript, "the voice message was transcribed"
        replies = [o.body for o in db.session.scalars(select(SmsOutbound))]
        assert replies, "the SMS was answered"

        # A volunteer of the callers' village team claims a request and records the outcome.
        for phone in (CALLER, SPEAKER, TEXTER):
            resident = db.session.scalar(select(Resident).where(Resident.phone == phone))
            resident.village_id = world.village_a.id
        for ticket in db.session.scalars(select(Ticket)):
            ticket.village_id, ticket.team_id = world.village_a.id, world.team_a.id
        db.session.commit()
        code = db.session.scalar(select(Ticket.code).where(Ticket.phone == TEXTER))
        volunteer = StaffClient(app, "lan")
        assert volunteer.get(f"/staff/t/{code}").status_code == 200
        assert volunteer.post(f"/staff/t/{code}/claim").status_code == 302
        assert (
            volunteer.post(f"/staff/t/{code}/outcome", data={"outcome": "resolved", "note": NOTE}).status_code
            == 302
        )
        run_queued_jobs(app, ("default",))
        db.session.remove()
        assert db.session.scalar(select(Ticket.status).where(Ticket.code == code)) == "resolved"
        # The admin exports the caller's data (logged, with the number masked).
        admin = StaffClient(app, "admin")
        assert admin.post("/staff/privacy/export", data={"phone": "0912345678"}).status_code == 200

    debug_log = log_files[logging.DEBUG].read_text(encoding="utf-8")
    info_log = log_files[logging.INFO].read_text(encoding="utf-8")
    assert "resident data of +84912***678 exported by admin" in info_log  # logged, masked
    assert "rq.worker" in debug_log and "Job OK" in debug_log  # the work horses' logs are in it too
    numbers = (
        CALLER,
        SPEAKER,
        TEXTER,
        "0912345678",
        "0933111222",
        "0987654321",
        "84912345678",
        "%2B84912345678",
        "+84911000001",
    )
    for number in numbers:
        assert number not in debug_log, number
    for secret in (TEST_AUTH_TOKEN, app.config["SECRET_KEY"]):
        assert secret not in debug_log
    for text in [SMS_TEXT, NOTE, transcript, *replies]:
        assert text not in info_log, text
        # nor a long piece of it
        assert not any(text[i : i + 24] in info_log for i in range(0, max(1, len(text) - 24), 6)), text


def test_a_failing_statement_logs_no_values_and_tracebacks_are_masked(app, caplog):
    caplog.set_level(logging.INFO)
    db.session.add(Resident(phone=CALLER))
    db.session.commit()
    try:
        db.session.add(Resident(phone=CALLER))
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        assert "parameters hidden" in str(error)  # PostgreSQL's DETAIL still names the key: masked below
        logging.getLogger("hotline.test").exception("storing a resident failed")
    try:
        raise ValueError(f"no route for {CALLER} (token {TEST_AUTH_TOKEN})")
    except ValueError:
        logging.getLogger("hotline.test").exception("handling %s failed", CALLER)
    text = caplog.text
    assert "+84912***678" in text and CALLER not in text and TEST_AUTH_TOKEN not in text


def test_logs_written_by_a_forked_worker_are_masked(app, tmp_path):
    """The factory is per process: a forked child inherits it (RQ's work horses)."""
    import os

    path = tmp_path / "child.log"
    handler = logging.FileHandler(path)
    logger = logging.getLogger("hotline.child")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        pid = os.fork()
        if pid == 0:
            logger.info("child texted %s", CALLER)
            handler.flush()
            os._exit(0)
        os.waitpid(pid, 0)
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert Path(path).read_text() == "child texted +84912***678\n"


def test_every_secret_the_app_holds_is_masked(app, caplog):
    """The Twilio token, the session key and the SMS gateway's signing key (set by a later step)."""
    caplog.set_level(logging.INFO)
    secrets = [app.config[name] for name in ("TWILIO_AUTH_TOKEN", "SECRET_KEY", "SMS_GATEWAY_SIGNING_KEY")]
    logging.getLogger("hotline.test").info("configured with %s", " ".join(secrets))
    assert caplog.text.count("[secret]") == 3 and not any(s in caplog.text for s in secrets)
