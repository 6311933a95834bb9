"""Keyword matching against the corpus and the written rule (no database needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hotline.data_files import load_yaml
from hotline.sms.keywords import Intent, KeywordError, Keywords, max_typos, tokens
from tests.sms_fixtures import outcome

ROOT = Path(__file__).resolve().parent.parent
CORPUS = load_yaml(Path(__file__).parent / "data" / "sms_corpus.yaml")


def test_the_corpus_is_large_and_every_intent_is_in_it():
    assert len(CORPUS) >= 150
    assert {case["intent"] for case in CORPUS} == {i.value for i in Intent}


def test_every_corpus_message_gets_its_intent(kw, capsys):
    misses = []
    for case in CORPUS:
        got = outcome(kw.match(case["text"]))
        wrong = {k: (got[k], v) for k, v in case.items() if k != "text" and got[k] != v}
        if wrong:
            misses.append((case["text"], wrong))
    share = 1 - len(misses) / len(CORPUS)
    with capsys.disabled():
        print(f"\nSMS corpus: {len(CORPUS) - len(misses)}/{len(CORPUS)} matched ({share:.1%})")
    assert not misses, misses


@pytest.mark.parametrize("text", ["Tra cứu 123459", "TRA CUU 123459", "tracuu123459", "  tra\tcuu\n123459 "])
def test_case_accents_spaces_and_glued_codes_do_not_matter(kw, text):
    match = kw.match(text)
    assert (match.intent, match.code) == (Intent.STATUS, "123459")


def test_d_with_stroke_folds_to_d():
    assert tokens("Đăng ký ĐỊA CHỈ") == ["dang", "ky", "dia", "chi"]


def test_the_typo_bound_keeps_short_words_exact(kw):
    assert [max_typos(w) for w in ("huy", "stop", "giup", "cancel", "tracuu", "huongdan", "giolamviec")] \
        == [0, 0, 0, 1, 1, 1, 2]
    # One letter off a short keyword is an ordinary word, not a command...
    assert kw.match("hut thuoc").intent is Intent.REQUEST
    # ...but one letter off a short action, followed by a code, asks (and never acts).
    near = kw.match("hut 123459")
    assert (near.intent, near.hint, near.code) == (Intent.HELP, "cancel", "123459")
    assert kw.match("shop").intent is Intent.REQUEST
    assert kw.match("huyen lam ha").intent is Intent.REQUEST
    # A typo must keep the first letter.
    assert kw.match("ftracuu 123459").intent is Intent.REQUEST


def test_typos_never_cancel_or_opt_out(kw):
    for text in ("cancle 123459", "canel 123459", "cancell 123459", "tu chio", "unsubscibe"):
        match = kw.match(text)
        assert match.intent is Intent.HELP, text
        assert match.hint in ("cancel", "stop")


def test_a_typo_closest_to_two_intents_is_help(kw):
    data = {
        "version": 1,
        "intents": {
            "status": {"rest": "code", "aliases": {"en": ["abcdef"]}},
            "hours": {"aliases": {"en": ["abcdeg"]}},
        },
    }
    ambiguous = Keywords.from_data(data).match("abcdex")
    assert ambiguous.intent is Intent.HELP and ambiguous.typo


def test_opt_out_needs_the_keyword_alone(kw):
    assert kw.match("STOP").intent is Intent.STOP
    assert kw.match("dung roi").intent is Intent.SMALLTALK  # "that's right"
    assert kw.match("stop the scam calls").intent is Intent.REQUEST


def test_the_argument_decides_between_status_and_verify(kw):
    assert kw.match("kiem tra 123459").intent is Intent.STATUS
    assert kw.match("tra cuu 0912345678").intent is Intent.VERIFY


def test_broken_keyword_data_names_every_problem():
    data = {
        "version": 1,
        "fillers": {"vi": ["xin"]},
        "intents": {
            "status": {"rest": "code", "aliases": {"vi": ["tra cuu", "xin"]}},
            "cancel": {"rest": "code", "aliases": {"vi": ["tracuu"]}},
            "refund": {"aliases": {"en": ["refund"]}},
            "hours": {"rest": "sometimes", "aliases": {"en": ["hours"]}},
        },
    }
    with pytest.raises(KeywordError) as error:
        Keywords.from_data(data, "keywords.yaml")
    problems = error.value.problems
    assert "keywords.yaml › intent 'status' › vi › 'xin': also a filler word" in problems
    assert "keywords.yaml › intent 'cancel' › vi › 'tracuu': also an alias of status" in problems
    assert any(p.startswith("keywords.yaml › intent 'refund': unknown intent") for p in problems)
    assert "keywords.yaml › intent 'hours' › rest: unknown value 'sometimes'" in problems


# Keywords the reply templates teach residents, and what each must do.
TAUGHT = {
    "GIUP": Intent.HELP, "HELP": Intent.HELP, "GOILAI": Intent.CALLBACK, "CALLBACK": Intent.CALLBACK,
    "TRACUU 123459": Intent.STATUS, "STATUS 123459": Intent.STATUS, "HUY 123459": Intent.CANCEL,
    "CANCEL 123459": Intent.CANCEL, "KIEMTRA 0912345678": Intent.VERIFY,
    "VERIFY 0912345678": Intent.VERIFY, "GIOLAMVIEC": Intent.HOURS, "HOURS": Intent.HOURS,
    "NGONNGU EN": Intent.LANGUAGE, "LANGUAGE VI": Intent.LANGUAGE, "TUCHOI": Intent.STOP,
    "STOP": Intent.STOP, "BATDAU": Intent.START, "START": Intent.START,
}


def test_every_keyword_the_replies_teach_does_what_they_say(kw):
    replies = (ROOT / "ivr_flows" / "sms" / "replies.yaml").read_text(encoding="utf-8")
    for text, intent in TAUGHT.items():
        assert text.split()[0] in replies, text
        assert kw.match(text).intent is intent, text


# "làm ơn" (please) folds to "lam on": a filler, wherever the politeness goes.
POLITE = [
    ("làm ơn tra cứu 123459", "tra cứu 123459", Intent.STATUS),
    ("lam on tra cuu 123459", "tra cuu 123459", Intent.STATUS),
    ("Làm ơn gọi lại cho tôi", "gọi lại cho tôi", Intent.CALLBACK),
    ("lam on huy 300660", "huy 300660", Intent.CANCEL),
    ("lam on kiem tra so 0912345678", "kiem tra so 0912345678", Intent.VERIFY),
    ("làm ơn cho hỏi thẻ BHYT", "cho hỏi thẻ BHYT", Intent.REQUEST),
    ("Ngừng nhận tin, làm ơn", "Ngừng nhận tin", Intent.STOP),
    ("tu choi lam on", "tu choi", Intent.STOP),
    ("làm ơn đăng ký lại", "đăng ký lại", Intent.START),
    ("lam on tieng anh", "tieng anh", Intent.LANGUAGE),
]


@pytest.mark.parametrize(("polite", "plain", "intent"), POLITE)
def test_please_changes_nothing(kw, polite, plain, intent):
    assert kw.match(plain).intent is intent
    assert outcome(kw.match(polite)) == outcome(kw.match(plain))


def test_yaml_words_in_the_keyword_file_stay_words(kw):
    """`on` ("làm ơn") and `no` ("code no. 12") are unquoted fillers: strings, not true/false."""
    text = (ROOT / "ivr_flows" / "sms" / "keywords.yaml").read_text(encoding="utf-8")
    assert "lam, on," in text and "number, no]" in text  # unquoted, so the test means something
    fillers = load_yaml(ROOT / "ivr_flows" / "sms" / "keywords.yaml")["fillers"]
    assert "on" in fillers["vi"] and "no" in fillers["en"]
    assert {"on", "no"} <= kw.fillers and not {"true", "false"} & kw.fillers
    # What a YAML 1.1 reader made of them: the bug this guards against.
    assert True in yaml.safe_load(text)["fillers"]["vi"]


def test_on_no_yes_off_as_aliases_are_keywords_not_booleans(tmp_path):
    path = tmp_path / "keywords.yaml"
    path.write_text("version: 1\nintents:\n  start:\n    rest: none\n"
                    "    aliases: {en: [on, yes, Y, On], vi: [co]}\n"
                    "  stop:\n    rest: none\n    aliases: {en: [off, no, N, OFF]}\n", encoding="utf-8")
    kw = Keywords.load(path)
    assert [kw.match(text).intent for text in ("ON", "yes", "y", "off", "No", "n")] == [
        Intent.START, Intent.START, Intent.START, Intent.STOP, Intent.STOP, Intent.STOP]
