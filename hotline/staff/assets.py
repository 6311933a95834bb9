"""The dashboard's CSS and JavaScript under versioned URLs, cached for a year.

A volunteer on a slow mobile link should download `staff.css` and `staff.js` once, not on
every page. Templates call `asset_url("staff/staff.css")`, which adds `?v=<hash of the
file's content>`; an answer of the `static` route that carries the current hash is marked
cacheable for a year and immutable (hotline.staff.headers), so the browser does not even
revalidate it. A new release changes the hash, hence the URL, so nobody keeps an old file.
Other static answers keep Flask's defaults (revalidated with their ETag).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from flask import Flask, current_app, url_for


@cache
def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def version(filename: str) -> str:
    folder = current_app.static_folder
    assert folder is not None
    return _digest(str(Path(folder) / filename))


def asset_url(filename: str) -> str:
    return url_for("static", filename=filename, v=version(filename))


def init_app(app: Flask) -> None:
    """`asset_url` for templates; the year-long cache header is set with the other headers
    of every response (hotline.staff.headers.long_cache)."""
    app.jinja_env.globals["asset_url"] = asset_url
