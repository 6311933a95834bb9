"""The training space and the browser phone's server side: a rehearsal runs the real flow,
the real SMS pipeline and the real workers, its requests stay out of real work, and nothing
reaches a phone (the Twilio REST API, played by a local server, hears nothing).

The page itself, in Chromium with a fake microphone: tests/test_browser_simulator.py."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from hotline import training
from hotline.extensions import db
from hotline.models import Call, HomeVisit, SmsOutbound, Ticket, TicketEvent, TrainingRun
from tests.asr_fixtures import korean_model_dir, korean_wav  # noqa: F401
from tests.conftest import run_queued_jobs, twilio_rest_config
from tests.staff_fixtures import *  # noqa: F403  (world)
from tests.staff_fixtures import StaffClient, fresh_request_globals
from tests.test_voicemail_asr import install_korean_for
from tests.voice_helpers import set_office


@pytest.fixture
def app_settings(tmp_path, twilio_api) -> dict:
    """Twilio fully configured (REST credentials, a number): a rehearsal must still send nothing."""
    return twilio_rest_config(twilio_api, AUDIO_DIR=str(tmp_path / "audio"), ASR_DOWNLOAD_DELAYS=[0.01, 0.02])


class Trainee(StaffClient):
    """A staff member on /staff/simulator: the page's fetch() calls, with the CSRF header."""

    def start(self, scenario: str) -> TrainingRun:
        response = self.post("/staff/simulator/run", data={"scenario": scenario})
        assert response.status_code == 302, response.get_data(as_text=True)
        return db.session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc())).first()

    def fetch(self, path: str, body: dict | None = None, **kw) -> dict:
        fresh_request_globals()
        response = self.client.post(path, json=body or {}, headers={"X-CSRFToken": self.token}, **kw)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def call(self) -> dict:
        self.doc = self.fetch("/staff/simulator/call")
        return self.doc

    def press(self, digits: str) -> dict:
        assert self.doc["then"]["kind"] == "gather", self.doc
        self.doc = self.fetch("/staff/simulator/step", {"step": self.doc["then"]["step"], "digits": digits})
        return self.doc

    def speak(self, audio: bytes | None, filename="message.webm") -> dict:
        assert self.doc["then"]["kind"] == "record", self.doc
        fresh_request_globals()
        data = {"step": json.dumps(self.doc["then"]["step"])}
        if audio is not None:
            import io

            data["audio"] = (io.BytesIO(audio), filename)
        response = self.client.post("/staff/simulator/record", data=data, headers={"X-CSRFToken": self.token},
                                    content_type="multipart/form-data")
        assert response.status_code == 200, response.get_data(as_text=True)
        self.doc = response.get_json()
        return self.doc

    def hang_up(self) -> None:
        self.fetch("/staff/simulator/hangup")

    def text(self, body: str) -> dict:
        fresh_request_globals()
        response = self.client.post("/staff/simulator/sms", data={"body": body},
                                    headers={"X-CSRFToken": self.token})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def state(self) -> dict:
        fresh_request_globals()
        return self.client.get("/staff/simulator/state").get_json()


def heard(doc: dict) -> list[str]:
    return [part.get("prompt") for part in doc["say"] if part.get("prompt")]


def real_views_of_requests(app, admin: StaffClient) -> dict:
    """What every real view shows: the queue, the API, the report CSV, `hotline tickets list`."""
    queue = re.findall(r'data-code="(\d+)"', admin.get("/staff/?status=active").get_data(as_text=True))
    report = admin.get("/staff/reports.csv?by=channel&period=day").get_data(as_text=True)
    listed = app.test_cli_runner().invoke(args=["tickets", "list", "--json"])
    return {"queue": queue, "report": report, "cli": json.loads(listed.output)}


def test_a_rehearsed_withheld_call_with_a_voice_message_stays_in_training(
        app, world, twilio_api, korean_model_dir, korean_wav):  # noqa: F811
    install_korean_for("vi", app, korean_model_dir)
    world.ticket(world.village_a, phone="+84912000111")  # one real request, for comparison
    admin = StaffClient(app, "admin")
    before = real_views_of_requests(app, admin)

    trainee = Trainee(app, "lan")  # a volunteer of team 1
    run = trainee.start("pension-withheld-number")
    assert run.phone is None  # the scenario's resident hides their number
    doc = trainee.call()
    assert heard(doc) == ["choose_language"] and doc["then"]["kind"] == "gather"
    assert all(part["text"] for part in doc["say"])  # the text is always shown
    trainee.press("1")
    assert trainee.doc["then"]["step"]["node"] == "main_menu"
    trainee.press("1")
    trainee.press("4")  # pension and allowances
    assert "request_noted_no_number" in heard(trainee.doc)  # no number: it cannot call back
    trainee.press("4")  # leave a message with a number to call
    assert trainee.doc["then"]["kind"] == "record"
    trainee.speak(korean_wav, filename="message.wav")
    assert "message_received" in heard(trainee.doc) and trainee.doc["then"]["kind"] == "hangup"
    trainee.hang_up()

    (ticket,) = db.session.scalars(select(Ticket).where(Ticket.training_run_id == run.id)).all()
    assert (ticket.topic, ticket.phone, ticket.training_run_id) == ("pension_allowance", None, run.id)
    (call,) = db.session.scalars(select(Call).where(Call.phone.is_(None))).all()
    assert (call.ticket_id, call.training_run_id) == (ticket.id, run.id)  # the wipe finds it by its run
    ticket_id = ticket.id
    run_queued_jobs(app, ("asr",))  # the real transcription worker, with the real model
    ticket = db.session.get(Ticket, ticket_id)
    assert ticket.transcript, "the rehearsal's voice message was transcribed"
    assert trainee.state()["requests"][0]["transcript"] == ticket.transcript

    after = real_views_of_requests(app, admin)
    assert after == before, "a rehearsal changed a real view"
    assert ticket.code not in after["queue"]
    training_queue = trainee.get("/staff/?space=training").get_data(as_text=True)
    assert ticket.code in training_queue and "Hàng đợi tập huấn" in training_queue
    assert twilio_api.requests == []


def test_a_rehearsed_text_is_answered_in_the_thread_and_never_sent(app, world, twilio_api):
    trainee = Trainee(app, "lan")
    run = trainee.start("birth-registration-family-phone")
    assert run.phone == training.run_number(run.id)
    state = trainee.text("lam on cho hoi lam giay khai sinh cho con can gi")
    assert [(line["from"], line.get("status")) for line in state["thread"]] == [
        ("resident", None), ("hotline", "pending")]
    (request,) = state["requests"]
    assert request["code"] in state["thread"][1]["body"]
    run_queued_jobs(app)  # the reply's job, as the real worker runs it
    state = trainee.state()
    assert [(line["from"], line.get("status")) for line in state["thread"]] == [
        ("resident", None), ("hotline", "sent")]
    reply = db.session.scalars(select(SmsOutbound)).one()
    assert (reply.provider, reply.provider_status, reply.status) == ("training", "simulated", "sent")

    # Small talk gets a friendly reply and opens nothing, as for a real resident.
    trainee.text("cam on nhieu")
    run_queued_jobs(app)
    assert len(trainee.state()["requests"]) == 1
    assert len(trainee.state()["thread"]) == 4
    assert twilio_api.requests == [] and twilio_api.messages == []


def test_the_staff_side_of_a_rehearsal_dials_and_texts_nobody(app, world, twilio_api):
    trainee = Trainee(app, "minh")  # team 2's volunteer: training requests are everyone's to practise on
    run_id = trainee.start("scam-call-report").id
    (request,) = trainee.text("co nguoi xung cong an goi doi ma otp co phai lua dao k")["requests"]
    code = request["code"]
    page = trainee.get(f"/staff/t/{code}").get_data(as_text=True)
    assert 'id="training-banner"' in page and "tel:" not in page
    assert trainee.post(f"/staff/t/{code}/claim").status_code == 302
    assert trainee.post(f"/staff/t/{code}/callback").status_code == 302
    visit = {"outcome": "home_visit", "visit_on": "2099-01-02", "volunteer_id": str(world.vol_b.id)}
    assert trainee.post(f"/staff/t/{code}/outcome", data=visit).status_code == 302
    run_queued_jobs(app)
    ticket = db.session.scalars(select(Ticket).where(Ticket.training_run_id == run_id)).one()
    kinds = [e.kind for e in db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))]
    assert {"claimed", "callback_requested", "callback_placed"} <= set(kinds)
    placed = db.session.scalars(select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "callback_placed")).one()
    assert placed.data["training"] is True
    assert db.session.scalar(select(func.count()).select_from(HomeVisit)) == 1
    assert twilio_api.requests == [] and twilio_api.calls == [] and twilio_api.messages == []
    # The real queue's "take the next request" never hands out a rehearsal's request.
    other = StaffClient(app, "admin")
    assert other.post("/staff/claim-next").headers["Location"].endswith("/staff/")


def test_real_views_show_the_training_space_only_to_a_trainer_who_asks(app, world):
    lead, volunteer = StaffClient(app, "thu"), StaffClient(app, "lan")
    real_report = lead.get("/staff/reports.csv?by=channel").get_data(as_text=True)
    trainee = Trainee(app, "lan")
    trainee.start("scam-call-report")
    (request,) = trainee.text("co nguoi goi doi ma otp co phai lua dao k")["requests"]
    tokens = {name: app.test_cli_runner().invoke(args=["users", "token", name]).output.split()[-1]
              for name in ("lan", "thu")}

    def api(name, path):
        fresh_request_globals()
        return app.test_client().get(path, headers={"Authorization": f"Bearer {tokens[name]}"})

    assert request["code"] not in api("thu", "/api/tickets").get_data(as_text=True)
    assert api("thu", f"/api/tickets/{request['code']}").status_code == 404
    assert request["code"] in api("thu", "/api/tickets?space=training").get_data(as_text=True)
    assert api("thu", f"/api/tickets/{request['code']}?space=training").status_code == 200
    assert request["code"] not in api("lan", "/api/tickets?space=training").get_data(as_text=True)

    assert lead.get("/staff/reports.csv?by=channel").get_data(as_text=True) == real_report
    rehearsals = lead.get("/staff/reports.csv?by=channel&space=training").get_data(as_text=True)
    assert rehearsals != real_report  # the trainer's view counts the rehearsal's text
    asked = volunteer.get("/staff/reports.csv?by=channel&space=training").get_data(as_text=True)
    assert asked == volunteer.get("/staff/reports.csv?by=channel").get_data(as_text=True)


def test_talking_to_a_person_shows_who_would_ring_and_rings_nobody(app, world, twilio_api):
    set_office(app, open_now=True, on_duty=("+84903100201",))
    trainee = Trainee(app, "lan")
    trainee.start("scam-call-report")
    trainee.call()
    trainee.press("1")
    trainee.press("0")  # a person
    then = trainee.doc["then"]
    assert then["kind"] == "dial" and then["numbers"] == ["+84903100201"]
    # Nobody answers (the trainee says so on the page): the flow goes on, as after a real ring.
    trainee.doc = trainee.fetch("/staff/simulator/step", {"step": then["step"], "dial_status": "no-answer"})
    assert "nobody_free" in heard(trainee.doc)
    trainee.hang_up()
    assert twilio_api.requests == []


def test_the_page_cannot_name_a_call_or_skip_the_checks(app, world):
    trainee = Trainee(app, "lan")
    fresh_request_globals()
    no_run = trainee.client.post("/staff/simulator/call", headers={"X-CSRFToken": trainee.token})
    assert no_run.status_code == 409
    trainee.start("scam-call-report")
    fresh_request_globals()
    assert trainee.client.post("/staff/simulator/step", json={"step": {"node": "main_menu", "seq": 1}},
                               headers={"X-CSRFToken": trainee.token}).status_code == 409  # no call yet
    trainee.call()
    fresh_request_globals()
    assert trainee.client.post("/staff/simulator/step", json={"step": {"node": "x", "seq": "1e9"}},
                               headers={"X-CSRFToken": trainee.token}).status_code == 400
    fresh_request_globals()
    assert trainee.client.post("/staff/simulator/call").status_code == 400  # no CSRF token: refused


def test_a_failure_inside_the_hotline_is_heard_as_the_apology(app, world, monkeypatch):
    trainee = Trainee(app, "lan")
    trainee.start("scam-call-report")
    trainee.call()

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("hotline.ivr.engine.continue_call", broken)
    doc = trainee.press("1")
    assert doc["then"]["kind"] == "hangup" and "Xin lỗi" in doc["say"][0]["text"]
