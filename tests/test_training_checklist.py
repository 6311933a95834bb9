"""Training scenarios as checked data (ivr_flows/training/*.yaml) and a rehearsal's progress
against its checklist, read from its requests' timelines (hotline.training_progress): each
step by the rule its docstring gives, the volunteer's steps only when the trainee did them.

The broken scenario files, one per error with its message, are in tests/data_files/
(training_scenario-*.yaml, run by tests/test_data_files.py)."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest

from hotline import create_app, training, training_progress
from hotline.data_files import DataFileError
from hotline.extensions import db
from hotline.models import EventKind, Ticket, TrainingRun, utcnow
from hotline.sms import pipeline
from hotline.staff import claims, outcomes
from hotline.tickets import add_event, create_ticket
from hotline.training_progress import Line, decide
from hotline.training_scenarios import EXTENSION, Step, load_scenarios
from hotline.voicemail import record_voice_message
from tests.broken_fixtures import ROOT
from tests.staff_fixtures import *  # noqa: F403  (world)

FLOWS = ROOT / "ivr_flows"


# --- the scenario files -------------------------------------------------------------------


def test_the_scenarios_on_file_load_with_the_simulators_api():
    scenarios = load_scenarios(FLOWS)
    assert set(scenarios) == {path.stem for path in (FLOWS / "training").glob("*.yaml")}
    pension = scenarios["pension-withheld-number"]
    assert pension.withheld and pension.channel == "voice" and pension.need == {"topic": "pension_allowance"}
    assert pension.steps[0] is Step.REQUEST_OPENED and pension.checklist[0] == "request_opened"
    assert pension.text(pension.title, "en").startswith("Mr K'Dieu")
    assert pension.text(pension.title, "mnong") == pension.title["vi"]  # falls back to Vietnamese
    assert all(line["vi"] and line["en"] for line in pension.script)


def _flows_with(tmp_path, name: str, old: str | None = None, new: str | None = None):
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    source = flows / "training" / "scam-call-report.yaml"
    text = source.read_text(encoding="utf-8")
    if old is not None:
        assert old in text
        text = text.replace(old, new or "", 1)
    source.unlink()
    (flows / "training" / name).write_text(text, encoding="utf-8")
    return flows


def test_the_app_refuses_to_start_on_a_broken_scenario_naming_its_file_and_field(tmp_path):
    flows = _flows_with(tmp_path, "scam-call-report.yaml", "topic: scam", "topic: lua_dao")
    with pytest.raises(DataFileError) as caught:
        create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "FLOWS_DIR": str(flows),
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    (problem,) = caught.value.problems
    assert problem.startswith(f"{flows / 'training' / 'scam-call-report.yaml'} › need › topic: unknown value "
                              "'lua_dao' (known: vneid, ")


def test_a_scenario_file_name_that_cannot_be_a_name_is_refused(tmp_path):
    flows = _flows_with(tmp_path, "Scam Call.yaml")
    with pytest.raises(DataFileError) as caught:
        load_scenarios(flows)
    assert caught.value.problems == [f"{flows / 'training' / 'Scam Call.yaml'}: not a scenario name like "
                                     "vneid-elderly-mnong (lowercase letters, digits, - and _)"]


def test_flows_check_checks_the_scenarios_too(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from hotline.ivr.commands import flows

    flows_dir = _flows_with(tmp_path, "scam-call-report.yaml", "\n  en: \"H'Linh reports a scam call\"")
    monkeypatch.setenv("HOTLINE_FLOWS_DIR", str(flows_dir))
    result = CliRunner().invoke(flows, ["check"])
    assert result.exit_code == 1
    assert f"{flows_dir / 'training' / 'scam-call-report.yaml'} › title › en: missing" in result.output
    monkeypatch.setenv("HOTLINE_FLOWS_DIR", str(FLOWS))
    result = CliRunner().invoke(flows, ["check"])
    assert result.exit_code == 0, result.output
    assert "vneid-elderly-mnong.yaml: scenario \"Bà H'Bia kích hoạt VNeID mức 2\", 5 steps to tick: ok" in (
        result.output)


# --- the rule, on plain lines ---------------------------------------------------------------

T0 = utcnow()


def line(kind: EventKind, actor: str = "system", minutes: int = 0, code: str = "111118", **data) -> Line:
    return Line(kind, actor, data, T0 + timedelta(minutes=minutes), code)


def test_each_step_is_ticked_by_its_first_line_and_staff_steps_only_by_the_trainee():
    lines = [
        line(EventKind.CREATED, "resident:voice", 0),
        line(EventKind.NOTE, "resident:sms", 1, sms_id=7),  # a text on the open request
        line(EventKind.CLAIMED, "thu", 1, staff="thu"),  # the trainer shows how: not the trainee's
        line(EventKind.RELEASED, "thu", 2),
        line(EventKind.CLAIMED, "lan", 3, staff="lan"),
        line(EventKind.CALLBACK_REQUESTED, "resident:voice", 4),  # the resident asks again: not a callback
        line(EventKind.CALLBACK_PLACED, "system", 5, staff="lan", training=True),  # the worker, for lan
        line(EventKind.OUTCOME, "lan", 6, outcome="no_answer"),
        line(EventKind.OUTCOME, "lan", 7, outcome="resolved", note="đã hướng dẫn"),
    ]
    states = decide([step.value for step in Step], reversed(lines), "lan")
    assert [(s.step, s.done, s.when and int((s.when - T0).total_seconds() // 60)) for s in states] == [
        (Step.REQUEST_OPENED, True, 0),
        (Step.VOICE_MESSAGE_LEFT, False, None),
        (Step.TRANSCRIPT_ARRIVED, False, None),
        (Step.SMS_RECEIVED, True, 1),
        (Step.CLAIMED, True, 3),
        (Step.CALLED_BACK, True, 5),
        (Step.NOTE_WRITTEN, True, 7),  # the note written with the outcome
        (Step.OUTCOME_RECORDED, True, 6),  # any outcome
        (Step.OUTCOME_RESOLVED, True, 7),
        (Step.VISIT_BOOKED, False, None),
    ]
    assert all(s.code == "111118" for s in states if s.done)
    # The same timeline, read for the trainer: only the resident's side and their own claim.
    assert [s.step for s in decide(list(Step), lines, "thu") if s.done] == [
        Step.REQUEST_OPENED, Step.SMS_RECEIVED, Step.CLAIMED]


def test_a_visit_is_an_outcome_and_a_transcript_a_line_of_its_own():
    lines = [line(EventKind.VOICE_MESSAGE, minutes=1), line(EventKind.TRANSCRIPTION_NO_MODEL, minutes=2),
             line(EventKind.VISIT_BOOKED, "lan", 3, volunteer="hung", note=None)]
    checklist = [Step.VOICE_MESSAGE_LEFT, Step.TRANSCRIPT_ARRIVED, Step.OUTCOME_RECORDED, Step.VISIT_BOOKED,
                 Step.NOTE_WRITTEN]
    assert [s.done for s in decide(checklist, lines, "lan")] == [True, False, True, True, False]
    assert decide([], lines, "lan") == []


# --- on the database: a rehearsal worked through the real domain code ----------------------


def test_a_rehearsal_worked_by_the_trainee_ticks_its_checklist_in_order(app, world):
    scenarios = app.extensions[EXTENSION]
    lan, thu = world.vol_a, world.lead_a
    run = training.start_run(lan, "scam-call-report")
    other = training.start_run(thu, "vneid-elderly-mnong")
    db.session.commit()
    (fresh,) = training_progress.runs_progress([run], scenarios)
    assert [(s.step, s.done) for s in fresh.steps] == [
        (Step.SMS_RECEIVED, False), (Step.CLAIMED, False), (Step.CALLED_BACK, False),
        (Step.OUTCOME_RESOLVED, False)]
    assert fresh.requests == () and fresh.done == 0

    with training.rehearsing(run.id):
        pipeline.receive_sms(provider="simulator", dedup_key="a1", from_number=run.phone,
                             text="co nguoi xung cong an goi doi ma otp co phai lua dao k")
    with training.rehearsing(other.id):
        record_voice_message(call_sid=None, from_number=other.phone, recording_sid="RE" + "1" * 32,
                             recording_url="https://api.twilio.com/x/RE" + "1" * 32, duration=7,
                             language="mnong")
    db.session.commit()
    ticket = db.session.scalars(db.select(Ticket).where(Ticket.training_run_id == run.id)).one()
    claims.claim(ticket, thu)  # the trainer claims it first, to show how
    claims.release(ticket, thu)
    claims.claim(ticket, lan)
    outcomes.start_callback(ticket, lan)
    outcomes.resolve(ticket, lan)
    db.session.commit()

    progress = {p.run_id: p for p in training_progress.runs_progress([run, other], scenarios)}
    mine = progress[run.id]
    assert (mine.trainee, mine.trainee_name, mine.scenario, mine.phone) == (
        "lan", "Nguyễn Thị Lan", "scam-call-report", run.phone)
    assert mine.requests == ((ticket.code, "resolved"),)
    assert [(s.step, s.done, s.code) for s in mine.steps] == [
        (Step.SMS_RECEIVED, True, ticket.code), (Step.CLAIMED, True, ticket.code),
        (Step.CALLED_BACK, True, ticket.code), (Step.OUTCOME_RESOLVED, True, ticket.code)]
    whens = [s.when for s in mine.steps]
    assert whens == sorted(whens) and mine.done == 4
    claimed = [e for e in ticket.events if e.kind == EventKind.CLAIMED]
    assert mine.steps[1].when == claimed[1].created_at  # the trainee's claim, not the trainer's

    theirs = progress[other.id]
    assert [(s.step, s.done) for s in theirs.steps] == [
        (Step.VOICE_MESSAGE_LEFT, True), (Step.TRANSCRIPT_ARRIVED, False), (Step.CLAIMED, False),
        (Step.CALLED_BACK, False), (Step.VISIT_BOOKED, False)]

    # A home visit booked by the trainee for the voice rehearsal.
    voice_ticket = db.session.scalars(db.select(Ticket).where(Ticket.training_run_id == other.id)).one()
    claims.claim(voice_ticket, thu)
    outcomes.book_visit(voice_ticket, thu, date.today() + timedelta(days=2), world.vol_a2)
    db.session.commit()
    theirs = training_progress.run_progress(other, scenarios)
    assert [s.step for s in theirs.steps if s.done] == [
        Step.VOICE_MESSAGE_LEFT, Step.CLAIMED, Step.VISIT_BOOKED]


def test_the_trainer_list_filters_by_trainee_and_survives_a_scenario_gone_from_disk(app, world):
    lan, minh = world.vol_a, world.vol_b
    first = training.start_run(lan, "scam-call-report")
    training.start_run(minh, "birth-registration-family-phone")
    gone = training.start_run(lan, "an-old-scenario")
    db.session.commit()
    assert [r.id for r in training_progress.recent_runs("lan")] == [gone.id, first.id]
    assert len(training_progress.recent_runs()) == 3 and training_progress.recent_runs("nobody") == []
    assert training_progress.trainees() == [("minh", "Lê Văn Minh"), ("lan", "Nguyễn Thị Lan")]
    with training.rehearsing(gone.id):
        ticket = create_ticket(phone=gone.phone, channel="sms", reason="sms", language="vi")
    add_event(ticket, EventKind.NOTE, "x", actor="lan")
    db.session.commit()
    (old,) = training_progress.runs_progress([db.session.get(TrainingRun, gone.id)],
                                             app.extensions[EXTENSION])
    assert old.steps == () and old.requests == ((ticket.code, "open"),)
