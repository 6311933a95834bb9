"""`hotline training reset`: wipe the training space (hotline.training_reset), one unit of work;
the audit log names the operator (`--by`, else the account running the command)."""

from __future__ import annotations

import getpass
import json

import click
from flask import current_app
from flask.cli import AppGroup

from .unit_of_work import unit_of_work


@click.group("training", cls=AppGroup)
def training() -> None:
    """The training space: rehearsals on the practice phone."""


@training.command("reset")
@click.option("--by", help="Who wipes it (for the audit log); default: this account.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset_command(by: str | None, yes: bool) -> None:
    """Delete every rehearsal and all it made (requests, texts, calls, visits, recordings); real
    requests are not touched."""
    from .training_reset import reset, space_size

    if not yes:
        size = space_size()
        click.confirm(f"Delete {size['rehearsals']} rehearsals and their {size['tickets']} requests from the "
                      "training space? This cannot be undone", abort=True)
    with unit_of_work():
        wiped = reset(by or f"cli:{getpass.getuser()}", current_app.config["DATA_DIR"])
    click.echo(json.dumps(wiped.counts()))
