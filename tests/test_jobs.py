"""The job registry (hotline.jobs): every job declared once with a body that fits, domain code
naming jobs by object only, former dotted names still running, and the worker ending each
job's database session itself. Real Redis, both databases, real forking RQ workers."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, get_current_job
from rq.utils import import_attribute
from sqlalchemy import select, text, update

import workers.main
from hotline import jobs, outbox
from hotline.extensions import db
from hotline.models import OutboxMessage, Ticket, utcnow
from hotline.queueing import get_redis
from hotline.staff import outcomes
from hotline.unit_of_work import unit_of_work
from tests.conftest import twilio_rest_config
from tests.staff_fixtures import *  # noqa: F403  (fixtures)
from tests.test_staff_outcomes import claimed, fire, fresh, scheduled, staff

ROOT = Path(__file__).resolve().parent.parent
DOTTED_JOB = re.compile(r"workers\.\w+\.\w+")


# --- a job the tests queue: leaves a write uncommitted (bound here; the work horse inherits it) ---

@jobs.job()
def jobs_test_leaves_a_write_uncommitted() -> str:
    """Marks its own outbox row and returns without committing, as a careless job would."""


@jobs_test_leaves_a_write_uncommitted.implementation
def leaves_a_write_uncommitted() -> str:
    mine = OutboxMessage.job_id == get_current_job().id
    db.session.execute(update(OutboxMessage).where(mine).values(last_error="uncommitted"))
    return "returned with its transaction open"


@pytest.fixture
def app(app_factory, twilio_api):
    app = app_factory(**twilio_rest_config(twilio_api))
    with app.app_context():
        yield app
        db.session.remove()


def row(job_id: str) -> OutboxMessage:
    db.session.remove()
    return db.session.scalar(select(OutboxMessage).where(OutboxMessage.job_id == job_id))


# --- declarations and bodies ------------------------------------------------------------------

def test_every_declared_job_has_a_body_in_workers_that_fits_its_declaration():
    jobs.registry.check()  # what `hotline worker` runs before it takes a job
    bodies = jobs.registry.jobs.values()
    hotline_jobs = [spec for spec in bodies if spec.body.__module__.startswith("workers.")]
    assert {spec.name for spec in hotline_jobs} == {
        "send_request_confirmation", "send_outbound_sms", "send_ticket_sms", "return_to_queue",
        "visit_reminder", "notify_volunteer", "place_callback", "transcribe_voice_message",
        "apply_retention", "nightly_backup",
        "store_prompt_recording",
    }
    assert {spec.body.__module__ for spec in hotline_jobs} == {m.__name__ for m in workers.main.JOB_MODULES}
    assert jobs.transcribe_voice_message.queue == "asr"


def test_each_former_dotted_name_stands_for_the_body_that_ran_at_that_path():
    for old, spec in jobs.registry.former_names.items():
        assert jobs.find(old) is spec and import_attribute(old) is spec.body, old
    assert jobs.find("workers.jobs.no_such_job") is None and jobs.find(None) is None


def test_a_declared_job_without_a_body_is_named_by_the_check():
    registry = jobs.JobRegistry()

    @registry.job()
    def forgotten(ticket_id: int) -> str:
        """Declared, never bound."""

    registry.former_names["workers.old.thing"] = jobs.send_outbound_sms  # not this registry's
    with pytest.raises(jobs.JobRegistryError) as refused:
        registry.check()
    assert str(refused.value) == (
        "job forgotten has no implementation (bind one in workers/ with @jobs.forgotten.implementation); "
        "former name workers.old.thing maps to send_outbound_sms, which is not a registered job")


def test_a_body_that_does_not_fit_its_declaration_and_a_second_body_are_refused():
    registry = jobs.JobRegistry()

    @registry.job()
    def greet(ticket_id: int, key: str = "hello") -> str:
        """A job to bind."""

    def wrong(ticket_id: int, key: str) -> str:
        return key

    with pytest.raises(jobs.JobRegistryError, match=r"wrong\(ticket_id, key\) does not fit its declaration "
                                                    r"greet\(ticket_id, key='hello'\)$"):
        greet.implementation(wrong)

    def right(ticket_id: int, key: str = "hello") -> str:
        return key

    def another(ticket_id: int, key: str = "hello") -> str:
        return key

    assert greet.implementation(right) is right
    assert greet.implementation(right) is right  # binding the same body again is harmless
    with pytest.raises(jobs.JobRegistryError, match="already runs"):
        greet.implementation(another)


def test_a_job_name_is_one_plain_word_declared_once():
    registry = jobs.JobRegistry()

    def send() -> None:
        """A job."""

    registry.job()(send)
    with pytest.raises(jobs.JobRegistryError, match="'send' is taken"):
        registry.job()(send)
    send.__name__ = "workers.sms.send"
    with pytest.raises(jobs.JobRegistryError, match="not a plain word"):
        registry.job()(send)


def test_a_job_without_a_body_stops_the_worker_and_hotline_jobs_check(app, runner, monkeypatch):
    def unbound_for_tests(visit_id: int) -> str:
        """A job declared in a hurry."""

    spec = jobs.JobSpec(unbound_for_tests, queue="default")
    monkeypatch.setitem(jobs.registry.jobs, spec.name, spec)

    with pytest.raises(jobs.JobRegistryError, match="job unbound_for_tests has no implementation"):
        workers.main.run_worker(app, ["default"], burst=True, with_scheduler=False)
    result = runner.invoke(args=["jobs", "check"])
    assert result.exit_code == 1
    assert "job unbound_for_tests has no implementation" in result.output
    assert "1 job(s) would resolve to nothing" in result.output


def test_hotline_jobs_check_and_list_name_every_job_and_its_body(app, runner):
    checked = runner.invoke(args=["jobs", "check"])
    assert checked.exit_code == 0, checked.output
    listed = runner.invoke(args=["jobs", "list"]).output
    line = next(line for line in listed.splitlines() if line.startswith("send_outbound_sms "))
    assert line.split()[:3] == ["send_outbound_sms", "default", "workers.sms.send_sms"]
    assert "(was workers.sms.send_sms)" in line


# --- domain code names jobs by object ---------------------------------------------------------

def test_add_job_takes_a_declared_job_not_a_name_and_checks_its_arguments_at_once(app):
    with pytest.raises(TypeError, match="add_job takes a job declared in hotline.jobs"):
        outbox.add_job("sms-out-1", "workers.sms.send_sms", 1)
    with pytest.raises(TypeError, match="too many positional arguments"):
        outbox.add_job("sms-out-1", jobs.send_outbound_sms, 1, 2)
    with pytest.raises(TypeError, match="missing a required argument: 'attempt'"):
        outbox.add_job("retry-1-1", jobs.return_to_queue, 1)
    assert not db.session.new  # nothing was written
    written = outbox.add_job("retry-1-1", jobs.return_to_queue, 1, 1, run_at=utcnow() + timedelta(hours=2))
    assert (written.func, written.queue, written.args) == ("return_to_queue", "default", [1, 1])
    asr = outbox.add_job("asr-RE1-1", jobs.transcribe_voice_message, 1)
    assert asr.queue == "asr"


def python_files() -> list[Path]:
    skip = {ROOT / "hotline" / "jobs.py"}  # the registry's table of former names
    return [path for path in sorted((ROOT / "hotline").rglob("*.py"))
            if path not in skip and "migrations" not in path.parts]


def jobs_named_by_string(source: str, where: str) -> list[str]:
    """Dotted job paths written as strings, and add_job calls given a string for the job."""
    found = []
    for node in ast.walk(ast.parse(source)):
        value = node.value if isinstance(node, ast.Constant) else None
        if isinstance(value, str) and DOTTED_JOB.fullmatch(value):
            found.append(f"{where}:{node.lineno} {node.value}")
        called = getattr(node, "func", None)
        if isinstance(node, ast.Call) and getattr(called, "attr", getattr(called, "id", None)) == "add_job":
            job = node.args[1] if len(node.args) > 1 else None
            if isinstance(job, (ast.Constant, ast.JoinedStr)):
                found.append(f"{where}:{node.lineno} add_job with a string")
    return found


def test_no_job_is_named_by_a_string_in_hotline():
    """A job is queued by its declaration; a dotted path in domain code is a job the registry
    cannot vouch for (the relay would set its rows aside)."""
    found = []
    for path in python_files():
        found += jobs_named_by_string(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == []


def test_the_scan_above_can_fail():
    source = 'add_job(f"sms-{x}", f"{JOBS}.send_sms", x)\nJOB = "workers.asr.transcribe"\n'
    assert jobs_named_by_string(source, "bad.py") == [
        "bad.py:1 add_job with a string", "bad.py:2 workers.asr.transcribe"]


# --- former names keep running -----------------------------------------------------------------

def test_rows_and_rq_jobs_written_with_former_dotted_names_still_run(world, work_queue, twilio_api):
    """Rows in the outbox and jobs in Redis at the upgrade carry dotted paths: both still run."""
    ticket = world.ticket(world.village_a)
    tid, phone = ticket.id, ticket.phone
    db.session.add(OutboxMessage(job_id=f"sms-confirmation-{tid}",
                                 func="workers.jobs.send_request_confirmation", args=[tid]))
    db.session.commit()
    Queue("default", connection=get_redis()).enqueue(
        "workers.staff_jobs.send_sms", tid, "staff_resolved", "resolved", job_id="queued-before-the-upgrade")
    relayed = outbox.relay_pending(get_redis())
    assert relayed == 1
    # Handed to RQ under its registered name.
    assert Queue("default", connection=get_redis()).fetch_job(f"sms-confirmation-{tid}").func_name == (
        "send_request_confirmation")
    work_queue()
    assert [m["To"] for m in twilio_api.messages] == [phone, phone]
    assert row(f"sms-confirmation-{tid}").finished_at is not None
    kinds = [e.kind for e in fresh(tid).events]
    assert kinds.count("sms_sent") == 2


# --- the worker ends each job's session -----------------------------------------------------------

def test_the_worker_ends_a_jobs_session_before_its_success_callback(app, work_queue):
    """The job returns with a write uncommitted; the worker rolls it back before the success
    callback stamps the row (which would otherwise wait on the job's lock: SQLite's one
    writer, PostgreSQL's row lock)."""
    outbox.add_job("careless-1", jobs_test_leaves_a_write_uncommitted)
    db.session.commit()
    work_queue()
    careless = row("careless-1")
    assert careless.finished_at is not None
    assert careless.last_error is None  # the uncommitted write was rolled back, not committed by someone


def test_the_worker_ends_the_session_whether_the_job_returned_or_raised(app):
    """RQ calls handle_execution_ended after the job's function, on success and failure alike."""
    redis = get_redis()
    queue = Queue("default", connection=redis)
    job = queue.enqueue("send_outbound_sms", 1)
    worker = workers.main.HotlineWorker([queue], connection=redis)
    db.session.execute(text("SELECT 1"))
    assert db.session.registry.has() and db.session().in_transaction()
    worker.handle_execution_ended(job, queue, 30)
    assert not db.session.registry.has()
    assert job.ended_at is not None  # RQ's own bookkeeping still ran


# --- work for later survives Redis ------------------------------------------------------------------

def test_a_no_answer_retry_is_a_row_for_later_that_survives_a_flushall(world, work_queue, redis_url):
    ticket = claimed(world)
    tid = ticket.id
    with unit_of_work():  # as the dashboard's form post does
        outcomes.no_answer(ticket, staff("lan"))
    job_id = f"retry-{tid}-1"
    waiting = row(job_id)
    assert (waiting.func, waiting.args, waiting.relayed_at) == ("return_to_queue", [tid, 1], None)
    assert waiting.run_at == fresh(tid).next_attempt_at > utcnow()
    work_queue()
    assert job_id in scheduled()  # not due: still in the database
    Redis.from_url(redis_url).flushall()
    fire(job_id, work_queue)
    ticket = db.session.get(Ticket, tid)
    assert ticket.next_attempt_at is None and ticket.events[-1].kind == "retry_due"
