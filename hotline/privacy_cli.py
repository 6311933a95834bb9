"""Commands for residents' data (docs/privacy.md) and backups (docs/operations.md):
`hotline residents export|erase PHONE`, `hotline retention [--dry-run]`, `hotline backup [DIR]`,
`hotline restore ARCHIVE`. Each change is one unit of work; the audit log names the operator
(`--by`, else the account running the command)."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from .unit_of_work import unit_of_work


def _operator(by: str | None) -> str:
    return by or f"cli:{getpass.getuser()}"


@click.group("residents", cls=AppGroup)
def residents() -> None:
    """A resident's data by phone number: export it, erase it (Decree 13/2023/ND-CP)."""


@residents.command("export")
@click.argument("phone")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder the zip is written to.",
)
@click.option("--by", help="Who asks (for the audit log); default: this account.")
def export_command(phone: str, out_dir: Path, by: str | None) -> None:
    """Everything held about PHONE in one zip: du-lieu.json, tom-tat.txt (Vietnamese), ghi-am/."""
    from . import resident_data

    try:
        with unit_of_work():
            name, archive = resident_data.export(phone, actor=_operator(by))
    except resident_data.NotAPhoneNumber:
        raise click.BadParameter(f"not a phone number: {phone}", param_hint="PHONE") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    path.write_bytes(archive)
    path.chmod(0o600)
    click.echo(str(path))


@residents.command("erase")
@click.argument("phone")
@click.option("--reason", required=True, help="Why (e.g. the resident's request and its date).")
@click.option("--by", help="Who erases (for the audit log); default: this account.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_command(phone: str, reason: str, by: str | None, yes: bool) -> None:
    """Erase PHONE's number, texts, recordings and transcripts; cannot be undone."""
    from . import resident_data

    if not yes:
        click.confirm(f"Erase everything held about {phone}? This cannot be undone", abort=True)
    try:
        with unit_of_work():
            removed = resident_data.erase(phone, actor=_operator(by), reason=reason)
    except resident_data.NotAPhoneNumber:
        raise click.BadParameter(f"not a phone number: {phone}", param_hint="PHONE") from None
    click.echo(json.dumps(removed.counts()))


class _DryRun(Exception):
    pass


@click.command("retention")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@with_appcontext
def retention_command(dry_run: bool, as_json: bool) -> None:
    """Apply the retention periods now (the nightly job does it too)."""
    from . import retention

    report = None
    try:
        with unit_of_work():
            report = retention.apply()
            if dry_run:
                raise _DryRun  # the same run, rolled back: exactly what would go
    except _DryRun:
        pass
    assert report is not None
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run, **report.as_dict()}))
        return
    click.echo("would remove:" if dry_run else "removed:")
    for line in report.lines():
        click.echo(f"  {line}")


@click.command("backup")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--keep", type=int, help="Then keep only the newest N archives in DIRECTORY.")
@with_appcontext
def backup_command(directory: Path | None, keep: int | None) -> None:
    """One dated archive of the database, recordings, prompt recordings and local secrets."""
    from . import backup
    from .extensions import db

    target = directory or backup_dir()
    try:
        made = backup.make_backup(current_app.config, db.engine, target)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    if keep:
        backup.prune(target, keep)
    click.echo(f"{made.path}\nsha256 {made.sha256}\n{json.dumps(made.counts)}")


def backup_dir() -> Path:
    configured = current_app.config.get("BACKUP_DIR")
    return Path(configured) if configured else Path(current_app.config["DATA_DIR"]) / "backups"


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The empty data folder (default: HOTLINE_DATA_DIR, else ./instance).",
)
@click.option(
    "--database-url", help="An empty database (default: DATABASE_URL, else SQLite in the data folder)."
)
@click.option(
    "--audio-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where prompt recordings go (default: HOTLINE_AUDIO_DIR, else the project's audio/).",
)
def restore_command(
    archive: Path, data_dir: Path | None, database_url: str | None, audio_dir: Path | None
) -> None:
    """Restore ARCHIVE (from `hotline backup`) into an empty data folder; then `hotline up`."""
    from . import backup
    from .config import Defaults, default_data_dir

    data_dir = (data_dir or Path(os.environ.get("HOTLINE_DATA_DIR") or default_data_dir())).resolve()
    database_url = database_url or os.environ.get("DATABASE_URL")
    audio_dir = audio_dir or Path(os.environ.get("HOTLINE_AUDIO_DIR") or Defaults.AUDIO_DIR)
    try:
        manifest = backup.restore(archive, data_dir, database_url, audio_dir)
    except backup.BackupError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    click.echo(
        f"restored {archive.name} ({manifest['created_at']}) into {data_dir}: "
        f"{json.dumps(manifest['counts'])}"
    )
