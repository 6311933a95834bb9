"""Wiping the training space (hotline.training_reset): `hotline training reset` and the trainer
page's button delete every rehearsal and all it made, and leave every real row as it was:
each table's rows (by primary key) are compared before the rehearsals and after the wipe,
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from hotline import jobs, training
from hotline.extensions import db
from hotline.models import (
    AuditEntry,
    Call,
    CallStep,
    HomeVisit,
    OutboxMessage,
    SmsMessage,
    SmsOptOut,
    SmsOutbound,
    Ticket,
    TicketEvent,
    TrainingRun,
    Transcription,
    VoiceMessage,
    utcnow,
)
from hotline.staff import claims, outcomes
from hotline.training_reset import reset
from tests.staff_fixtures import *  # noqa: F403  (world)
from tests.staff_fixtures import StaffClient
from tests.training_fixtures import call_with_message, rehearse, text, work


def rows_by_table() -> dict[str, set[tuple]]:
    """Every table's rows, by primary key."""
    db.session.expire_all()
    found = {}
    for table in db.metadata.sorted_tables:
        key = list(inspect(table).primary_key)
        found[table.name] = set(db.session.execute(select(*key)).all())
    return found


def real_world(app, world) -> Path:
    """Real requests, calls, SMS (a reply, a STOP), a voice message on disk, worked requests."""
    world.ticket(world.village_a, phone="+84912000111")
    text("+84912000222", "lam on cho hoi lam cccd can gi")
    text("+84912000333", "STOP")
    audio = call_with_message(app, "+84912000444")
    db.session.commit()
    worked = select(Ticket).where(Ticket.phone.in_(["+84912000222", "+84912000444"]))
    for ticket in db.session.scalars(worked):
        work(ticket, world.lead_a, world.lead_a)  # unrouted (no village known): a lead's to work
    return audio


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_reset_removes_every_rehearsal_and_leaves_every_real_row(app, world):
    real_audio = real_world(app, world)
    before = rows_by_table()
    assert all(before[name] for name in ("tickets", "calls", "call_steps", "sms_messages", "sms_outbound",
                                         "sms_opt_outs", "home_visits", "voice_messages", "transcriptions",
                                         "outbox", "audit_log", "residents"))
    runs, training_audio = rehearse(app, world)
    training_tickets = list(db.session.scalars(select(Ticket).where(Ticket.training_run_id.is_not(None))))
    ids = [t.id for t in training_tickets]
    assert len(training_tickets) == 3
    assert {t.training_run_id for t in training_tickets} == {r.id for r in runs}
    expected = {
        "rehearsals": 3, "tickets": 3, "recordings": 2, "visits": 2, "voicemails": 2, "transcripts": 2,
        "numbers": 1, "residents": 2,  # the two runs with a number (the withheld one has none)
        "timeline_lines": count(TicketEvent, TicketEvent.ticket_id.in_(ids)),
        "texts": count(SmsMessage, SmsMessage.phone == runs[0].phone)
        + count(SmsOutbound, (SmsOutbound.phone == runs[0].phone) | SmsOutbound.ticket_id.in_(ids)),
        "calls": 3, "call_steps": count(CallStep, CallStep.call_id.in_(
            select(Call.id).where(Call.training_run_id.is_not(None)))),
        "audit_entries": count(AuditEntry, AuditEntry.target.in_([t.code for t in training_tickets])),
        "jobs": len(rows_by_table()["outbox"] - before["outbox"]),
    }
    assert expected["texts"] >= 6 and expected["call_steps"] >= 2 and expected["audit_entries"] >= 10
    assert expected["jobs"] >= 10
    assert all(path.is_file() for path in training_audio)

    wiped = reset("thu", app.config["DATA_DIR"])
    assert all(path.is_file() for path in training_audio), "files go only once the wipe is committed"
    db.session.commit()

    assert wiped.counts() == expected
    after = rows_by_table()
    (entry,) = after["audit_log"] - before["audit_log"]
    row = db.session.get(AuditEntry, entry[0])
    assert (row.actor, row.action, row.target, row.data) == ("thu", "training_reset", None, expected)
    after["audit_log"].discard(entry)
    assert after == before, "the wipe changed a real row, or left a training one"
    assert not any(path.exists() for path in training_audio) and real_audio.is_file()


def test_a_wipe_that_rolls_back_keeps_the_recordings(app, world):
    _runs, files = rehearse(app, world)
    reset("thu", app.config["DATA_DIR"])
    db.session.rollback()
    assert all(path.is_file() for path in files)
    assert count(TrainingRun) == 3 and count(VoiceMessage) == 2 and count(Transcription) == 2


def test_a_request_that_takes_a_wiped_requests_id_still_gets_its_jobs(app, world):
    """SQLite gives the next request the highest id again once it is deleted: the wiped training
    request's jobs (named by its id) must not stand in for the real one's."""
    run = training.start_run(world.vol_a, "scam-call-report")
    db.session.commit()
    with training.rehearsing(run.id):
        text(run.phone, "co nguoi goi doi ma otp co phai lua dao k")
    db.session.commit()
    rehearsed = db.session.scalars(select(Ticket).where(Ticket.training_run_id == run.id)).one()
    claims.claim(rehearsed, world.vol_a)
    outcomes.resolve(rehearsed, world.vol_a)
    db.session.commit()
    reset("thu", app.config["DATA_DIR"])
    db.session.commit()
    wiped_at = utcnow()

    text("+84912000555", "lam on cho hoi ve bhyt")
    db.session.commit()
    real = db.session.scalars(select(Ticket).where(Ticket.phone == "+84912000555")).one()
    claims.claim(real, world.lead_a)  # unrouted: a lead's
    outcomes.resolve(real, world.lead_a)
    db.session.commit()
    (job,) = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.job_id == f"staff-sms-resolved-{real.id}"))
    assert job.args[0] == real.id and job.created_at >= wiped_at, "the rehearsal's job stood in for it"


def test_every_job_is_known_to_the_wipe():
    """A new job about a request's rows must say which (jobs.ABOUT_REQUESTS), or the wipe leaves it behind."""
    declared = {value.name for value in vars(jobs).values() if isinstance(value, jobs.JobSpec)}
    assert len(declared) >= 10  # (other tests add jobs of their own to the registry)
    assert set(jobs.ABOUT_REQUESTS) | jobs.ABOUT_NO_REQUEST == declared
    assert not set(jobs.ABOUT_REQUESTS) & jobs.ABOUT_NO_REQUEST


def test_the_command_asks_first_and_reports_what_it_removed(app, world):
    rehearse(app, world)
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["training", "reset"], input="n\n")
    assert refused.exit_code == 1
    assert "Delete 3 rehearsals and their 3 requests from the training space?" in refused.output
    assert count(TrainingRun) == 3
    done = runner.invoke(args=["training", "reset", "--yes", "--by", "trainer:thu"])
    assert done.exit_code == 0, done.output
    counts = json.loads(done.output)
    assert (counts["rehearsals"], counts["tickets"], counts["visits"]) == (3, 3, 2)
    db.session.expire_all()
    assert count(TrainingRun) == 0 and count(Ticket, Ticket.training_run_id.is_not(None)) == 0
    assert count(HomeVisit) == 0 and count(SmsOptOut) == 0
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "training_reset")).one()
    assert entry.actor == "trainer:thu" and entry.data["rehearsals"] == 3
    again = runner.invoke(args=["training", "reset", "--yes"])
    assert json.loads(again.output)["rehearsals"] == 0


@pytest.mark.parametrize("username", ["lan", "minh"])
def test_a_volunteer_can_neither_see_the_trainer_page_nor_wipe(app, world, username):
    rehearse(app, world)
    volunteer = StaffClient(app, username)
    assert volunteer.get("/staff/training").status_code == 403
    assert volunteer.post("/staff/training/reset", data={"confirm": "yes"}).status_code == 403
    assert 'id="nav-trainer"' not in volunteer.get("/staff/").get_data(as_text=True)
    db.session.expire_all()
    assert count(TrainingRun) == 3
