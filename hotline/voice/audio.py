"""Recorded prompts, served to Twilio's <Play> with caching headers.

URLs carry the recording's version (`?v=…`, its modification time), so a prompt can be
cached for a long time and a new recording is fetched at once. The file is the data
folder's (what staff recorded) when there is one, else the shipped `audio/` one.
Prompts are public by nature (anyone who calls hears them), so this needs no signature.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, current_app, send_from_directory

bp = Blueprint("audio", __name__, url_prefix="/audio")

NAME = re.compile(r"^[a-z0-9_\-]+$")
CACHE_SECONDS = 7 * 24 * 3600


@bp.get("/<language>/<name>.wav")
def recording(language: str, name: str) -> Response:
    if not NAME.match(language) or not NAME.match(name):
        abort(404)
    path = current_app.extensions["hotline.prompts"].recording_path(language, name)
    if path is None or not path.is_file():
        abort(404)
    response = send_from_directory(
        path.parent.parent, f"{language}/{name}.wav",
        mimetype="audio/wav", max_age=CACHE_SECONDS, conditional=True, etag=True,
    )
    response.cache_control.public = True
    return response
