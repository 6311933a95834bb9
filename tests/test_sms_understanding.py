"""SMS understood the way residents write (issue 11): Telex/VNI repair, abbreviations,
politeness, sentence rules and small talk (no database), then what the pipeline does with
them, on SQLite and PostgreSQL, through signed webhooks and `hotline sms`."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.data_files import load_yaml
from hotline.sms.keywords import Intent, KeywordError, Keywords
from hotline.sms.repair import is_syllable, repair_telex, repair_vni
from tests.sms_fixtures import all_tickets, messages, outbound, outcome, twilio_sms

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
CORPUS = load_yaml(DATA / "sms_corpus.yaml")
HELD_OUT = load_yaml(DATA / "sms_heldout.yaml")
KEYWORDS = load_yaml(ROOT / "ivr_flows" / "sms" / "keywords.yaml")


def right(kw, case):
    got = outcome(kw.match(case["text"]))
    return all(got[k] == v for k, v in case.items() if k != "text")


# --- the held-out set: only scored --------------------------------------------------------


def test_the_held_out_set_is_scored_not_tuned(kw, capsys):
    """Written before the sentence rules and never used to write them: its share is the
    honest measure (the misses are not printed, so nobody tunes on them)."""
    assert len(HELD_OUT) >= 100
    shared = {c["text"] for c in HELD_OUT} & {c["text"] for c in CORPUS}
    assert all(len(text.split()) <= 2 for text in shared), shared  # only "STOP", "ok", "👍"…
    share = sum(right(kw, case) for case in HELD_OUT) / len(HELD_OUT)
    with capsys.disabled():
        print(f"\nSMS held-out: {share:.1%} of {len(HELD_OUT)}")
    assert share >= 0.9


def test_the_corpus_is_500_messages():
    assert len(CORPUS) >= 500


# --- Telex and VNI --------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "word"), [
    ("giups", "giup"), ("huyr", "huy"), ("goij", "goi"), ("laij", "lai"), ("cuwu", "cuu"),
    ("vieejt", "viet"), ("hurys", "huy"), ("ddaauf", "dau"), ("tieengs", "tieng"), ("giowf", "gio"),
])
def test_telex_keys_are_removed_by_their_mapping(typed, word):
    assert repair_telex(typed, set()) == word


@pytest.mark.parametrize("word", ["hours", "thanks", "status", "cccd", "bhyt", "sms", "xin", "rut"])
def test_words_that_are_no_telex_stay(word):
    assert repair_telex(word, set()) == word


def test_known_words_are_never_repaired(kw):
    for word in ("is", "this", "yes", "what", "does"):
        assert repair_telex(word, kw.known) == word, word


@pytest.mark.parametrize(("typed", "text"), [
    ("tra cu7u1 123459", "tra cuu 123459"), ("giu1p", "giup"), ("kie63m tra", "kiem tra"),
    ("tracuu123459", "tracuu123459"),  # a glued code is a run of digits, not VNI
    ("t7 co lam", "t7 co lam"),  # one letter: Saturday
    ("vneid muc2", "vneid muc2"),  # known with its digit
])
def test_vni_digits_are_removed_only_where_they_are_vni(kw, typed, text):
    assert repair_vni(typed, kw.known) == text


def test_a_syllable_is_vietnamese_shaped():
    assert all(is_syllable(w) for w in ("giup", "nguoi", "cuu", "khuya", "tieng", "gio", "quy"))
    assert not any(is_syllable(w) for w in ("hour", "thank", "statu", "cccd", "stop"))


# --- abbreviations, politeness, small talk --------------------------------------------------


@pytest.mark.parametrize(("short", "long"), [
    ("k can nua, huy 123459", "khong can nua, huy 123459"),
    ("hs 482135 xong chua a/c", "ho so 482135 xong chua"),
    ("lam vneid can j", "lam vneid can gi"),
    ("may h mo cua", "may gio mo cua"),
    ("t7 co lam k", "thu bay co lam khong"),
    ("dc r", "duoc roi"),
])
def test_texting_abbreviations_read_as_the_words(kw, short, long):
    assert outcome(kw.match(short)) == outcome(kw.match(long))


POLITE_BEFORE = ["lam on", "cho hoi", "cho em hoi", "xin", "em", "chau", "vui long", "làm ơn cho cháu hỏi"]
POLITE_AFTER = ["a", "ạ", "nhe", "nhé", "voi", "với", "nha", "lam on", "please"]
WORDED = [c["text"] for c in CORPUS if any(ch.isalnum() for ch in c["text"])]


@settings(max_examples=300, deadline=None)
@given(text=st.sampled_from(WORDED), before=st.sampled_from(["", *POLITE_BEFORE]),
       after=st.sampled_from(["", *POLITE_AFTER]))
def test_politeness_never_changes_the_intent(kw, text, before, after):
    polite = kw.match(f"{before} {text} {after}")
    assert outcome(polite) == outcome(kw.match(text))


@pytest.mark.parametrize("text", ["ok", "cảm ơn", "cam on nhieu a", "👍", "🙏🙏", "vâng ạ", "thank you",
                                  "dc r"])
def test_small_talk_is_small_talk(kw, text):
    assert kw.match(text).intent is Intent.SMALLTALK


@pytest.mark.parametrize("text", ["?", "", "  ", "..."])
def test_nothing_at_all_is_empty(kw, text):
    assert kw.match(text).intent is Intent.EMPTY


def test_small_talk_with_a_need_is_the_need(kw):
    assert kw.match("cam on, toi can lam the bhyt").intent is Intent.REQUEST
    assert kw.match("ok, goi lai cho toi").intent is Intent.CALLBACK


# --- sentence rules -------------------------------------------------------------------------


def test_every_sentence_rule_says_why_and_is_used_by_the_corpus(kw):
    rules = KEYWORDS["sentences"]
    assert all(len(rule["why"]) > 40 for rule in rules)
    used = {kw.match(case["text"]).rule for case in CORPUS}
    assert {rule["name"] for rule in rules} <= used


def test_a_cancel_in_words_never_becomes_a_request(kw):
    for text in ("toi khong can nua", "e k can nua, huy giup e", "thoi khong can goi lai nua dau",
                 "I want to cancel my request"):
        match = kw.match(text)
        assert (match.intent, match.code) == (Intent.CANCEL, None), text
    assert kw.match("huy the bhyt cu").intent is Intent.REQUEST  # a procedure named


def test_a_number_in_a_question_of_ownership_is_verify(kw):
    match = kw.match("so 0263 3822 123 goi toi xung can bo xa, co phai khong")
    assert (match.intent, match.phone) == (Intent.VERIFY, "02633822123")
    assert kw.match("goi lai cho toi theo so 0912345678").intent is Intent.CALLBACK


def test_the_last_language_named_wins(kw):
    assert kw.match("i dont read vietnamese, english pls").language == "en"
    assert kw.match("doi tu tieng anh sang tieng viet").language == "vi"


def test_clearly_english_needs_two_english_words(kw):
    assert not kw.match("STOP").english
    assert not kw.match("HELP").english
    assert not kw.match("cam on a").english
    assert kw.match("stop sending me messages").english
    assert kw.match("status of request 123459 please").english


def test_broken_sentence_rules_name_their_path():
    data = {
        "version": 1,
        "politeness": {"vi": ["nhe"]},
        "intents": {"help": {"aliases": {"vi": ["giup"]}}},
        "sentences": [
            {"name": "ghost", "intent": "refund", "why": "x" * 20, "any": ["tien"]},
            {"name": "polite", "intent": "help", "why": "x" * 20, "any": ["nhe"]},
        ],
    }
    with pytest.raises(KeywordError) as error:
        Keywords.from_data(data, "keywords.yaml")
    assert "keywords.yaml › sentences › ghost: unknown intent 'refund'" in error.value.problems
    assert "keywords.yaml › sentences › polite › 'nhe': nothing left after politeness" in error.value.problems


# --- what the pipeline does -----------------------------------------------------------------

PHONE = "+84912345678"


def reply_to():
    return outbound()[-1].body


def test_a_cancel_without_a_code_asks_about_the_open_request(twilio):
    twilio_sms(twilio, "lam cccd cho me")
    code = all_tickets()[0].code
    twilio_sms(twilio, "e k can nua, huy giup e")
    assert reply_to() == f"Ban muon huy yeu cau {code}? Nhan HUY {code}"
    twilio_sms(twilio, f"huyy {code}")  # a typo near HUY with the code: asks too
    assert reply_to() == f"Ban muon huy yeu cau {code}? Nhan HUY {code}"
    tickets = all_tickets()
    assert len(tickets) == 1 and tickets[0].status == "open"
    twilio_sms(twilio, f"HUY {code}")
    assert all_tickets()[0].status == "cancelled"


def test_a_cancel_from_a_number_without_requests_opens_nothing(twilio):
    twilio_sms(twilio, "toi khong can nua, huy di")
    assert all_tickets() == []
    assert reply_to().startswith("De huy mot yeu cau, nhan HUY va ma")


def test_small_talk_gets_a_friendly_word_and_opens_nothing(twilio):
    for text in ("cảm ơn", "👍", "ok"):
        twilio_sms(twilio, text)
        assert reply_to().startswith("Cam on ban!")
    assert all_tickets() == []
    twilio_sms(twilio, "lam the bhyt cho bo")
    twilio_sms(twilio, "cam on a")
    tickets = all_tickets()
    assert len(tickets) == 1
    assert [e.message for e in tickets[0].events if e.kind == "sms_in"] == ["cam on a"]


def test_address_hours_and_how_to_use_are_answered_not_opened(twilio):
    twilio_sms(twilio, "ubnd xa o dau vay a")
    # The address the voice menu reads too (office_hours.yaml › address), folded for SMS.
    assert reply_to() == ("Dia chi: Bo phan mot cua, tru so Uy ban nhan dan xa. "
                          "Nhan GIOLAMVIEC de biet gio lam viec.")
    twilio_sms(twilio, "t7 xa co lam k a")
    assert reply_to().startswith("UBND xa lam viec")
    twilio_sms(twilio, "nhan tin nay dung ntn vay")
    assert reply_to().startswith("Hotline xa:")
    assert all_tickets() == []


def test_status_in_words_reads_the_open_request(twilio):
    twilio_sms(twilio, "dang ky khai sinh cho chau")
    code = all_tickets()[0].code
    twilio_sms(twilio, "ho so cua e den dau roi a")
    assert reply_to().startswith(f"Yeu cau {code}: da nhan")
    assert len(all_tickets()) == 1


def test_language_follows_the_resident(twilio):
    twilio_sms(twilio, "STOP")  # a bare English keyword from a Vietnamese phone
    assert reply_to().startswith("Ban se khong nhan tin nhan")
    twilio_sms(twilio, "START")
    assert reply_to().startswith("Ban se nhan lai")
    twilio_sms(twilio, "HELP", "+84987654321")
    assert reply_to().startswith("Hotline xa:")
    twilio_sms(twilio, "stop sending me messages", "+84987654322")  # clearly English
    assert reply_to().startswith("You will get no more texts")
    twilio_sms(twilio, "can you reply in english", "+84987654323")  # chosen: English from now on
    assert reply_to().startswith("Language set to English")
    twilio_sms(twilio, "tra cuu", "+84987654323")
    assert reply_to().startswith("You have no open request")


def test_a_different_need_opens_a_second_linked_request(twilio):
    twilio_sms(twilio, "lam cccd cho me")
    twilio_sms(twilio, "dang ky khai sinh cho chau")
    reply = reply_to()
    first, second = all_tickets()
    assert (first.topic, second.topic) == ("vneid", "civil_status")
    assert reply == (
        f"Xa da mo yeu cau moi {second.code} ve ho tich. "
        f"Yeu cau {first.code} ve VNeID, can cuoc van giu nguyen."
    )
    created = next(e for e in second.events if e.kind == "created")
    assert created.data["linked"] == first.code
    assert any(e.kind == "note" and e.data.get("linked") == second.code for e in first.events)
    assert not any(e.kind == "sms_in" for e in first.events)  # the message is the second request's
    codes = first.code, second.code
    # The same need again joins its own request, not the latest one.
    twilio_sms(twilio, "cccd cua me bi loi")
    assert reply_to().startswith(f"Da them tin nhan vao yeu cau {codes[0]}")
    assert [e.message for e in all_tickets()[0].events if e.kind == "sms_in"] == ["cccd cua me bi loi"]
    # No procedure named: the latest request.
    twilio_sms(twilio, "nha toi o thon 3")
    assert reply_to().startswith(f"Da them tin nhan vao yeu cau {codes[1]}")
    # Status without a code names both.
    twilio_sms(twilio, "xong chua a")
    reply = reply_to()
    assert reply.startswith(f"Yeu cau {codes[1]}: da nhan") and f"Yeu cau {codes[0]}:" in reply
    assert len(all_tickets()) == 2


def test_a_need_without_a_procedure_never_splits(twilio):
    twilio_sms(twilio, "toi can giup do")
    twilio_sms(twilio, "lam cccd cho me")  # the open request names no procedure: it is folded in
    assert len(all_tickets()) == 1


def test_hotline_sms_shows_throttling(runner, app):
    def send(text):
        result = runner.invoke(args=["sms", text, "--from", "0912345678"])
        assert result.exit_code == 0, result.output
        return result.output

    assert "Ban chua co yeu cau nao" in send("tra cuu")
    assert "Ban chua co yeu cau nao" in send("TRA CUU")
    third = send("tracuu")
    assert "Tin nay da duoc tra loi" in third
    assert "throttled (repeat): the reply above is the one notice" in third
    fourth = send("tra cuu")
    assert "(no reply: repeat)" in fourth and "throttled (repeat): notice already sent" in fourth
    assert "Hotline xa:" in send("giup")  # a different question is answered
    assert [m.no_reply_reason for m in messages()] == [None, None, "repeat", "repeat", None]
