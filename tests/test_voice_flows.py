"""The flow checker: one broken flow file per kind of error, each with its exact message;
the default flow passes; a broken flow stops the app and `hotline flows check` says why."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import textwrap

import pytest
import yaml
from click.testing import CliRunner

from hotline.ivr.flow import FlowError, load_flow
from hotline.ivr.nodes import NODE_TYPES
from tests.broken_fixtures import ROOT, at_project_root, expected_message  # noqa: F401  (autouse fixture)

BROKEN = sorted((ROOT / "tests" / "flows").glob("*.yaml"))


@pytest.mark.parametrize("path", BROKEN, ids=lambda path: path.stem)
def test_each_broken_flow_gives_its_exact_message(path):
    with pytest.raises(FlowError) as caught:
        load_flow(path.relative_to(ROOT))
    assert caught.value.problems == [expected_message(path)]


def test_there_is_a_broken_flow_for_each_kind_of_error():
    names = {path.stem for path in BROKEN}
    assert {"unknown_target", "unknown_type", "missing_field", "duplicate_node", "missing_prompt_text",
            "dead_end", "silence_loop", "information_without_way_back", "not_yaml",
            "unsupported_version"} <= names


def test_the_default_flow_passes_and_has_the_promised_keys():
    flow = load_flow(ROOT / "ivr_flows" / "main.yaml")
    options = flow.nodes["choose_language"]["options"]
    assert {key: option["language"] for key, option in options.items()} == {"1": "vi", "2": "mnong"}
    main = {key: option["goto"] for key, option in flow.nodes["main_menu"]["options"].items()}
    assert main == {"1": "procedure_menu", "2": "my_status", "3": "info_menu", "4": "leave_message",
                    "0": "person", "9": "choose_language"}
    assert flow.languages["mnong"]["name"] == "M'Nông"
    assert flow.say_attributes("vi")["language"] == "vi-VN"


def test_every_node_type_is_documented_with_an_example_that_checks(tmp_path):
    """The example in each type's docstring is a valid node of that type."""
    flow = load_flow(ROOT / "ivr_flows" / "main.yaml")
    for name, node_type in NODE_TYPES.items():
        doc = type(node_type).__doc__ or ""
        examples = re.findall(r"\n\n((?: {8}\S.*\n(?: {10}.*\n)+)+)", doc + "\n")
        assert examples, f"{name} has no example"
        for example in examples:
            nodes = yaml.safe_load(textwrap.dedent(example))
            for node_id, node in nodes.items():
                assert node["type"] == name, node_id
                import jsonschema

                jsonschema.validate(node, node_type.schema())
                assert node_type.check(node, flow) == [], (name, node_id)


def test_unreachable_mistakes_are_found_too(tmp_path):
    """Several problems are all listed, each with its path."""
    shutil.copytree(ROOT / "tests" / "flows" / "prompts", tmp_path / "prompts")
    (tmp_path / "two.yaml").write_text(textwrap.dedent("""\
        version: 1
        flow: two
        default_language: vi
        languages: {vi: {name: Tiếng Việt}}
        start: menu
        nodes:
          menu:
            type: menu
            prompt: main_menu
            options:
              "1": {goto: nowhere}
              "2": {goto: elsewhere}
            on_failure: menu
        """), encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_flow(tmp_path / "two.yaml")
    assert [p.split(" › ", 1)[1] for p in caught.value.problems] == [
        'node "menu" › option 1: unknown target "nowhere"',
        'node "menu" › option 2: unknown target "elsewhere"',
    ]


def test_a_type_not_allowed_for_voice_is_refused(monkeypatch, tmp_path):
    from hotline.ivr import nodes

    class SmsReply(nodes.NodeType):
        name = "sms_reply"
        channels = ("sms",)
        fields = {"text": {"type": "string"}}

    monkeypatch.setitem(nodes.NODE_TYPES, "sms_reply", SmsReply())
    shutil.copytree(ROOT / "tests" / "flows" / "prompts", tmp_path / "prompts")
    source = (ROOT / "tests" / "flows" / "unknown_type.yaml").read_text(encoding="utf-8")
    path = tmp_path / "sms_only.yaml"
    path.write_text(source.replace("type: gather, prompt: main_menu", "type: sms_reply"), encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    assert caught.value.problems == [f'{path} › node "menu": type "sms_reply" is not allowed in a voice flow']


def test_flows_check_command_reports_and_fails(tmp_path):
    from hotline.cli import cli

    runner = CliRunner()
    ok = runner.invoke(cli, ["flows", "check"])
    assert ok.exit_code == 0, ok.output
    assert "no dead ends" in ok.output
    broken = runner.invoke(cli, ["flows", "check", "tests/flows/unknown_target.yaml"])
    assert broken.exit_code == 1
    assert expected_message(ROOT / "tests/flows/unknown_target.yaml") in broken.output


def test_the_app_refuses_to_start_on_a_broken_flow(tmp_path):
    from hotline import create_app

    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "ivr_flows", flows)
    main = flows / "main.yaml"
    main.write_text(main.read_text(encoding="utf-8").replace("goto: my_status", "goto: stauts"),
                    encoding="utf-8")
    with pytest.raises(FlowError, match=r'node "main_menu" › option 2: unknown target "stauts"'):
        create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "FLOWS_DIR": str(flows),
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})


def test_office_hours_follow_the_local_clock_and_holidays():
    from hotline.office_hours import load

    hours = load(ROOT / "ivr_flows" / "office_hours.yaml")
    utc = dt.UTC
    # Thursday 26 November 2026, 09:00 in Vietnam is 02:00 UTC.
    assert hours.is_open(dt.datetime(2026, 11, 26, 2, 0, tzinfo=utc))
    assert not hours.is_open(dt.datetime(2026, 11, 26, 5, 0, tzinfo=utc))   # 12:00 lunch
    assert hours.is_open(dt.datetime(2026, 11, 26, 6, 30, tzinfo=utc))      # 13:30
    assert not hours.is_open(dt.datetime(2026, 11, 26, 10, 0, tzinfo=utc))  # 17:00
    assert hours.is_open(dt.datetime(2026, 11, 28, 1, 0, tzinfo=utc))       # Saturday 08:00
    assert not hours.is_open(dt.datetime(2026, 11, 29, 2, 0, tzinfo=utc))   # Sunday
    assert not hours.is_open(dt.datetime(2026, 9, 2, 2, 0, tzinfo=utc))     # National Day
    # 23:30 UTC Wednesday is 06:30 Thursday local: not yet open; 00:30 UTC is 07:30: open.
    assert not hours.is_open(dt.datetime(2026, 11, 25, 23, 30, tzinfo=utc))
    assert hours.is_open(dt.datetime(2026, 11, 26, 0, 30, tzinfo=utc))
    with pytest.raises(ValueError):
        hours.is_open(dt.datetime(2026, 11, 26, 9, 0))


def test_on_duty_numbers_are_empty_out_of_hours(app):
    from hotline.office_hours import on_duty_numbers

    assert on_duty_numbers(dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)) == ["+84903100201", "+84903100202"]
    assert on_duty_numbers(dt.datetime(2026, 11, 29, 2, 0, tzinfo=dt.UTC)) == []


def test_a_broken_office_hours_file_names_the_field(tmp_path):
    from hotline.office_hours import OfficeHoursError, parse

    with pytest.raises(OfficeHoursError, match=r"hours › mon: '17:00-07:00' ends before it starts"):
        parse({"hours": {"mon": ["17:00-07:00"]}}, "hours.yaml")
    with pytest.raises(OfficeHoursError, match=r"on_duty: '12345' is not a phone number"):
        parse({"on_duty": ["12345"]}, "hours.yaml")
