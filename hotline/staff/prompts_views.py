"""The Prompts page (leads and admins): per language, every prompt with its Vietnamese text,
its state (recorded / text-to-speech / missing), who recorded it and when, a player, and
a way to record one with the browser's microphone or upload a file, then approve it.

Thin views over `hotline.prompt_recordings`; the routes hang on the dashboard's blueprint,
so they share its login, CSRF protection, private caching and error pages.
"""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import prompt_recordings
from ..extensions import db
from ..models import PromptRecording, RecordingStatus
from ..prompts import PromptSource
from .views import bp, one_action, roles_required

#: What a person reads for each state (source of the English; Vietnamese in messages.po).
STATES = {
    PromptSource.RECORDED: "recorded",
    PromptSource.TTS: "text-to-speech",
    PromptSource.MISSING: "missing",
}


#: Leads and admins: they record, upload and approve the hotline's prompts.
recorders_only = roles_required(*prompt_recordings.RECORDING_ROLES)


def _library():
    return current_app.extensions["hotline.prompts"]


def _language_or_404(language: str | None) -> str:
    flow = _library().flow
    language = language or next((code for code in flow.languages if code != flow.default_language),
                                flow.default_language)
    if language not in flow.languages:
        abort(404)
    return language


def _state_label(source: PromptSource) -> str:
    return {
        PromptSource.RECORDED: _("recorded"),
        PromptSource.TTS: _("text-to-speech"),
        PromptSource.MISSING: _("missing"),
    }[source]


@bp.get("/prompts")
@recorders_only
def prompts_page():
    library = _library()
    library.refresh()
    flow = library.flow
    language = _language_or_404(request.args.get("lang"))
    live = prompt_recordings.live_recordings(language)
    pending = prompt_recordings.pending_takes(language)
    rows = []
    for key in library.keys():
        source = library.source(language, key)
        text, _in = flow.prompt_text(key, language)
        version = library.recording_version(language, key)
        rows.append({
            "key": key, "text": text, "state": source.value, "state_label": _state_label(source),
            "audio": url_for("audio.recording", language=language, name=key, v=version) if version else None,
            "live": live.get((language, key)) if source == PromptSource.RECORDED else None,
            "take": pending.get(key),
        })
    counts = {state: sum(1 for row in rows if row["state"] == state.value) for state in PromptSource}
    languages = [(code, data.get("name", code)) for code, data in flow.languages.items()]
    return render_template("staff/prompts.html", rows=rows, language=language, languages=languages,
                           language_name=flow.languages[language].get("name", language), counts=counts,
                           PromptSource=PromptSource, RecordingStatus=RecordingStatus,
                           has_pin=bool(current_user.pin_hash))


@bp.post("/prompts/upload")
@recorders_only
@one_action
def prompts_upload():
    library = _library()
    language = _language_or_404(request.form.get("lang"))
    key = request.form.get("key", "")
    if key not in library.keys():
        abort(404)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        abort(400)
    data = upload.read(prompt_recordings.MAX_UPLOAD_BYTES + 1)
    try:
        prompt_recordings.upload_take(staff=current_user, language=language, prompt=key,
                                      filename=upload.filename, data=data)
    except ValueError:
        flash(_("This file cannot be used: send a WAV, MP3, OGG or M4A recording under 20 MB."), "error")
        return redirect(url_for("staff.prompts_page", lang=language, _anchor=f"p-{key}"))
    if request.headers.get("X-Requested-With") == "fetch":
        return {"ok": True}
    flash(_("Recording received: listen to it, then approve it."), "ok")
    return redirect(url_for("staff.prompts_page", lang=language, _anchor=f"p-{key}"))


def _take_or_404(take_id: int) -> PromptRecording:
    take = db.session.get(PromptRecording, take_id)
    if take is None:
        abort(404)
    return take


@bp.get("/prompts/take/<int(max=2147483647):take_id>")
@recorders_only
def prompts_take(take_id: int):
    """A take waiting for approval, to listen to before approving it."""
    take = _take_or_404(take_id)
    if take.file is None:
        if take.recording_url:  # a phone take not fetched yet: Twilio's URL plays it
            abort(404)
        abort(404)
    path = Path(current_app.config["DATA_DIR"]) / take.file
    if not path.is_file():
        abort(404)
    return send_file(path, conditional=True)


@bp.post("/prompts/take/<int(max=2147483647):take_id>/approve")
@recorders_only
@one_action
def prompts_approve(take_id: int):
    take = _take_or_404(take_id)
    prompt_recordings.keep(take, current_user)
    flash(_("Approved: callers will hear it in a minute."), "ok")
    return redirect(url_for("staff.prompts_page", lang=take.language, _anchor=f"p-{take.prompt}"))


@bp.post("/prompts/pin")
@recorders_only
@one_action
def prompts_pin():
    try:
        prompt_recordings.set_pin(current_user, request.form.get("pin", ""), actor=current_user.username)
    except prompt_recordings.PinRefused:
        flash(_("A PIN is 4 to 8 digits."), "error")
    else:
        flash(_("PIN saved. Call the hotline from your registered phone to record prompts."), "ok")
    return redirect(url_for("staff.prompts_page", lang=request.form.get("lang") or None))
