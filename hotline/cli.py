"""The `hotline` command.

Each command is listed here by name, with its one-line help and the app it runs in, and
imported only when it runs (click's "lazy loading of subcommands"): `hotline --help`
imports click and this file, nothing else, and `hotline tickets list` builds only the
part of the app it reads from. docs/benchmarks.md ("Command start-up") has the figures.

A command that needs the app finds flask's `ScriptInfo` in the click context and builds
the app from it when it runs (flask's `with_appcontext`, or an `AppGroup` whose
subcommands it wraps): the console script puts one there for the command's kind of app,
`app.test_cli_runner()` puts the test's app there. Every command with an app is also on
`app.cli` (create_app's `register_commands`), so the runner finds the same commands.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from flask import Flask

#: The whole app (create_app): blueprints, flows and data files checked, queues, Babel, Alembic.
FULL = "full"
#: The configuration only (create_app(only_config=True)): for commands that only read rows,
#: with a SQLAlchemy Core connection of their own (hotline/ticket_rows.py). Nothing else is set
#: up: no ORM, no flows, no queues, no hooks of other areas.
CONFIG = "config"


@dataclass(frozen=True)
class Entry:
    """A command by name: where it lives ("module:attribute"), its one-line help (what
    `hotline --help` shows without importing it; tests/test_cli.py keeps it equal to the
    command's own), and the app it runs in (FULL, CONFIG, or None: it builds none, or its own)."""

    target: str
    help: str
    app: str | None
    #: It works on rows: with no (migrated) database it stops with one line, creating nothing.
    needs_rows: bool = False

    def load(self) -> click.Command:
        return _load(self.target)

    def app_factory(self) -> Callable[[], Flask]:
        create_app = _load("hotline:create_app")
        no_database = _load("hotline.config:NoDatabase")

        def build() -> Flask:
            try:
                return create_app(only_config=self.app == CONFIG, require_database=self.needs_rows)
            except no_database as missing:
                raise click.ClickException(str(missing)) from None

        return build


COMMANDS = {
    "backup": Entry("hotline.privacy_cli:backup_command", "One dated archive of the database, recordings, "
                    "prompt recordings and local secrets.", FULL),
    "call": Entry("hotline.ivr.commands:call",
                  "Play a call in the terminal against the running hotline, signed like Twilio.", FULL),
    "db": Entry("flask_migrate.cli:db", "Perform database migrations.", FULL),
    "demo": Entry("hotline.commands:demo", "Fill an empty data folder with an invented commune to look at "
                  "(docs/demo.md).", FULL),
    "flows": Entry("hotline.ivr.commands:flows", "The voice menus in ivr_flows/.", None),
    "import": Entry("hotline.staff.cli:import_command",
                    "Import KIND from a CSV file (all rows or none).", FULL, needs_rows=True),
    "jobs": Entry("hotline.commands:jobs_group",
                  "The background jobs (hotline.jobs) and the bodies workers/ binds to them.", FULL),
    "models": Entry("hotline.transcription.cli:models",
                    "Speech models (Vosk) for transcribing voice messages.", FULL),
    "outbox": Entry("hotline.commands:outbox_group", "Jobs between the database and RQ: pending, set aside, "
                    "relayed but unfinished, failed.", FULL, needs_rows=True),
    "prompts": Entry("hotline.ivr.commands:prompts",
                     "Recorded prompts and text-to-speech, per language.", FULL),
    "relay": Entry("hotline.commands:relay",
                   "Move jobs from the database outbox into RQ (catches up after Redis outages).", FULL,
                   needs_rows=True),
    "residents": Entry("hotline.privacy_cli:residents", "A resident's data by phone number: export it, "
                       "erase it (Decree 13/2023/ND-CP).", FULL, needs_rows=True),
    "restore": Entry("hotline.privacy_cli:restore_command", "Restore ARCHIVE (from `hotline backup`) into "
                     "an empty data folder; then `hotline up`.", None),
    "retention": Entry("hotline.privacy_cli:retention_command",
                       "Apply the retention periods now (the nightly job does it too).", FULL,
                       needs_rows=True),
    "routes": Entry("flask.cli:routes_command", "Show the routes for the app.", FULL),
    "run": Entry("flask.cli:run_command", "Run a development server.", FULL),
    "shell": Entry("flask.cli:shell_command", "Run a shell in the app context.", FULL),
    "sms": Entry("hotline.sms.cli:sms_command",
                 "Run one SMS through the same path as the webhooks and print the reply.", FULL,
                 needs_rows=True),
    "tickets": Entry("hotline.commands:tickets", "Requests in the queue.", CONFIG, needs_rows=True),
    "training": Entry("hotline.training_cli:training",
                      "The training space: rehearsals on the practice phone.", FULL, needs_rows=True),
    "transcribe": Entry("hotline.transcription.cli:transcribe", "Re-run transcription of waiting voice "
                        "messages (e.g. after `hotline models install`).", FULL, needs_rows=True),
    "up": Entry("hotline.up:up", "Run everything on this machine (migrations, Redis, web, relay, workers) "
                "and keep it running.", None),
    "users": Entry("hotline.staff.cli:users", "Staff accounts.", FULL, needs_rows=True),
    "worker": Entry("hotline.commands:worker",
                    "Run an RQ worker inside the app (the app is built once, before RQ forks).", FULL,
                    needs_rows=True),
}


def _load(target: str):
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


class LazyGroup(click.Group):
    """A group that knows its commands from a table and imports one only to run it."""

    def __init__(self, *args, table: dict[str, Entry], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.table = table

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.table)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        entry = self.table.get(name)
        if entry is None:
            return None
        command = entry.load()
        if entry.app is not None and ctx.obj is None:  # the test runner brings its own ScriptInfo
            from flask.cli import ScriptInfo

            ctx.obj = ScriptInfo(create_app=entry.app_factory())
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]):
        """A command that works on rows builds its app (and so checks its database) before it
        parses its own arguments: with no database it says so before asking for a password."""
        name, command, rest = super().resolve_command(ctx, args)
        entry = self.table.get(name or "")
        bare_group = not rest and isinstance(command, click.Group)  # it prints its help
        helping = bare_group or any(arg in ("--help", "-h") for arg in rest)
        if entry is not None and entry.needs_rows and not helping and hasattr(ctx.obj, "load_app"):
            ctx.obj.load_app()
        return name, command, rest

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Click's layout, from the table: listing the commands imports none of them (a bare
        click.Command shortens each help as the real one would)."""
        limit = formatter.width - 6 - max(len(name) for name in self.table)
        rows = [(name, click.Command(name, help=self.table[name].help).get_short_help_str(limit))
                for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


cli = LazyGroup("hotline", table=COMMANDS,
                help="A voice and SMS hotline for the commune's public-service teams.")


def app_commands() -> Iterator[tuple[str, click.Command]]:
    """Every command that runs in the app, imported: create_app puts them on app.cli."""
    for name, entry in COMMANDS.items():
        if entry.app is not None:
            yield name, entry.load()


def main() -> None:
    cli.main(prog_name="hotline")
