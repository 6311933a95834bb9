"""Property: whatever a caller does — random keys, codes, silence, recordings, staff who do or
do not answer, hanging up — the hotline never answers with an error, and no call ends without
a request, a person, a voice message or information."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Call, Ticket
from tests.voice_helpers import set_office

KEYS = st.sampled_from(list("0123456789*#"))
CODES = st.text("0123456789", min_size=2, max_size=8)
ACTION = st.one_of(KEYS, KEYS, KEYS, CODES, st.none(), st.just("hangup"))
GOALS = {"request", "person", "voice_message", "information"}
APOLOGY = "hệ thống đang bận"
#: Silences after the caller's keys run out; the flow must end the call by then.
MAX_SILENT_STEPS = 12


def answer(call, action, recorded: bool, staff_answers: bool) -> bool:
    """Answer the current document; False once the call is over."""
    twiml = call.twiml
    if twiml.find("Gather") is not None:
        call.press(action)
    elif (record := twiml.find("Record")) is not None:
        extra = {"RecordingSid": "RE" + uuid.uuid4().hex, "RecordingUrl": "https://api.twilio.com/r",
                 "RecordingDuration": "5"} if recorded else {}
        call.post_to(record.get("action"), **extra)
    elif (dial := twiml.find("Dial")) is not None:
        call.post_to(dial.get("action"), DialCallStatus="completed" if staff_answers else "no-answer")
    else:
        return False
    assert APOLOGY not in call.said()
    return True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(ACTION, max_size=12), open_now=st.booleans(), recorded=st.booleans(),
       staff_answers=st.booleans(), known_language=st.booleans())
def test_random_callers_never_get_an_error_or_a_dead_end(
    app, twilio, actions, open_now, recorded, staff_answers, known_language
):
    set_office(app, open_now=open_now)
    number = "+8491" + str(uuid.uuid4().int)[:7]
    if known_language:
        from hotline import tickets

        tickets.resident_for(number, "vi")
        db.session.commit()
    call = twilio.call(number)
    call.start()
    assert APOLOGY not in call.said()
    hung_up_by_caller = False
    for action in actions:
        if action == "hangup":
            hung_up_by_caller = True
            break
        if not answer(call, action, recorded, staff_answers):
            break
    else:
        for _ in range(MAX_SILENT_STEPS):
            if not answer(call, None, recorded, staff_answers):
                break
        else:
            raise AssertionError("silence never ended the call")
    if not hung_up_by_caller:
        assert call.hung_up(), "the call ended without a Hangup"
    assert call.status("completed").status_code == 204

    db.session.remove()
    stored = db.session.scalars(select(Call).where(Call.call_sid == call.sid)).one()
    got_something = stored.outcome in GOALS or stored.ticket_id is not None
    assert got_something, (actions, stored.outcome)
    if stored.ticket_id is not None:
        assert db.session.get(Ticket, stored.ticket_id).phone == number
