"""Where the subsystems meet: the voice menu rings the dashboard's duty roster, follows the
office hours admins import, and SMS number checks know the registered staff phones."""

from __future__ import annotations

import datetime as dt

from hotline import office_hours
from hotline.directory import is_official_number
from hotline.extensions import db
from hotline.models import OfficeHours, RosterShift, utcnow
from tests.staff_fixtures import *  # noqa: F403 - the world and login fixtures
from tests.voice_helpers import set_office

ALL_DAY = (dt.time(0, 0), dt.time(23, 59, 59))


def test_without_a_roster_the_file_list_is_rung(app, world):
    set_office(app, open_now=True, on_duty=("+84903100201",))
    assert office_hours.on_duty_numbers(utcnow()) == ["+84903100201"]


def test_the_dashboards_roster_takes_over_in_ring_order(app, world, twilio):
    set_office(app, open_now=True, on_duty=("+84903100201",))
    for position, person in enumerate((world.vol_b, world.vol_a)):
        for weekday in range(7):
            db.session.add(RosterShift(staff_id=person.id, weekday=weekday, starts=ALL_DAY[0],
                                       ends=ALL_DAY[1], position=position))
    db.session.commit()
    assert office_hours.on_duty_numbers(utcnow()) == ["+84911000002", "+84911000001"]

    call = twilio.call("+84912345678")
    call.start()
    call.press("1")
    call.press("0")
    dial = call.twiml.find("Dial")
    assert dial is not None
    assert dial.find("Number").text == "+84911000002"


def test_imported_office_hours_take_over_from_the_file(app, world):
    set_office(app, open_now=True)
    assert office_hours.is_open(utcnow())
    # Admins import hours that exclude now: the dashboard's hours win.
    now_local = office_hours.current().local(utcnow())
    other_day = (now_local.weekday() + 3) % 7
    db.session.add(OfficeHours(weekday=other_day, opens=ALL_DAY[0], closes=ALL_DAY[1]))
    db.session.commit()
    assert not office_hours.is_open(utcnow())
    assert office_hours.on_duty_numbers(utcnow()) == []
    # Holidays from the file close the office whatever the imported hours say.
    db.session.add(OfficeHours(weekday=now_local.weekday(), opens=ALL_DAY[0], closes=ALL_DAY[1]))
    db.session.commit()
    assert office_hours.is_open(utcnow())
    office_hours.current().holidays.add(now_local.date())
    assert not office_hours.is_open(utcnow())


def test_registered_staff_phones_are_official_numbers(app, world):
    assert is_official_number("0911 000 001")  # vol_a's phone, as a resident would type it
    assert not is_official_number("0911 999 999")
    world.vol_a.active = False
    db.session.commit()
    assert not is_official_number("+84911000001")


def test_staff_play_the_stored_recording_and_read_its_transcript(app, world, login):
    from pathlib import Path

    from hotline.models import Transcription, VoiceMessage

    ticket = world.ticket(world.village_a, reason="voicemail")
    message = VoiceMessage(recording_sid="RE" + "7" * 32, ticket_id=ticket.id, call_sid="CA1",
                           recording_url="https://api.twilio.com/…/RE777.wav")
    db.session.add(message)
    db.session.flush()
    audio = Path(app.config["DATA_DIR"]) / "recordings" / f"{message.recording_sid}.wav"
    audio.parent.mkdir(parents=True, exist_ok=True)
    audio.write_bytes(b"RIFF....WAVEfmt fake but served as stored")
    db.session.add(Transcription(voice_message_id=message.id, ticket_id=ticket.id, status="done",
                                 text="xin chao can bo", confidence=0.42, low_confidence=True,
                                 audio_path=f"recordings/{message.recording_sid}.wav"))
    db.session.commit()
    code, message_id = ticket.code, message.id

    volunteer = login("lan")  # team A covers village A
    page = volunteer.get(f"/staff/t/{code}").get_data(as_text=True)
    assert f"/staff/t/{code}/voice/{message_id}" in page
    assert "xin chao can bo" in page and "42%" in page
    served = volunteer.get(f"/staff/t/{code}/voice/{message_id}")
    assert served.status_code == 200 and served.data == audio.read_bytes()

    other_team = login("minh")
    assert other_team.get(f"/staff/t/{code}/voice/{message_id}").status_code in (403, 404)
    from tests.staff_fixtures import fresh_request_globals

    fresh_request_globals()  # forget the last logged-in user this app context remembers
    assert app.test_client().get(f"/staff/t/{code}/voice/{message_id}").status_code in (302, 401)


def test_a_volunteers_visit_sms_goes_through_the_configured_gateway(app_factory):
    """Texts to staff use the same provider as residents' SMS (a commune's local SIM)."""
    from datetime import timedelta

    from hotline.models import Staff
    from hotline.staff import outcomes
    from hotline.staff.telephony import notify_volunteer
    from tests.fake_sms_gateway_api import FakeSmsGatewayAPI
    from tests.staff_fixtures import World

    gateway = FakeSmsGatewayAPI("hotline", "gateway-password").start()
    try:
        app = app_factory(SMS_PROVIDER="gateway", SMS_GATEWAY_URL=gateway.base_url,
                          SMS_GATEWAY_LOGIN=gateway.login, SMS_GATEWAY_PASSWORD=gateway.password)
        with app.app_context():
            world = World()
            ticket = world.ticket(world.village_a)
            lead = db.session.get(Staff, world.lead_a.id)
            volunteer = db.session.get(Staff, world.vol_a2.id)
            visit_on = office_hours.current().local(utcnow()).date() + timedelta(days=2)
            visit = outcomes.book_visit(ticket, lead, visit_on, volunteer)

            assert notify_volunteer(visit.id) == "staff_sms_sent"
            assert notify_volunteer(visit.id) == "already_done"
            assert len(gateway.messages) == 1
            assert "+84911000003" in str(gateway.messages[0])
            assert ticket.code in str(gateway.messages[0])
            db.session.remove()
    finally:
        gateway.stop()
