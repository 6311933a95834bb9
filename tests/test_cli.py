"""The `hotline` command: every command listed without importing it, each building the app
it needs when it runs, and the console script doing the same as app.test_cli_runner()."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import pytest
from click.testing import CliRunner
from flask import current_app
from flask.cli import ScriptInfo

from hotline.cli import COMMANDS, CONFIG, FULL, cli
from hotline.extensions import db
from hotline.tickets import create_ticket

ROOT = Path(__file__).resolve().parent.parent

#: Runs the console script's entry point with the arguments given after `-c PROBE -`, then
#: writes the modules it imported to the file named by $PROBE_OUT.
PROBE = """
import os
import sys
from hotline.cli import main
sys.argv = ["hotline", *sys.argv[2:]]
try:
    main()
except SystemExit as stop:
    code = stop.code
else:
    code = 0
with open(os.environ["PROBE_OUT"], "w") as out:
    out.write("\\n".join(sorted(sys.modules)))
sys.exit(code)
"""

#: What only the whole app needs: a command that reads rows imports none of it.
NOT_FOR_READING_ROWS = (
    "sqlalchemy.orm", "flask_sqlalchemy", "hotline.models",
    "alembic", "flask_migrate", "flask_wtf", "flask_babel", "flask_login", "argon2", "twilio", "rq",
    "hotline.data_catalog", "hotline.ivr.engine", "hotline.voice", "hotline.sms", "hotline.staff",
    "hotline.api", "hotline.transcription",
)


def console_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("HOTLINE_", "FLASK_")) or name == "HOTLINE_CLOCK_OFFSET_SECONDS"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env["HOTLINE_DATA_DIR"] = str(tmp_path / "console-data")
    env.update(extra)
    return env


def run_console(args: list[str], env: dict[str, str], tmp_path: Path) -> tuple:
    """The console script's code path in a fresh interpreter; its output and imported modules."""
    out = tmp_path / "modules.txt"
    done = subprocess.run([sys.executable, "-c", PROBE, "-", *args], env={**env, "PROBE_OUT": str(out)},
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    return done, set(out.read_text().split())


def test_help_imports_click_and_the_command_table_only(tmp_path):
    done, modules = run_console(["--help"], console_env(tmp_path), tmp_path)
    assert done.returncode == 0, done.stderr
    assert {module for module in modules if module.split(".")[0] == "hotline"} == {"hotline", "hotline.cli"}
    assert not {"flask", "werkzeug", "sqlalchemy", "jinja2", "requests"} & modules
    for name in COMMANDS:
        assert f"\n  {name} " in done.stdout, name


def test_the_table_says_what_each_command_says_of_itself():
    for name, entry in COMMANDS.items():
        command = entry.load()
        assert isinstance(command, click.Command), name
        assert entry.help == command.get_short_help_str(limit=10_000), name
        assert entry.app in (FULL, CONFIG, None), name
    listed = CliRunner().invoke(cli, ["--help"]).output
    assert "Perform database migrations." in listed and "Requests in the queue." in listed


def test_the_runner_finds_every_command_that_runs_in_the_app(app):
    assert set(app.cli.commands) == {name for name, entry in COMMANDS.items() if entry.app is not None}
    for name, command in app.cli.commands.items():
        assert command is COMMANDS[name].load(), name


def leaves(command: click.Command, path: tuple[str, ...]):
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from leaves(sub, (*path, name))
    else:
        yield path, command


class AppRequested(Exception):
    pass


def test_every_command_that_needs_the_app_builds_it_when_it_runs():
    """The console script pushes no app context (flask's FlaskGroup did): a command that needs
    the app must ask the ScriptInfo for it (with_appcontext, an AppGroup), before anything else."""
    assert not current_app

    def refuse():
        raise AppRequested

    checked = []
    for name, entry in COMMANDS.items():
        if entry.app is None:
            continue
        for path, command in leaves(entry.load(), (name,)):
            ctx = click.Context(command, info_name=path[-1], obj=ScriptInfo(create_app=refuse))
            with pytest.raises(AppRequested), ctx:
                ctx.invoke(command.callback, **{param.name: None for param in command.params
                                                if param.expose_value})
            checked.append(" ".join(path))
    assert {"tickets list", "worker", "db upgrade", "users create", "import", "call"} <= set(checked)


def test_tickets_list_reads_the_database_without_the_rest_of_the_app(app, runner, tmp_path, database_url):
    create_ticket(phone="+84912345678", channel="sms", reason="sms", topic="vneid", language="vi",
                  body="lam cccd cho me")
    create_ticket(phone=None, channel="voice", reason="callback_requested")
    db.session.commit()
    env = console_env(tmp_path, DATABASE_URL=database_url)

    done, modules = run_console(["tickets", "list", "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    through_runner = runner.invoke(args=["tickets", "list", "--json"])
    assert through_runner.exit_code == 0, through_runner.output
    assert done.stdout == through_runner.output  # the contract, byte for byte
    rows = json.loads(done.stdout)
    assert [row["phone"] for row in rows] == ["+84912345678", None]
    heavy = {module for module in modules
             if any(module == name or module.startswith(name + ".") for name in NOT_FOR_READING_ROWS)}
    assert heavy == set()

    done, _ = run_console(["tickets", "list", "--status", "open", "--channel", "voice"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    header, *lines = done.stdout.splitlines()
    assert header.split()[:2] == ["code", "status"] and "Asia/Ho_Chi_Minh" in header
    assert len(lines) == 1 and "(no number)" in lines[0]
    # The commune's day and time (UTC+7), as dd/mm/yyyy HH:MM.
    created = datetime.fromisoformat(rows[1]["created_at"]).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    assert lines[0].endswith(created.strftime("%d/%m/%Y %H:%M"))


def test_the_core_reader_names_only_columns_of_the_tickets_model():
    """hotline/ticket_rows.py reads the table without the ORM: its columns must be the model's."""
    from hotline.models import Ticket
    from hotline.ticket_rows import tickets

    model_columns = {name: column.type.__class__ for name, column in Ticket.__table__.columns.items()}
    for column in tickets.columns:
        assert column.name in model_columns, column.name
        if column.name.endswith("_at"):
            assert isinstance(column.type, model_columns[column.name]), column.name


def test_migrations_and_a_message_through_the_console_script(tmp_path):
    """`hotline db …` is Flask-Migrate's group: it finds the app in the ScriptInfo the console
    script puts in the click context. On a fresh SQLite data folder."""
    env = console_env(tmp_path)
    hotline = [sys.executable, "-m", "hotline"]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*hotline, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=120)

    upgraded = run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    checked = run("db", "check")  # autogenerate, as `db migrate` runs it, without writing a file
    assert checked.returncode == 0 and "No new upgrade operations detected" in checked.stdout, checked.stderr
    assert json.loads(run("tickets", "list", "--json").stdout) == []
    sent = run("sms", "lam cccd cho me", "--from", "0912345678")
    assert sent.returncode == 0, sent.stderr
    rows = json.loads(run("tickets", "list", "--json").stdout)
    assert [(row["phone"], row["channel"]) for row in rows] == [("+84912345678", "sms")]
    unknown = run("no-such-command")
    assert unknown.returncode == 2 and "No such command" in unknown.stderr
