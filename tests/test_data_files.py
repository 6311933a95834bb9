"""The data files under ivr_flows/: one YAML loader (words stay words, a key once), one schema per
kind, one broken file per kind of error with its exact message (tests/data_files/<kind>-<error>.yaml),
and an app that refuses to start on any of them."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hotline import create_app, data_files, messaging
from hotline.data_catalog import FLOW_FILE, kind_of, read, read_all
from hotline.data_files import (
    DataFileError,
    DataLoader,
    DuplicateKey,
    load_yaml,
    localized,
    localized_in,
    parse_yaml,
)
from hotline.sms.text import fold, words
from tests.broken_fixtures import ROOT, at_project_root, expected_message  # noqa: F401  (autouse fixture)

FLOWS = ROOT / "ivr_flows"
BROKEN = sorted((ROOT / "tests" / "data_files").glob("*.yaml"))


def make_app(tmp_path, flows: Path = FLOWS, **config):
    return create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "FLOWS_DIR": str(flows),
                       "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", **config})


def flows_copy(tmp_path) -> Path:
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    return flows


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --- one broken file per kind of error -------------------------------------------------


@pytest.mark.parametrize("path", BROKEN, ids=lambda path: path.stem)
def test_each_broken_file_gives_its_exact_message(path):
    kind = path.stem.split("-")[0]
    with pytest.raises(DataFileError) as caught:
        read(path.relative_to(ROOT), kind)
    assert caught.value.problems == [expected_message(path)]


def test_there_is_a_broken_file_for_each_kind_of_file_and_error():
    kinds = {path.stem.split("-")[0] for path in BROKEN}
    assert kinds == {"prompts", "office_hours", "official_numbers", "sms_templates", "staff", "sms_keywords",
                     "training_scenario"}
    errors = {path.stem.split("-")[1] for path in BROKEN}
    assert {
        "not_yaml", "duplicate_key", "not_a_mapping", "not_a_string", "wrong_type", "missing_field",
        "unknown_field", "unknown_value", "unknown_name", "not_a_name", "not_like", "not_a_date",
        "unsupported_version", "too_small", "empty_list",
        # beyond the schema, checked by the code that uses the file
        "alias_is_a_filler", "ends_before_it_starts", "unknown_timezone", "not_a_phone_number",
        "listed_twice", "unmatched_brace", "placeholder_not_in_default", "reply_not_gsm7",
        "keyword_of_two_commands", "withheld_number_texts", "withheld_number_called_back",
    } <= errors


def test_every_file_under_ivr_flows_is_known_and_passes():
    checked = read_all(FLOWS)
    on_disk = {path.relative_to(FLOWS).as_posix() for path in FLOWS.rglob("*.yaml")}
    assert on_disk == set(checked) | {FLOW_FILE}
    assert all(kind_of(name) for name in checked)
    assert {"prompts/vi.yaml", "prompts/mnong.yaml", "staff.yaml", "sms/keywords.yaml"} <= set(checked)


# --- the YAML rule ---------------------------------------------------------------------


def test_words_stay_words_and_only_true_and_false_are_booleans():
    text = "[on, off, yes, no, y, n, On, OFF, Yes, NO, Y, N, true, false, True, FALSE, ~, 12, 2026-09-02]"
    assert parse_yaml(text) == [
        "on", "off", "yes", "no", "y", "n", "On", "OFF", "Yes", "NO", "Y", "N", True, False, "True", "FALSE",
        None, 12, dt.date(2026, 9, 2),
    ]
    assert parse_yaml("{no: Norwegian, on: x}") == {"no": "Norwegian", "on": "x"}
    # What YAML 1.1 (PyYAML's safe_load) makes of the same words: what the loader is for.
    assert yaml.safe_load(text)[:4] == [True, False, True, False]


def test_libyaml_and_the_python_parser_read_every_file_alike():
    """libyaml reads for speed; the pure-Python DataLoader words the errors: same rules, same data."""
    for path in [*FLOWS.rglob("*.yaml"), *(ROOT / "tests" / "flows").glob("*.yaml")]:
        text = path.read_text(encoding="utf-8")
        try:
            plain = yaml.load(text, Loader=DataLoader)  # noqa: S506 - a SafeLoader
        except yaml.YAMLError as error:
            with pytest.raises(type(error)) as caught:
                parse_yaml(text)
            assert str(caught.value) == str(error), path
            continue
        assert parse_yaml(text) == plain, path


def test_a_key_twice_is_refused_at_any_depth(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text("a:\n  b: 1\n  c: 2\n  b: 3\n", encoding="utf-8")
    with pytest.raises(DuplicateKey, match=r'^key "b" defined twice \(lines 2 and 4\)$'):
        load_yaml(path)


def test_a_missing_required_file_is_named(tmp_path):
    flows = flows_copy(tmp_path)
    (flows / "staff.yaml").unlink()
    (flows / "official_numbers.yaml").unlink()  # optional: no official numbers
    with pytest.raises(DataFileError) as caught:
        read_all(flows)
    assert caught.value.problems == [f"{flows / 'staff.yaml'}: cannot read: no such file or directory"]


# --- start-up --------------------------------------------------------------------------


def test_the_app_refuses_to_start_on_a_broken_staff_file(tmp_path):
    flows = flows_copy(tmp_path)
    edit(flows / "staff.yaml", "max_attempts: 3", "max_attempts: three")
    with pytest.raises(DataFileError) as caught:
        make_app(tmp_path, flows)
    assert str(caught.value) == (
        f"{flows / 'staff.yaml'} › retries › max_attempts: expected an integer, got 'three'"
    )


@pytest.mark.slow
def test_hotline_up_refuses_a_broken_data_file_with_the_message_not_a_traceback(tmp_path):
    flows = flows_copy(tmp_path)
    edit(flows / "staff.yaml", "max_attempts: 3", "max_attempts: three")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(HOTLINE_DATA_DIR=str(tmp_path / "data"), HOTLINE_FLOWS_DIR=str(flows))
    done = subprocess.run([sys.executable, "-m", "hotline", "up", "--port", "1"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "Error: a data file under ivr_flows/ is broken:\n" in done.stderr
    assert f"{flows / 'staff.yaml'} › retries › max_attempts: expected an integer, got 'three'" in done.stderr
    assert "Traceback" not in done.stderr


def test_one_start_lists_every_problem_of_every_file(tmp_path):
    flows = flows_copy(tmp_path)
    edit(flows / "staff.yaml", "max_attempts: 3", "max_attempts: three")
    edit(flows / "sms" / "keywords.yaml", "en: [help, info,", "en: [help, 12,")
    edit(flows / "office_hours.yaml", '"13:30-17:00"]', '"17:00-13:30"]')
    (flows / "sms" / "replies.yaml").write_text(
        (flows / "sms" / "replies.yaml").read_text(encoding="utf-8")
        + 'visit_booked:\n  vi: "Can bo den nha ban ngay {date}."\n', encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        make_app(tmp_path, flows)
    assert caught.value.problems == [
        f"{flows / 'office_hours.yaml'} › hours › mon: '17:00-13:30' ends before it starts",
        f"{flows / 'sms/keywords.yaml'} › intents › help › aliases › en › 1: expected a string, got 12 "
        "(write it in quotes)",
        f"{flows / 'staff.yaml'} › retries › max_attempts: expected an integer, got 'three'",
        f"{flows / 'sms/replies.yaml'} › visit_booked: also defined in {flows / 'sms_templates.yaml'}",
    ]


def test_the_checked_data_is_read_once_at_start_up(tmp_path):
    from hotline.directory import official_numbers
    from hotline.staff.rules import rules

    flows = flows_copy(tmp_path)
    app = make_app(tmp_path, flows)
    for path in flows.rglob("*.yaml"):
        if path.name != FLOW_FILE:
            path.write_text("not: [what, was, checked", encoding="utf-8")  # nothing reads it again
    with app.app_context():
        assert set(app.extensions[data_files.EXTENSION]) >= {"staff.yaml", "sms/keywords.yaml",
                                                             "sms/replies.yaml", "prompts/vi.yaml"}
        assert rules()["retries"]["max_attempts"] == 3
        assert {"request_confirmation", "sms_help"} <= set(messaging.sms_templates())
        assert official_numbers()["+842633822123"] == "UBND xa - bo phan mot cua"


def test_without_official_numbers_no_number_is_official(tmp_path):
    from hotline.directory import official_numbers

    flows = flows_copy(tmp_path)
    (flows / "official_numbers.yaml").unlink()
    app = make_app(tmp_path, flows)
    with app.app_context():
        assert official_numbers() == {}


# --- one fold, one language fallback ---------------------------------------------------


def test_one_fold_for_residents_and_volunteers(tmp_path):
    from hotline.staff.rules import plain_sms
    from hotline.staff.sms_commands import command_for

    assert fold("Nhận ĐƠN Hẹn") == "nhan don hen"
    assert fold("NHẬN").upper() == "NHAN"
    assert words("Đăng ký: ĐỊA CHỈ!") == ["dang", "ky", "dia", "chi"]
    assert plain_sms("Đã nhận yêu cầu") == "Da nhan yeu cau"  # accents gone, case kept
    app = make_app(tmp_path)
    with app.app_context():
        assert command_for("nhận") == command_for("NHAN") == command_for("Nhan") == "claim"
        assert command_for("hẹn") == "visit"
        assert command_for("nhanh") is None


def test_localized_falls_back_to_the_default_language():
    texts = {"vi": "Xin chào", "en": "Hello", "mnong": ""}
    assert localized(texts, "en") == "Hello"
    assert localized(texts, "mnong") == "Xin chào"  # empty: not written yet
    assert localized(texts, "fr") == "Xin chào"
    assert localized(texts, None) == "Xin chào"
    assert localized_in(texts, "fr") == ("Xin chào", "vi")
    assert localized_in({"en": "Hi", "vi": "Chào"}, "fr", default="en") == ("Hi", "en")
    with pytest.raises(KeyError):
        localized({"en": "Hello"}, "fr")


def test_sms_templates_speak_the_callers_language_else_vietnamese(tmp_path):
    app = make_app(tmp_path, SMS_UNICODE=True)
    with app.app_context():
        assert messaging.render_sms("sms_language_set", "en").startswith("Language set to English")
        vietnamese = messaging.render_sms("sms_language_set", "vi")
        assert vietnamese.startswith("Đã chọn tiếng Việt")
        assert messaging.render_sms("sms_language_set", "mnong") == vietnamese
