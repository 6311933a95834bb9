"""The dashboard's CSS and JavaScript under versioned URLs, cached for a year.

A volunteer on a slow mobile link should download `staff.css` and `staff.js` once, not on
every page. Templates call `asset_url("staff/staff.css")`, which adds `?v=<hash of the
file's content>`; an answer of the `static` route that carries the current hash is marked
cacheable for a year and immutable, so the browser does not even revalidate it. A new
release changes the hash, hence the URL, so nobody keeps an old file. Other static answers
keep Flask's defaults (revalidated with their ETag).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from flask import Flask, Response, current_app, request, url_for

ONE_YEAR = 365 * 24 * 3600


@cache
def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def version(filename: str) -> str:
    folder = current_app.static_folder
    assert folder is not None
    return _digest(str(Path(folder) / filename))


def asset_url(filename: str) -> str:
    return url_for("static", filename=filename, v=version(filename))


def long_cache(response: Response) -> Response:
    if request.endpoint != "static" or response.status_code != 200:
        return response
    filename = (request.view_args or {}).get("filename", "")
    try:
        current = version(filename)
    except OSError:
        return response
    if request.args.get("v") == current:
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = ONE_YEAR
        response.cache_control.immutable = True
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.globals["asset_url"] = asset_url
    app.after_request(long_cache)
