"""Every reply template, in every language, fits one GSM-7 segment with the longest realistic values."""

from __future__ import annotations

import string
from collections import defaultdict
from datetime import time

import pytest

from hotline import create_app, messaging
from hotline.office_hours import describe_week
from hotline.sms.text import GSM7_BASIC, GSM7_SEGMENT, is_gsm7, to_gsm7

# The longest values a template realistically gets.
LONGEST = {
    "code": "12345678",  # codes start at 6 digits and grow only when short ones run out
    "phone": "02633822123",  # a landline in national format is the longest a resident sees
    "date": "26/11/2026",
    "keyword": "TUCHOI",
    "example": "CANCEL <code>",
    "time": "23:59",
    "name": "Nguyen Thi Ngoc Huyen",
    "village": "Thon Bu Sir Bon Dak Ra",
    # office_hours.yaml's address: the reply is cut to one segment past this (pipeline.on_address)
    "address": "Bo phan mot cua, tru so Uy ban nhan dan xa Dak Ru, huyen Dak R'Lap",
}
# The longest week a commune realistically keeps: two spans on weekdays and Saturday,
# Sunday morning (English day names are the longer ones).
_WEEK = {day: [(time(7, 0), time(11, 30)), (time(13, 30), time(17, 0))] for day in range(5)}
_WEEK[5] = [(time(7, 30), time(11, 30)), (time(13, 30), time(16, 30))]
_WEEK[6] = [(time(7, 30), time(11, 0))]
LONGEST["hours"] = describe_week(_WEEK, ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
GENERIC = "x" * 20  # a placeholder another subsystem added, without a known bound


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path_factory.mktemp("data"))})
    with app.app_context():
        yield app


def placeholders(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_template_in_every_language_fits_one_gsm7_segment(app):
    templates = messaging.sms_templates()
    assert "sms_help" in templates and "request_confirmation" in templates
    states = {lang: max((messaging.render_sms(k, lang) for k in templates if k.startswith("state_")), key=len)
              for lang in messaging.reply_languages()}
    checked = 0
    for key, texts in templates.items():
        for language, text in texts.items():
            values = defaultdict(lambda: GENERIC, LONGEST, state=states.get(language, states["vi"]))
            rendered = messaging.render_sms(key, language, **{n: values[n] for n in placeholders(text)})
            assert is_gsm7(rendered), (key, language, rendered)
            assert len(rendered) <= GSM7_SEGMENT, (key, language, len(rendered), rendered)
            checked += 1
    assert checked >= 2 * 25


# What the staff commands put in their replies, at its longest (hotline/staff/sms_commands.py).
STAFF_LONGEST = {
    **LONGEST,
    "phone": "+842633822123",  # the resident's number as stored (E.164)
    "holder": LONGEST["name"],
}
STAFF_RAW = {  # echoes of what the volunteer typed, cut to these lengths
    "unknown_code": {"code": "1234567890AB"},
    "bad_date": {"date": "31/12/2026"},
}


def test_every_staff_reply_and_usage_fits_one_gsm7_segment(app):
    """Field volunteers' replies (ivr_flows/staff.yaml), rendered by the code that sends them,
    fit one segment without being cut."""
    from hotline.staff.rules import rules
    from hotline.staff.sms_commands import render_reply, render_usage

    staff = rules()
    checked = 0
    for name, texts in staff["sms_replies"].items():
        for language, text in texts.items():
            values = {**STAFF_LONGEST, **STAFF_RAW.get(name, {})}
            values = {n: values[n] for n in placeholders(text)}  # KeyError: a placeholder without a bound
            rendered = render_reply(name, language, **values)
            assert rendered == text.format(**values), (name, language, "was cut")
            assert is_gsm7(rendered) and len(rendered) <= GSM7_SEGMENT, (name, language, len(rendered))
            checked += 1
    for command, spec in staff["sms_commands"].items():
        for language in spec["usage"]:
            rendered = render_usage(command, language)
            assert is_gsm7(rendered) and len(rendered) <= GSM7_SEGMENT, (command, language)
            checked += 1
    assert checked >= 2 * 12


def test_placeholders_with_data_behind_them_have_a_longest_value(app):
    """The visit date and the office hours are rendered at their longest above, not as GENERIC."""
    templates = messaging.sms_templates()
    for key, needed in (("visit_booked", {"code", "date"}), ("visit_reminder", {"code", "date"}),
                        ("sms_hours", {"hours"}), ("sms_hours_short", {"hours"})):
        for language, text in templates[key].items():
            assert placeholders(text) == needed, (key, language)
            assert needed <= set(LONGEST), key


def test_every_reply_template_has_every_reply_language(app):
    languages = {"vi", "en"}
    for key, texts in messaging.sms_templates().items():
        assert set(texts) >= languages, key


def test_unicode_replies_keep_accents_when_switched_on(tmp_path):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path), "SMS_UNICODE": True})
    with app.app_context():
        assert "Đã" in messaging.render_sms("sms_language_set", "vi")


def test_gsm7_folding():
    assert to_gsm7("Hủy yêu cầu “đơn” – xong… ✅") == 'Huy yeu cau "don" - xong... '
    assert all(ch in GSM7_BASIC for ch in to_gsm7("{[~]}|^€\\ 🙏 ñ"))
