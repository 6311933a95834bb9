"""`hotline import …` and `hotline users …`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from ..extensions import db
from ..models import Role, Staff, Team
from ..phones import to_e164
from ..unit_of_work import unit_of_work
from . import accounts
from .importer import COLUMNS, ImportFailed, import_csv

users = AppGroup("users", help="Staff accounts.")


@click.command("import")
@with_appcontext
@click.argument("kind", type=click.Choice(list(COLUMNS)))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(kind: str, path: Path) -> None:
    """Import KIND from a CSV file (all rows or none). Columns:

    \b
    teams:        code,name
    villages:     code,name[,team]
    staff:        username,name,role[,team,phone,password,language]
    roster:       username,weekday,start,end[,position]   (replaces the roster)
    office-hours: weekday,opens,closes                    (replaces office hours)
    residents:    phone,village[,language]
    """
    text = path.read_text(encoding="utf-8-sig")
    rows_total = max(text.count("\n") - 1, 0)
    try:
        stderr = sys.stderr
        with click.progressbar(length=rows_total, label=f"checking {path.name}", file=stderr) as bar:

            def progress(rows):
                for row in rows:
                    bar.update(1)
                    yield row

            with unit_of_work():
                count = import_csv(text, kind, progress=progress)
    except ImportFailed as failed:
        for error in failed.errors:
            click.echo(f"{path.name}: {error}", err=True)
        message = f"{len(failed.errors)} error(s); nothing imported from {path.name}"
        raise click.ClickException(message) from None
    click.echo(f"imported {count} {kind} row(s) from {path.name}")


@users.command("create")
@click.argument("username")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.VOLUNTEER.value)
@click.option("--team", help="team code")
@click.option("--phone")
@click.password_option(help="at least 8 characters")
def create_user(
    username: str, name: str, role: str, team: str | None, phone: str | None, password: str
) -> None:
    """Create a staff account."""
    team_row = None
    if team:
        team_row = db.session.scalar(select(Team).where(Team.code == team))
        if team_row is None:
            raise click.ClickException(f"no team with code {team}")
    e164 = to_e164(phone) if phone else None
    if phone and e164 is None:
        raise click.ClickException(f"not a phone number: {phone}")
    try:
        with unit_of_work():
            accounts.create_staff(
                username=username,
                name=name,
                role=role,
                team_id=team_row.id if team_row else None,
                phone=e164,
                password=password,
            )
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"created {username} ({role})")


@users.command("token")
@click.argument("username")
def token(username: str) -> None:
    """Issue a new API token for USERNAME (the old one stops working); printed once."""
    staff = db.session.scalar(select(Staff).where(Staff.username == username.lower()))
    if staff is None:
        raise click.ClickException(f"no staff member {username}")
    with unit_of_work():
        value = accounts.new_api_token(staff, actor="cli")
    click.echo(value)


@users.command("password")
@click.argument("username")
@click.password_option()
def password(username: str, password: str) -> None:
    """Set USERNAME's password."""
    staff = db.session.scalar(select(Staff).where(Staff.username == username.lower()))
    if staff is None:
        raise click.ClickException(f"no staff member {username}")
    from . import audit

    try:
        with unit_of_work():
            accounts.set_password(staff, password)
            audit.record("cli", "password_set", staff.username)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"password set for {username}")


@users.command("pin")
@click.argument("username")
@click.option("--pin", prompt=True, hide_input=True, confirmation_prompt=True, help="4 to 8 digits")
def pin(username: str, pin: str) -> None:
    """Set USERNAME's PIN for the recording booth (called from their registered phone)."""
    from .. import prompt_recordings

    staff = db.session.scalar(select(Staff).where(Staff.username == username.lower()))
    if staff is None:
        raise click.ClickException(f"no staff member {username}")
    try:
        with unit_of_work():
            prompt_recordings.set_pin(staff, pin, actor="cli")
    except prompt_recordings.PinRefused as error:
        raise click.ClickException(str(error)) from error
    note = "" if staff.phone else " (no registered phone yet: set one, the booth knows staff by caller ID)"
    click.echo(f"PIN set for {username}{note}")
