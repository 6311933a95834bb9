"""The site's front door: `GET /` and `/favicon.ico`.

Someone who types the address `hotline up` printed lands on the dashboard when logged in,
else on a short page in Vietnamese that says what this is and leads to the login, never
on a bare 404. A browser's automatic /favicon.ico gets the icon.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, send_from_directory, url_for
from flask_login import current_user

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("staff.queue"))
    return render_template("home.html", phone_number=current_app.config.get("PHONE_NUMBER"))


@bp.get("/favicon.ico")
def favicon():
    return send_from_directory(current_app.static_folder or "", "favicon.ico",
                               mimetype="image/vnd.microsoft.icon", max_age=7 * 24 * 3600)
