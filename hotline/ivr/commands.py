"""`hotline flows …`, `hotline prompts …` and `hotline call`.

`flows …` builds no app, so it works when the flow is broken (building the app would
refuse to start); the others need the app (hotline/cli.py lists them).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from ..config import PROJECT_ROOT

flows = click.Group("flows", help="The voice menus in ivr_flows/.")
prompts = AppGroup("prompts", help="Recorded prompts and text-to-speech, per language.")


def default_flows_dir() -> Path:
    return Path(os.environ.get("HOTLINE_FLOWS_DIR") or PROJECT_ROOT / "ivr_flows")


@flows.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def flows_check(paths: tuple[Path, ...]) -> None:
    """Check flow files (default: ivr_flows/main.yaml, office_hours.yaml and the training
    scenarios); exit 1 on a problem."""
    from .. import office_hours, training_scenarios
    from ..data_files import DataFileError
    from .flow import FlowError, load_flow

    problems: list[str] = []
    targets = list(paths) or [default_flows_dir() / "main.yaml"]
    scenarios = [path for path in targets if path.parent.name == training_scenarios.FOLDER]
    if not paths:
        scenarios = training_scenarios.files(default_flows_dir())
    for path in scenarios:
        try:
            data = training_scenarios.read(path)
            steps = len(data["checklist"])
            click.echo(f"{path}: scenario {data['title']['vi']!r}, {steps} steps to tick: ok")
        except DataFileError as error:
            problems.extend(error.problems)
    for path in targets:
        if path in scenarios:
            continue
        try:
            flow = load_flow(path)
            click.echo(f"{path}: flow {flow.name!r} v{flow.version}, {len(flow.nodes)} nodes, "
                       f"languages {', '.join(flow.languages)}: ok, no dead ends")
        except FlowError as error:
            problems.extend(error.problems)
    if not paths:
        hours_path = default_flows_dir() / "office_hours.yaml"
        try:
            hours = office_hours.load(hours_path)
            click.echo(f"{hours_path}: {len(hours.on_duty)} on-duty numbers, "
                       f"{len(hours.holidays)} holidays: ok")
        except (office_hours.OfficeHoursError, OSError) as error:
            problems.append(str(error))
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        sys.exit(1)


@flows.command("reference")
@click.option("--write", "target", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Refresh the generated block in this file (docs/voice-flows.md) instead of printing it.")
def flows_reference(target: Path | None) -> None:
    """The node types and call instructions, as markdown built from the code's docstrings."""
    from .reference import reference_markdown, write_reference

    if target is None:
        click.echo(reference_markdown())
        return
    click.echo(f"{target}: {'updated' if write_reference(target) else 'already up to date'}")


@prompts.command("status")
def prompts_status() -> None:
    """A table per language: recorded / text-to-speech / missing (falls back to Vietnamese)."""
    from ..prompt_recordings import live_recordings

    library = current_app.extensions["hotline.prompts"]
    library.refresh()
    who = live_recordings()
    for language, table in library.status().items():
        counts = {source: sum(1 for value in table.values() if value == source)
                  for source in ("recorded", "tts", "missing")}
        name = library.flow.languages[language].get("name", language)
        click.echo(f"\n{language} ({name}): {counts['recorded']} recorded, {counts['tts']} text-to-speech, "
                   f"{counts['missing']} missing")
        for key, source in table.items():
            note = "  ← speaks the Vietnamese text" if source == "missing" else ""
            live = who.get((language, key)) if source == "recorded" else None
            if live is not None:
                when = live.live_at.strftime("%Y-%m-%d %H:%M UTC") if live.live_at else ""
                note = f"  {live.recorded_by or '?'} ({live.channel}, {when})"
            click.echo(f"  {key:<22} {source}{note}")


@prompts.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--lang", "language", help="Language of the files (when DIR has no <language>/ folders).")
def prompts_import(directory: Path, language: str | None) -> None:
    """Convert staff recordings (WAV or MP3, any rate) named <prompt>.wav|mp3 to 8 kHz mono WAVs."""
    from ..prompts import import_recordings

    library = current_app.extensions["hotline.prompts"]
    flow = library.flow
    if language and language not in flow.languages:
        raise click.BadParameter(f"unknown language {language!r} (known: {', '.join(flow.languages)})")
    known = {lang: set(flow.prompts.get(lang, {})) for lang in flow.languages}
    written, problems = import_recordings(directory, Path(current_app.config["AUDIO_DIR"]), known, language)
    for path in written:
        click.echo(f"imported {path}")
    for problem in problems:
        click.echo(problem, err=True)
    library.refresh()
    click.echo(f"{len(written)} recordings imported, {len(problems)} problems")
    if problems:
        sys.exit(1)


@prompts.command("synth")
@click.option("--lang", "language", default="vi", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace existing recordings too.")
def prompts_synth(language: str, overwrite: bool) -> None:
    """Placeholder recordings made with espeak-ng (only where none exists, unless --overwrite)."""
    from ..prompts import synthesise

    library = current_app.extensions["hotline.prompts"]
    texts = library.flow.prompts.get(language)
    if not texts:
        raise click.BadParameter(f"no prompt texts for {language!r}")
    try:
        written = synthesise(texts, language, Path(current_app.config["AUDIO_DIR"]), overwrite=overwrite)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from error
    library.refresh()
    click.echo(f"{len(written)} placeholder recordings written to audio/{language}/")


@click.command("call")
@with_appcontext
@click.option("--from", "from_number", default="+84912345678", show_default=True,
              help="Caller's number; 'anonymous' for a withheld one.")
@click.option("--lang", "language", help="Pick this language at the language menu.")
@click.option("--url", help="The running hotline (default: the address `hotline up` noted, else "
              "http://127.0.0.1:5000).")
def call(from_number: str, language: str | None, url: str | None) -> None:
    """Play a call in the terminal against the running hotline, signed like Twilio."""
    from ..callsim import (
        HELP,
        CallSimulator,
        HotlineUnreachable,
        SignedTransport,
        language_keys,
        local_delivery,
        running_url,
    )

    flow = current_app.extensions["hotline.flow"]
    if language and language not in flow.languages:
        raise click.BadParameter(f"unknown language {language!r} (known: {', '.join(flow.languages)})")
    config = current_app.config
    data_dir = Path(config["DATA_DIR"])
    url = url or running_url(data_dir)
    transport = SignedTransport(url, config["TWILIO_AUTH_TOKEN"], config.get("PUBLIC_URL"))
    deliver = local_delivery(data_dir, config["TWILIO_API_BASE"], config.get("TWILIO_ACCOUNT_SID"))

    def read(question: str) -> str | None:
        click.echo(question, nl=False)
        line = sys.stdin.readline()
        if not line:
            click.echo("")
            return None
        return line

    click.echo(f"calling {url} from {from_number} ({HELP})")
    try:
        CallSimulator(transport, from_number, read=read, write=click.echo, deliver=deliver,
                      language_keys=language_keys(flow), language=language).run()
    except HotlineUnreachable as error:
        raise click.ClickException(str(error)) from None
