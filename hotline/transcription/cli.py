"""`hotline models list|install` and `hotline transcribe --pending`."""

from __future__ import annotations

import json
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

models = AppGroup("models", help="Speech models (Vosk) for transcribing voice messages.")


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Load each model with Vosk to tell whether it works (slow for big models).")
def models_list(as_json: bool, check: bool) -> None:
    """Language, model, path, size on disk, and whether Vosk loads it."""
    from .. import speech_models

    rows: list[dict[str, Any]] = []
    for language, model in sorted(speech_models.available_models(current_app.config["DATA_DIR"]).items()):
        loads: bool | str | None = None
        if check:
            try:
                speech_models.load_model(model.path)
                loads = True
            except speech_models.ModelError as error:
                loads = str(error)
        rows.append({
            "language": language, "name": model.name, "origin": model.origin,
            "path": str(model.path), "size_bytes": model.size_bytes() if model.path.exists() else 0,
            "sample_rate": model.sample_rate if model.path.exists() else None, "loads": loads,
        })
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no speech models installed (see `hotline models install --help`)")
    for row in rows:
        state = {True: "loads", None: "not checked"}.get(row["loads"], f"DOES NOT LOAD: {row['loads']}")
        click.echo(f"{row['language']:<6} {row['name']:<28} {_human(row['size_bytes']):>9}  "
                   f"{row['origin']:<9} {state}  {row['path']}")


@models.command("install")
@click.argument("language")
@click.argument("source")
@click.option("--in-place", is_flag=True,
              help="Use a model folder where it is instead of copying it into the data folder.")
def models_install(language: str, source: str, in_place: bool) -> None:
    """Install the model at SOURCE (folder, .zip/.tar.gz archive or http(s) URL) for LANGUAGE.

    The model is unpacked into the data folder and loaded once with Vosk to check
    it before LANGUAGE is mapped to it. Then run `hotline transcribe --pending`
    for messages that waited for it, and restart the `asr` workers.
    """
    from .. import speech_models

    try:
        model = speech_models.install(language, source, current_app.config["DATA_DIR"], in_place=in_place)
    except speech_models.ModelError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"installed {model.name} for {language}: {model.path} "
               f"({_human(model.size_bytes())}, {model.sample_rate} Hz); Vosk loads it")


@click.command()
@with_appcontext
@click.option("--pending", is_flag=True, required=True,
              help="Queue again every voice message not transcribed yet (no model, unreadable, "
                   "recording unavailable, failed).")
def transcribe(pending: bool) -> None:
    """Re-run transcription of waiting voice messages (e.g. after `hotline models install`)."""
    from ..unit_of_work import unit_of_work
    from .pipeline import requeue_pending

    with unit_of_work():
        rows = requeue_pending()
    click.echo(f"queued {len(rows)} voice message(s) for transcription on the "
               f"'{current_app.config['ASR_QUEUE']}' queue")
