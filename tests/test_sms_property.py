"""Whatever arrives by SMS, the hotline answers 200 and either replies or records a request."""

from __future__ import annotations

import itertools
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import SmsMessage
from hotline.sms.text import clean_inbound
from tests.sms_fixtures import gateway_sms, twilio_sms

CORPUS = [c["text"] for c in yaml.safe_load(
    (Path(__file__).parent / "data" / "sms_corpus.yaml").read_text(encoding="utf-8"))]
EMOJI = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)

messages = st.one_of(
    st.text(max_size=300),
    st.just(""),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs"]), max_size=40),
    st.text(alphabet=EMOJI, max_size=40),
    st.builds(lambda s: (s * 2000)[:2000], st.text(min_size=1, max_size=30)),
    st.builds(lambda a, b: a + b, st.sampled_from(CORPUS), st.text(max_size=30)),
)
_numbers = itertools.count(1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=messages, via_gateway=st.booleans())
def test_any_text_gets_a_reply_or_a_recorded_request(twilio, client, text, via_gateway):
    phone = f"+8491{next(_numbers):07d}"  # a fresh sender: no cap or opt-out in the way
    if via_gateway:
        response = gateway_sms(client, text, phone, received_at="2026-11-26T11:46:11+07:00")
    else:
        response = twilio_sms(twilio, text, phone)
    assert response.status_code == 200, response.data[:500]
    db.session.remove()
    row = db.session.scalars(select(SmsMessage).where(SmsMessage.phone == phone)).one()
    assert row.body == clean_inbound(text)
    assert row.intent not in (None, "unhandled")
    assert row.reply is not None or row.ticket_id is not None
    if row.reply is not None:
        assert len(row.reply) <= 160 and row.reply.isascii()
